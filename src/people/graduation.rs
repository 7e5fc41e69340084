//! What the school's yearly promotion asks of people: the students of the graduating
//! classes leave. Only `people` writes students (docs/architecture.md, rule 2).

use sqlx::PgConnection;

use super::repo;

/// Marks the active students of `class_ids` graduated, inside the promotion's
/// transaction; answers how many.
pub async fn graduate(c: &mut PgConnection, class_ids: &[i64]) -> sqlx::Result<u64> {
    repo::graduate_students(c, class_ids).await
}
