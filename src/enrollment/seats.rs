//! A course's seat counter, which booking moves: courses opens it when a course is made
//! and changes its capacity; enrollment takes and gives back places (`repo::hold`,
//! `take_seat`, ...). Only `enrollment` writes `course_seats` (docs/architecture.md,
//! rule 2), so courses calls these.

use sqlx::PgConnection;

use super::repo::seats as repo;

/// The seat counter of a new course: `capacity` places, none taken.
pub async fn open(c: &mut PgConnection, course_id: i64, capacity: i32) -> sqlx::Result<()> {
    repo::insert_seats(c, course_id, capacity).await
}

/// Sets the capacity unless more places are taken than it allows, in one guarded
/// statement (a booking at the same time cannot slip in between). `false` when refused.
pub async fn set_capacity(
    c: &mut PgConnection,
    course_id: i64,
    capacity: i32,
) -> sqlx::Result<bool> {
    repo::set_seat_capacity(c, course_id, capacity).await
}

/// The places taken now.
pub async fn taken(c: &mut PgConnection, course_id: i64) -> sqlx::Result<i32> {
    repo::seats_taken(c, course_id).await
}
