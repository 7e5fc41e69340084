//! The only SQL of enrollment: bookings here, the lines and draws in [`waitlist`], the
//! requests and refund requests in [`requests`], the staff views in [`staff`]. Runs inside
//! a `TenantTx`. Every time comes from the service clock as a parameter, never from the
//! database's `now()`, so tests control expiry.
//!
//! Must never decide a rule: a function here reads or writes what it is told, and answers
//! with what the database did (a place taken or not, a row inserted or not).

pub mod requests;
pub mod seats;
pub mod staff;
pub mod waitlist;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::{FromRow, PgConnection, Row};

use super::model::{EnrollmentStatus, RefundRequestStatus};
use crate::kernel::ids::EnrollmentId;

/// The child, if the signed-in account is one of its guardians: (id, name, grade level).
pub async fn own_child(
    c: &mut PgConnection,
    student_id: i64,
    account_id: i64,
) -> sqlx::Result<Option<(i64, String, i16)>> {
    sqlx::query_as(
        "select s.id, s.name, g.level from students s
           join classes c on c.id = s.class_id
           join grades g on g.id = c.grade_id
         where s.id = $1 and s.status = 'active'
           and exists (select 1 from student_guardians sg join guardians gu on gu.id = sg.guardian_id
                       where sg.student_id = s.id and gu.account_id = $2)",
    )
    .bind(student_id)
    .bind(account_id)
    .fetch_optional(&mut *c)
    .await
}

/// Ends the holds of `course` that ran out by `now` and gives their seats back. Returns
/// the enrollments ended.
pub async fn expire_stale_holds(
    c: &mut PgConnection,
    course: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "update enrollments set status = 'expired', ended_at = $2, end_reason = '超时未支付'
         where course_id = $1 and status = 'held' and hold_expires_at <= $2
         returning id",
    )
    .bind(course)
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    if !ids.is_empty() {
        sqlx::query("update course_seats set taken = taken - $2 where course_id = $1")
            .bind(course)
            .bind(ids.len() as i32)
            .execute(&mut *c)
            .await?;
    }
    Ok(ids)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Clash {
    pub course_id: i64,
    pub name: String,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
}

/// The child's live bookings that overlap the given weekly slot and date range.
#[allow(clippy::too_many_arguments)]
pub async fn clashes(
    c: &mut PgConnection,
    student: i64,
    weekdays: &[i16],
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Clash>> {
    sqlx::query_as(
        "select c.id as course_id, c.name, c.weekdays, c.starts_at, c.ends_at
         from enrollments e join courses c on c.id = e.course_id
         where e.student_id = $1
           and (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > $7))
           and c.weekdays && $2 and c.starts_at < $4 and $3 < c.ends_at
           and c.starts_on <= $6 and $5 <= c.ends_on
         order by c.starts_at
         limit 5",
    )
    .bind(student)
    .bind(weekdays)
    .bind(starts_at)
    .bind(ends_at)
    .bind(starts_on)
    .bind(ends_on)
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

/// Takes one seat if one is free; `false` when the course is full.
pub async fn take_seat(c: &mut PgConnection, course: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update course_seats set taken = taken + 1 where course_id = $1 and taken < capacity",
    )
    .bind(course)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn give_seat_back(c: &mut PgConnection, course: i64) -> sqlx::Result<()> {
    sqlx::query("update course_seats set taken = taken - 1 where course_id = $1 and taken > 0")
        .bind(course)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// What [`hold`] did.
#[derive(Debug)]
pub enum Hold {
    /// No place left: nothing changed.
    Full,
    /// The child already has a live enrollment for the course; a place was taken, so the
    /// caller must roll back.
    Duplicate,
    Held(Box<EnrollmentRow>),
}

/// Takes a place (guarded update of the course's counter) and inserts the held enrollment,
/// returning it as [`enrollment`] reads it: the booking's hot path in one round trip.
pub async fn hold(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    expires: DateTime<Utc>,
    booked_by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Hold> {
    let row = sqlx::query(
        "with seat as (
             update course_seats set taken = taken + 1
             where course_id = $1 and taken < capacity
             returning course_id
         ), e as (
             insert into enrollments
                 (course_id, student_id, status, hold_expires_at, booked_by, created_at)
             select course_id, $2, 'held', $3, $4, $5 from seat
             on conflict (course_id, student_id) where status in ('held', 'confirmed') do nothing
             returning *
         )
         select exists (select 1 from seat) as seated, r.*
         from (select 1) one left join (
             select e.id, e.course_id, c.name as course_name, c.class_type, e.student_id,
                    e.status, e.hold_expires_at, e.created_at, e.confirmed_at, e.ended_at,
                    e.end_reason, c.weekdays, c.starts_at, c.ends_at, c.starts_on, c.ends_on,
                    v.name as venue
             from e join courses c on c.id = e.course_id
             left join venues v on v.id = c.venue_id
         ) r on true",
    )
    .bind(course)
    .bind(student)
    .bind(expires)
    .bind(booked_by)
    .bind(now)
    .fetch_one(&mut *c)
    .await?;
    if !row.try_get::<bool, _>("seated")? {
        return Ok(Hold::Full);
    }
    if row.try_get::<Option<i64>, _>("id")?.is_none() {
        return Ok(Hold::Duplicate);
    }
    Ok(Hold::Held(Box::new(EnrollmentRow::from_row(&row)?)))
}

/// A held enrollment; `None` when the child already has a live one for the course.
pub async fn insert_hold(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    expires: DateTime<Utc>,
    booked_by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into enrollments (course_id, student_id, status, hold_expires_at, booked_by, created_at)
         values ($1, $2, 'held', $3, $4, $5)
         on conflict (course_id, student_id) where status in ('held', 'confirmed') do nothing
         returning id",
    )
    .bind(course)
    .bind(student)
    .bind(expires)
    .bind(booked_by)
    .bind(now)
    .fetch_optional(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnrollmentRow {
    pub id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub class_type: String,
    pub student_id: i64,
    pub status: EnrollmentStatus,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub venue: Option<String>,
}

const ENROLLMENT_SELECT: &str = "
    select e.id, e.course_id, c.name as course_name, c.class_type, e.student_id, e.status,
           e.hold_expires_at, e.created_at, e.confirmed_at, e.ended_at, e.end_reason,
           c.weekdays, c.starts_at, c.ends_at, c.starts_on, c.ends_on, v.name as venue
    from enrollments e join courses c on c.id = e.course_id
    left join venues v on v.id = c.venue_id";

pub async fn enrollment(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<EnrollmentRow>> {
    let sql = format!("{ENROLLMENT_SELECT} where e.id = $1");
    sqlx::query_as(&sql).bind(id).fetch_optional(&mut *c).await
}

/// Every enrollment of the child, newest first.
pub async fn of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<EnrollmentRow>> {
    let sql = format!(
        "{ENROLLMENT_SELECT} where e.student_id = $1 order by e.created_at desc, e.id desc"
    );
    sqlx::query_as(&sql).bind(student).fetch_all(&mut *c).await
}

/// Ends a live enrollment; `false` if it was not live any more.
pub async fn end(
    c: &mut PgConnection,
    id: i64,
    status: EnrollmentStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update enrollments set status = $2, end_reason = $3, ended_at = $4, hold_expires_at = null
         where id = $1 and status in ('held', 'confirmed')",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Confirms a hold that has not run out; `false` otherwise.
pub async fn confirm(c: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update enrollments set status = 'confirmed', confirmed_at = $2, hold_expires_at = null
         where id = $1 and status = 'held' and hold_expires_at > $2",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Published courses of the child's grade level in terms that have not ended, with the
/// places left and the child's live enrollment if any.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    pub id: i64,
    pub term_id: i64,
    pub code: String,
    pub parent_id: Option<i64>,
    pub class_type: String,
    pub name: String,
    pub category: String,
    pub intro: String,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub price: rust_decimal::Decimal,
    pub pricing: String,
    pub reg_opens_at: DateTime<Utc>,
    pub reg_closes_at: DateTime<Utc>,
    pub remaining: i32,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
    pub booked: Option<EnrollmentStatus>,
    pub picture_count: i32,
}

pub async fn offers(
    c: &mut PgConnection,
    level: i16,
    student: i64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<OfferRow>> {
    sqlx::query_as(
        "select c.id, c.term_id, c.code, c.parent_id, c.class_type, c.name, c.category, c.intro, c.weekdays,
                c.starts_at, c.ends_at, c.starts_on, c.ends_on, c.price, c.pricing,
                c.reg_opens_at, c.reg_closes_at,
                greatest(s.capacity - s.taken, 0) as remaining, v.name as venue,
                coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                          join staff st on st.id = ct.staff_id where ct.course_id = c.id), '{}') as teachers,
                (select e.status from enrollments e where e.course_id = c.id and e.student_id = $2
                   and (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > $4))
                 limit 1) as booked,
                coalesce(cardinality(c.pictures), 0)::int4 as picture_count
         from courses c join course_seats s on s.course_id = c.id
         left join venues v on v.id = c.venue_id
         where c.status = 'published' and $1 = any(c.eligible_levels) and c.ends_on >= $3
         order by c.class_type, c.starts_at, c.code",
    )
    .bind(level)
    .bind(student)
    .bind(today)
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

/// Confirms a paid enrollment (tenant role). A hold that ran out while the parent paid is
/// confirmed too as long as it still holds its place (`held`); `false` when the place was
/// already given up (`expired`, `cancelled`, ...).
pub async fn confirm_paid(
    c: &mut PgConnection,
    enrollment_id: EnrollmentId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update enrollments set status = 'confirmed', confirmed_at = $2, hold_expires_at = null
         where id = $1 and status = 'held'",
    )
    .bind(enrollment_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Follows a refund into the withdrawal request it belongs to (tenant role).
pub async fn set_refund_request_status(
    c: &mut PgConnection,
    request_id: i64,
    status: RefundRequestStatus,
) -> sqlx::Result<()> {
    sqlx::query("update refund_requests set status = $2 where id = $1")
        .bind(request_id)
        .bind(status)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Confirmed enrollments (the supervision push's re-sync).
pub async fn confirmed_ids(c: &mut PgConnection) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select id from enrollments where status = 'confirmed' order by id")
        .fetch_all(&mut *c)
        .await
}

/// The child's and the course's names of each enrollment.
pub async fn place_names(
    c: &mut PgConnection,
    enrollment_ids: &[i64],
) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as(
        "select e.id, s.name, c.name from enrollments e
         join students s on s.id = e.student_id
         join courses c on c.id = e.course_id
         where e.id = any($1)",
    )
    .bind(enrollment_ids)
    .fetch_all(c)
    .await
}
