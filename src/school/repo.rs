//! SQL on a school tenant's organisation tables. Runs inside a `TenantTx`, so unqualified
//! names resolve to the tenant's own schema.

use sqlx::PgConnection;

use super::model::{ClassView, GradeRow, PeriodView, TermRow, VenueView};

pub async fn grades(c: &mut PgConnection) -> sqlx::Result<Vec<GradeRow>> {
    sqlx::query_as("select id, code, name, level from grades order by level, code")
        .fetch_all(&mut *c)
        .await
}

pub async fn classes(c: &mut PgConnection) -> sqlx::Result<Vec<ClassView>> {
    sqlx::query_as("select id, code, name, alias, grade_id from classes order by grade_id, code")
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
) -> sqlx::Result<Vec<(chrono::NaiveDate, String, String)>> {
    sqlx::query_as(
        "select day, kind, name from calendar_exceptions where term_id = $1 order by day",
    )
    .bind(term_id)
    .fetch_all(&mut *c)
    .await
}
