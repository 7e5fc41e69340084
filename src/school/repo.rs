//! SQL on a school tenant's organisation tables. Runs inside a `TenantTx`, so unqualified
//! names resolve to the tenant's own schema.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::model::{
    ClassRow, ClassView, ExceptionKind, GradeRow, PeriodChange, PeriodFields, PeriodView,
    TermChange, TermFields, TermRow, VenueChange, VenueFields, VenueView,
};

/// The class list's columns: venue name and homeroom teacher (班主任) joined in. A macro, not
/// a const, so `concat!` can build each query as one static string.
macro_rules! class_view_select {
    () => {
        "select c.id, c.code, c.name, c.alias, c.grade_id, c.status, c.venue_id,
                v.name as venue_name, s.name as homeroom_teacher, c.graduated_on
         from classes c
         left join venues v on v.id = c.venue_id
         left join class_homeroom h on h.class_id = c.id
         left join staff s on s.id = h.staff_id"
    };
}

pub async fn grades(c: &mut PgConnection) -> sqlx::Result<Vec<GradeRow>> {
    sqlx::query_as("select id, code, name, level from grades order by level, code")
        .fetch_all(&mut *c)
        .await
}

/// Active classes, and graduated ones too when `include_graduated`.
pub async fn classes(
    c: &mut PgConnection,
    include_graduated: bool,
) -> sqlx::Result<Vec<ClassView>> {
    sqlx::query_as(concat!(
        class_view_select!(),
        " where $1 or c.status = 'active' order by c.grade_id, c.code"
    ))
    .bind(include_graduated)
    .fetch_all(&mut *c)
    .await
}

pub async fn venues(c: &mut PgConnection) -> sqlx::Result<Vec<VenueView>> {
    sqlx::query_as("select id, code, name, kind, capacity from venues order by code")
        .fetch_all(&mut *c)
        .await
}

pub async fn periods(c: &mut PgConnection) -> sqlx::Result<Vec<PeriodView>> {
    sqlx::query_as(
        "select id, code, name, kind, starts_at, ends_at, weekdays from periods order by starts_at, code",
    )
    .fetch_all(&mut *c)
    .await
}

pub async fn terms(c: &mut PgConnection) -> sqlx::Result<Vec<TermRow>> {
    sqlx::query_as(
        "select id, code, name, starts_on, ends_on, teaching_weekdays from terms order by starts_on",
    )
    .fetch_all(&mut *c)
    .await
}

pub async fn exceptions(
    c: &mut PgConnection,
    term_id: i64,
) -> sqlx::Result<Vec<(NaiveDate, ExceptionKind, String)>> {
    sqlx::query_as(
        "select day, kind, name from calendar_exceptions where term_id = $1 order by day",
    )
    .bind(term_id)
    .fetch_all(&mut *c)
    .await
}

// --- grades ---------------------------------------------------------------------------

pub async fn grade(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<GradeRow>> {
    sqlx::query_as("select id, code, name, level from grades where id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn grade_with_level(c: &mut PgConnection, level: i16) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select code from grades where level = $1 limit 1")
        .bind(level)
        .fetch_optional(&mut *c)
        .await
}

pub async fn insert_grade(
    c: &mut PgConnection,
    code: &str,
    name: &str,
    level: i16,
) -> sqlx::Result<GradeRow> {
    sqlx::query_as(
        "insert into grades (code, name, level) values ($1, $2, $3)
         returning id, code, name, level",
    )
    .bind(code)
    .bind(name)
    .bind(level)
    .fetch_one(&mut *c)
    .await
}

pub async fn rename_grade(c: &mut PgConnection, id: i64, name: &str) -> sqlx::Result<()> {
    sqlx::query("update grades set name = $2 where id = $1")
        .bind(id)
        .bind(name)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Classes of the grade, graduated ones included (they still reference it).
pub async fn count_classes_in_grade(c: &mut PgConnection, grade_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from classes where grade_id = $1")
        .bind(grade_id)
        .fetch_one(&mut *c)
        .await
}

pub async fn delete_grade(c: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("delete from grades where id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

// --- classes --------------------------------------------------------------------------

pub async fn class_view(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<ClassView>> {
    sqlx::query_as(concat!(class_view_select!(), " where c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn class_row(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<ClassRow>> {
    sqlx::query_as(
        "select id, grade_id, code, name, alias, status, venue_id from classes where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

pub async fn insert_class(
    c: &mut PgConnection,
    grade_id: i64,
    code: &str,
    name: &str,
    alias: Option<&str>,
    venue_id: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into classes (grade_id, code, name, alias, venue_id) values ($1, $2, $3, $4, $5)
         returning id",
    )
    .bind(grade_id)
    .bind(code)
    .bind(name)
    .bind(alias)
    .bind(venue_id)
    .fetch_one(&mut *c)
    .await
}

pub async fn update_class(
    c: &mut PgConnection,
    id: i64,
    name: &str,
    alias: Option<&str>,
    venue_id: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query("update classes set name = $2, alias = $3, venue_id = $4 where id = $1")
        .bind(id)
        .bind(name)
        .bind(alias)
        .bind(venue_id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Students of the class in any status: all of them keep the class from being deleted.
pub async fn count_students_in_class(c: &mut PgConnection, class_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from students where class_id = $1")
        .bind(class_id)
        .fetch_one(&mut *c)
        .await
}

pub async fn delete_class(c: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("delete from classes where id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

/// Every active class, locked until the transaction ends so a concurrent promotion waits.
pub async fn lock_active_classes(c: &mut PgConnection) -> sqlx::Result<Vec<ClassRow>> {
    sqlx::query_as(
        "select id, grade_id, code, name, alias, status, venue_id from classes
         where status = 'active' order by id for update",
    )
    .fetch_all(&mut *c)
    .await
}

/// Codes of the classes that are not active (they keep their codes through a promotion).
pub async fn inactive_class_codes(c: &mut PgConnection) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select code from classes where status <> 'active'")
        .fetch_all(&mut *c)
        .await
}

/// Active students per class, for the given classes.
pub async fn active_students_by_class(
    c: &mut PgConnection,
    class_ids: &[i64],
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "select class_id, count(*) from students
         where class_id = any($1) and status = 'active' group by class_id",
    )
    .bind(class_ids)
    .fetch_all(&mut *c)
    .await
}

pub async fn move_class(
    c: &mut PgConnection,
    id: i64,
    grade_id: i64,
    code: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query("update classes set grade_id = $2, code = $3, name = $4 where id = $1")
        .bind(id)
        .bind(grade_id)
        .bind(code)
        .bind(name)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Marks the class graduated under its archive code and frees its home classroom.
pub async fn graduate_class(
    c: &mut PgConnection,
    id: i64,
    code: &str,
    graduated_on: NaiveDate,
) -> sqlx::Result<()> {
    sqlx::query(
        "update classes set status = 'graduated', code = $2, graduated_on = $3, venue_id = null
         where id = $1",
    )
    .bind(id)
    .bind(code)
    .bind(graduated_on)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn latest_promotion(c: &mut PgConnection) -> sqlx::Result<Option<i16>> {
    sqlx::query_scalar("select max(school_year) from promotions")
        .fetch_one(&mut *c)
        .await
}

/// Claims the school year first: a concurrent promotion of the same year waits on the
/// primary key and then fails with a unique violation.
pub async fn insert_promotion(
    c: &mut PgConnection,
    school_year: i16,
    at: DateTime<Utc>,
    by: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into promotions (school_year, promoted_at, promoted_by, summary)
         values ($1, $2, $3, '{}')",
    )
    .bind(school_year)
    .bind(at)
    .bind(by)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn set_promotion_summary(
    c: &mut PgConnection,
    school_year: i16,
    summary: &serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query("update promotions set summary = $2 where school_year = $1")
        .bind(school_year)
        .bind(summary)
        .execute(&mut *c)
        .await?;
    Ok(())
}

// --- venues ---------------------------------------------------------------------------

pub async fn venue(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<VenueView>> {
    sqlx::query_as("select id, code, name, kind, capacity from venues where id = $1")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn insert_venue(c: &mut PgConnection, v: &VenueFields) -> sqlx::Result<VenueView> {
    sqlx::query_as(
        "insert into venues (code, name, kind, capacity) values ($1, $2, $3, $4)
         returning id, code, name, kind, capacity",
    )
    .bind(v.code.as_str())
    .bind(v.name.as_str())
    .bind(v.kind.as_str())
    .bind(v.capacity)
    .fetch_one(&mut *c)
    .await
}

pub async fn update_venue(
    c: &mut PgConnection,
    id: i64,
    v: &VenueChange,
) -> sqlx::Result<VenueView> {
    sqlx::query_as(
        "update venues set code = coalesce($2, code), name = coalesce($3, name),
             kind = coalesce($4, kind), capacity = coalesce($5, capacity)
         where id = $1
         returning id, code, name, kind, capacity",
    )
    .bind(id)
    .bind(v.code.as_ref().map(|x| x.as_str()))
    .bind(v.name.as_ref().map(|x| x.as_str()))
    .bind(v.kind.map(|x| x.as_str()))
    .bind(v.capacity)
    .fetch_one(&mut *c)
    .await
}

/// Names of the classes (any status) whose home classroom is the venue.
pub async fn classes_using_venue(c: &mut PgConnection, venue_id: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select name from classes where venue_id = $1 order by code")
        .bind(venue_id)
        .fetch_all(&mut *c)
        .await
}

pub async fn delete_venue(c: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("delete from venues where id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

// --- periods --------------------------------------------------------------------------

pub async fn period(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<PeriodView>> {
    sqlx::query_as(
        "select id, code, name, kind, starts_at, ends_at, weekdays from periods where id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

pub async fn insert_period(c: &mut PgConnection, p: &PeriodFields) -> sqlx::Result<PeriodView> {
    sqlx::query_as(
        "insert into periods (code, name, kind, starts_at, ends_at, weekdays)
         values ($1, $2, $3, $4, $5, $6)
         returning id, code, name, kind, starts_at, ends_at, weekdays",
    )
    .bind(p.code.as_str())
    .bind(p.name.as_str())
    .bind(p.kind.as_str())
    .bind(p.starts_at)
    .bind(p.ends_at)
    .bind(p.weekdays.as_slice())
    .fetch_one(&mut *c)
    .await
}

pub async fn update_period(
    c: &mut PgConnection,
    id: i64,
    p: &PeriodChange,
) -> sqlx::Result<PeriodView> {
    sqlx::query_as(
        "update periods set code = coalesce($2, code), name = coalesce($3, name),
             kind = coalesce($4, kind), starts_at = coalesce($5, starts_at),
             ends_at = coalesce($6, ends_at), weekdays = coalesce($7, weekdays)
         where id = $1
         returning id, code, name, kind, starts_at, ends_at, weekdays",
    )
    .bind(id)
    .bind(p.code.as_ref().map(|x| x.as_str()))
    .bind(p.name.as_ref().map(|x| x.as_str()))
    .bind(p.kind.map(|x| x.as_str()))
    .bind(p.starts_at)
    .bind(p.ends_at)
    .bind(p.weekdays.as_ref().map(|x| x.as_slice()))
    .fetch_one(&mut *c)
    .await
}

pub async fn delete_period(c: &mut PgConnection, id: i64) -> sqlx::Result<u64> {
    Ok(sqlx::query("delete from periods where id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

// --- terms and calendar exceptions ----------------------------------------------------

pub async fn term_by_code(c: &mut PgConnection, code: &str) -> sqlx::Result<Option<TermRow>> {
    sqlx::query_as(
        "select id, code, name, starts_on, ends_on, teaching_weekdays from terms where code = $1",
    )
    .bind(code)
    .fetch_optional(&mut *c)
    .await
}

/// The code of a term other than `except` sharing at least one day with the range.
pub async fn overlapping_term(
    c: &mut PgConnection,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    except: Option<i64>,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select code from terms
         where starts_on <= $2 and ends_on >= $1 and id is distinct from $3
         order by starts_on limit 1",
    )
    .bind(starts_on)
    .bind(ends_on)
    .bind(except)
    .fetch_optional(&mut *c)
    .await
}

pub async fn insert_term(c: &mut PgConnection, t: &TermFields) -> sqlx::Result<TermRow> {
    sqlx::query_as(
        "insert into terms (code, name, starts_on, ends_on, teaching_weekdays)
         values ($1, $2, $3, $4, $5)
         returning id, code, name, starts_on, ends_on, teaching_weekdays",
    )
    .bind(t.code.as_str())
    .bind(t.name.as_str())
    .bind(t.starts_on)
    .bind(t.ends_on)
    .bind(t.teaching_weekdays.as_slice())
    .fetch_one(&mut *c)
    .await
}

pub async fn update_term(c: &mut PgConnection, id: i64, t: &TermChange) -> sqlx::Result<TermRow> {
    sqlx::query_as(
        "update terms set name = coalesce($2, name), starts_on = coalesce($3, starts_on),
             ends_on = coalesce($4, ends_on),
             teaching_weekdays = coalesce($5, teaching_weekdays)
         where id = $1
         returning id, code, name, starts_on, ends_on, teaching_weekdays",
    )
    .bind(id)
    .bind(t.name.as_ref().map(|x| x.as_str()))
    .bind(t.starts_on)
    .bind(t.ends_on)
    .bind(t.teaching_weekdays.as_ref().map(|x| x.as_slice()))
    .fetch_one(&mut *c)
    .await
}

/// Sets or replaces the exception of one day.
pub async fn upsert_exception(
    c: &mut PgConnection,
    term_id: i64,
    day: NaiveDate,
    kind: ExceptionKind,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into calendar_exceptions (term_id, day, kind, name) values ($1, $2, $3, $4)
         on conflict (term_id, day) do update set kind = excluded.kind, name = excluded.name",
    )
    .bind(term_id)
    .bind(day)
    .bind(kind.as_str())
    .bind(name)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn delete_exception(
    c: &mut PgConnection,
    term_id: i64,
    day: NaiveDate,
) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from calendar_exceptions where term_id = $1 and day = $2")
            .bind(term_id)
            .bind(day)
            .execute(&mut *c)
            .await?
            .rows_affected(),
    )
}
