//! SQL on a school's course tables (`courses`, `course_teachers`, `course_seats`). Runs
//! inside a `TenantTx`, so unqualified names are the tenant's own tables.
//!
//! [`CourseRow`], [`course_for_booking`] and [`sub_items`] are the enrollment module's view
//! of a course: keep their shapes stable.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::error::CourseError;
use super::model::{CourseAllocation, CourseFields, CourseStatus};
use crate::error::violated_constraint;

/// A course as booking needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseRow {
    pub id: i64,
    pub code: String,
    pub parent_id: Option<i64>,
    pub class_type: String,
    pub name: String,
    pub term_id: i64,
    pub weekdays: Vec<i16>,
    pub starts_at: chrono::NaiveTime,
    pub ends_at: chrono::NaiveTime,
    pub starts_on: chrono::NaiveDate,
    pub ends_on: chrono::NaiveDate,
    pub capacity: i32,
    pub price: rust_decimal::Decimal,
    pub pricing: String,
    pub eligible_levels: Vec<i16>,
    pub reg_opens_at: chrono::DateTime<chrono::Utc>,
    pub reg_closes_at: chrono::DateTime<chrono::Utc>,
    pub allocation: String,
    pub hold_minutes: i32,
    pub status: String,
}

impl CourseRow {
    pub fn course_status(&self) -> CourseStatus {
        CourseStatus::from_db(&self.status)
    }

    pub fn course_allocation(&self) -> CourseAllocation {
        CourseAllocation::from_db(&self.allocation)
    }
}

/// [`CourseRow`]'s columns. A macro, not a const, so `concat!` builds each query as one
/// static string.
macro_rules! course_row_select {
    () => {
        "select id, code, parent_id, class_type, name, term_id, weekdays, starts_at, ends_at,
                starts_on, ends_on, capacity, price, pricing, eligible_levels, reg_opens_at,
                reg_closes_at, allocation, hold_minutes, status
         from courses"
    };
}

/// Plain select by id (no lock).
pub async fn course_for_booking(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<CourseRow>> {
    sqlx::query_as(concat!(course_row_select!(), " where id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// A course and, for a series, its sub-items in date order: one round trip for booking.
pub async fn course_with_items(
    c: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<(CourseRow, Vec<CourseRow>)>> {
    let rows: Vec<CourseRow> = sqlx::query_as(concat!(
        course_row_select!(),
        " where id = $1 or parent_id = $1 order by starts_on, starts_at, code"
    ))
    .bind(id)
    .fetch_all(&mut *c)
    .await?;
    let (mut course, items): (Vec<CourseRow>, Vec<CourseRow>) =
        rows.into_iter().partition(|r| r.id == id);
    Ok(course.pop().map(|c| (c, items)))
}

/// The sub-items of a series course, in date order.
pub async fn sub_items(c: &mut PgConnection, parent_id: i64) -> sqlx::Result<Vec<CourseRow>> {
    sqlx::query_as(concat!(
        course_row_select!(),
        " where parent_id = $1 order by starts_on, starts_at, code"
    ))
    .bind(parent_id)
    .fetch_all(&mut *c)
    .await
}

pub async fn course_by_code(c: &mut PgConnection, code: &str) -> sqlx::Result<Option<CourseRow>> {
    sqlx::query_as(concat!(course_row_select!(), " where code = $1"))
        .bind(code)
        .fetch_optional(&mut *c)
        .await
}

/// How many courses the school has (any status): where generated codes start counting.
pub async fn course_count(c: &mut PgConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from courses")
        .fetch_one(&mut *c)
        .await
}

/// Locks the course row until the transaction ends: concurrent edits, status changes and
/// picture uploads of one course run one after the other.
pub async fn lock_course(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<CourseRow>> {
    sqlx::query_as(concat!(course_row_select!(), " where id = $1 for update"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// A course with the names a reader sees: term, period, venue, teachers, parent, and the
/// places taken.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseViewRow {
    pub id: i64,
    pub code: String,
    pub parent_id: Option<i64>,
    pub parent_code: Option<String>,
    pub class_type: String,
    pub name: String,
    pub category: String,
    pub intro: String,
    pub term_id: i64,
    pub term_code: String,
    pub term_name: String,
    pub period_id: Option<i64>,
    pub period_name: Option<String>,
    pub venue_id: Option<i64>,
    pub venue_name: Option<String>,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub capacity: i32,
    pub taken: i32,
    pub price: Decimal,
    pub pricing: String,
    pub eligible_levels: Vec<i16>,
    pub reg_opens_at: DateTime<Utc>,
    pub reg_closes_at: DateTime<Utc>,
    pub allocation: String,
    pub hold_minutes: i32,
    pub picture_count: i32,
    pub status: String,
    /// Teacher ids and names, in the same order.
    pub teacher_ids: Vec<i64>,
    pub teacher_names: Vec<String>,
}

macro_rules! course_view_select {
    () => {
        "select c.id, c.code, c.parent_id, p.code as parent_code, c.class_type, c.name,
                c.category, c.intro, c.term_id, t.code as term_code, t.name as term_name,
                c.period_id, pe.name as period_name, c.venue_id, v.name as venue_name,
                c.weekdays, c.starts_at, c.ends_at, c.starts_on, c.ends_on, c.capacity,
                coalesce(s.taken, 0) as taken, c.price, c.pricing, c.eligible_levels,
                c.reg_opens_at, c.reg_closes_at, c.allocation, c.hold_minutes,
                cardinality(c.pictures) as picture_count, c.status,
                array(select st.id from course_teachers ct join staff st on st.id = ct.staff_id
                      where ct.course_id = c.id order by st.name, st.id) as teacher_ids,
                array(select st.name from course_teachers ct join staff st on st.id = ct.staff_id
                      where ct.course_id = c.id order by st.name, st.id) as teacher_names
         from courses c
         join terms t on t.id = c.term_id
         left join courses p on p.id = c.parent_id
         left join periods pe on pe.id = c.period_id
         left join venues v on v.id = c.venue_id
         left join course_seats s on s.course_id = c.id"
    };
}

pub async fn course_view(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<CourseViewRow>> {
    sqlx::query_as(concat!(course_view_select!(), " where c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// Filters of the course list; `statuses` is what the caller may see at all.
#[derive(Debug, Default)]
pub struct CourseFilter<'a> {
    pub term_code: Option<&'a str>,
    pub status: Option<&'a str>,
    pub class_type: Option<&'a str>,
    pub statuses: &'a [&'a str],
}

/// Courses that are not sub-items (series parents and single courses), filtered.
pub async fn top_level_views(
    c: &mut PgConnection,
    f: &CourseFilter<'_>,
) -> sqlx::Result<Vec<CourseViewRow>> {
    sqlx::query_as(concat!(
        course_view_select!(),
        " where c.parent_id is null
            and ($1::text is null or t.code = $1)
            and ($2::text is null or c.status = $2)
            and ($3::text is null or c.class_type = $3)
            and c.status = any($4)
          order by c.starts_on, c.starts_at, c.code"
    ))
    .bind(f.term_code)
    .bind(f.status)
    .bind(f.class_type)
    .bind(f.statuses)
    .fetch_all(&mut *c)
    .await
}

/// The sub-items of the given series courses that have one of `statuses`.
pub async fn sub_item_views(
    c: &mut PgConnection,
    parent_ids: &[i64],
    statuses: &[&str],
) -> sqlx::Result<Vec<CourseViewRow>> {
    sqlx::query_as(concat!(
        course_view_select!(),
        " where c.parent_id = any($1) and c.status = any($2)
          order by c.starts_on, c.starts_at, c.code"
    ))
    .bind(parent_ids)
    .bind(statuses)
    .fetch_all(&mut *c)
    .await
}

/// The new course's id. A code another course has is refused by the unique constraint
/// `courses_code_key`, which settles two admins saving one code at the same instant.
pub async fn insert_course(c: &mut PgConnection, f: &CourseFields) -> Result<i64, CourseError> {
    sqlx::query_scalar(
        "insert into courses (code, parent_id, class_type, name, category, intro, term_id,
                period_id, venue_id, weekdays, starts_at, ends_at, starts_on, ends_on, capacity,
                price, pricing, eligible_levels, reg_opens_at, reg_closes_at, allocation,
                hold_minutes)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20, $21, $22)
         returning id",
    )
    .bind(&f.code)
    .bind(f.parent_id)
    .bind(f.class_type.as_str())
    .bind(&f.name)
    .bind(&f.category)
    .bind(&f.intro)
    .bind(f.term_id)
    .bind(f.period_id)
    .bind(f.venue_id)
    .bind(&f.weekdays)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.starts_on)
    .bind(f.ends_on)
    .bind(f.capacity)
    .bind(f.price)
    .bind(f.pricing.as_str())
    .bind(&f.eligible_levels)
    .bind(f.reg_opens_at)
    .bind(f.reg_closes_at)
    .bind(f.allocation.as_str())
    .bind(f.hold_minutes)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some("courses_code_key") => CourseError::CodeTaken {
            code: f.code.clone(),
        },
        _ => CourseError::Db(e),
    })
}

/// Writes every field but code and term.
pub async fn update_course(c: &mut PgConnection, id: i64, f: &CourseFields) -> sqlx::Result<()> {
    sqlx::query(
        "update courses set parent_id = $2, class_type = $3, name = $4, category = $5,
                intro = $6, period_id = $7, venue_id = $8, weekdays = $9, starts_at = $10,
                ends_at = $11, starts_on = $12, ends_on = $13, capacity = $14, price = $15,
                pricing = $16, eligible_levels = $17, reg_opens_at = $18, reg_closes_at = $19,
                allocation = $20, hold_minutes = $21, updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(f.parent_id)
    .bind(f.class_type.as_str())
    .bind(&f.name)
    .bind(&f.category)
    .bind(&f.intro)
    .bind(f.period_id)
    .bind(f.venue_id)
    .bind(&f.weekdays)
    .bind(f.starts_at)
    .bind(f.ends_at)
    .bind(f.starts_on)
    .bind(f.ends_on)
    .bind(f.capacity)
    .bind(f.price)
    .bind(f.pricing.as_str())
    .bind(&f.eligible_levels)
    .bind(f.reg_opens_at)
    .bind(f.reg_closes_at)
    .bind(f.allocation.as_str())
    .bind(f.hold_minutes)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Replaces the teachers of a course.
pub async fn set_teachers(
    c: &mut PgConnection,
    course_id: i64,
    staff_ids: &[i64],
) -> sqlx::Result<()> {
    sqlx::query("delete from course_teachers where course_id = $1")
        .bind(course_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "insert into course_teachers (course_id, staff_id)
         select $1, unnest($2::int8[]) on conflict do nothing",
    )
    .bind(course_id)
    .bind(staff_ids)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The staff member with this staff number (the demo offers name their teacher by it).
pub async fn staff_by_no(c: &mut PgConnection, staff_no: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select id from staff where staff_no = $1")
        .bind(staff_no)
        .fetch_optional(&mut *c)
        .await
}

/// The venue with this code (the demo offers name their venue by it).
pub async fn venue_by_code(c: &mut PgConnection, code: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select id from venues where code = $1")
        .bind(code)
        .fetch_optional(&mut *c)
        .await
}

/// Those of `ids` that are active staff.
pub async fn active_staff(c: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select id from staff where id = any($1) and status = 'active'")
        .bind(ids)
        .fetch_all(&mut *c)
        .await
}

pub async fn count_sub_items(c: &mut PgConnection, parent_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from courses where parent_id = $1")
        .bind(parent_id)
        .fetch_one(&mut *c)
        .await
}

/// Moves the course, and its sub-items that are in the same status, from `from` to `to`;
/// returns the ids changed.
pub async fn set_status_with_sub_items(
    c: &mut PgConnection,
    id: i64,
    from: &str,
    to: &str,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "update courses set status = $3, updated_at = now()
         where (id = $1 or parent_id = $1) and status = $2
         returning id",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *c)
    .await
}

/// The stored object keys of the course's pictures, in upload order.
pub async fn pictures(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<Vec<String>>> {
    sqlx::query_scalar("select pictures from courses where id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn append_picture(c: &mut PgConnection, id: i64, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update courses set pictures = array_append(pictures, $2), updated_at = now()
         where id = $1",
    )
    .bind(id)
    .bind(key)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Courses the supervision push knows of: published and closed ones.
pub async fn pushed_course_ids(c: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select id from courses where status in ('published', 'closed') order by id")
        .fetch_all(&mut *c)
        .await
}

/// The published and closed courses a staff member teaches.
pub async fn pushed_courses_of_teacher(
    c: &mut PgConnection,
    staff_id: i64,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select c.id from courses c join course_teachers t on t.course_id = c.id
         where t.staff_id = $1 and c.status in ('published', 'closed') order by c.id",
    )
    .bind(staff_id)
    .fetch_all(&mut *c)
    .await
}
