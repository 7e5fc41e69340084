//! The seat counters (`course_seats`): a course's capacity and the places booking took.

use sqlx::PgConnection;

/// The seat counter of a new course: nothing taken.
pub async fn insert_seats(c: &mut PgConnection, course_id: i64, capacity: i32) -> sqlx::Result<()> {
    sqlx::query("insert into course_seats (course_id, capacity, taken) values ($1, $2, 0)")
        .bind(course_id)
        .bind(capacity)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Sets the seat capacity unless more places are taken than it allows: one guarded
/// statement, so a booking running at the same time cannot slip in between a check and
/// the write. Returns false when refused.
pub async fn set_seat_capacity(
    c: &mut PgConnection,
    course_id: i64,
    capacity: i32,
) -> sqlx::Result<bool> {
    let n =
        sqlx::query("update course_seats set capacity = $2 where course_id = $1 and taken <= $2")
            .bind(course_id)
            .bind(capacity)
            .execute(&mut *c)
            .await?
            .rows_affected();
    Ok(n > 0)
}

pub async fn seats_taken(c: &mut PgConnection, course_id: i64) -> sqlx::Result<i32> {
    sqlx::query_scalar("select coalesce(max(taken), 0) from course_seats where course_id = $1")
        .bind(course_id)
        .fetch_one(&mut *c)
        .await
}
