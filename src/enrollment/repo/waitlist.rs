//! SQL of the lines of full courses and the applications and draws of lottery courses
//! (`waitlist`, `lottery_draws`). Runs inside a `TenantTx`; every time comes from the
//! service clock as a parameter.
//!
//! Must never pick who is next by anything but `position, id`: the draw's published order
//! is what the line follows.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::enrollment::model::WaitlistStatus;
use crate::kernel::ids::EnrollmentId;

/// The hold minutes of a course, if it exists.
pub async fn hold_minutes(c: &mut PgConnection, course: i64) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar("select hold_minutes from courses where id = $1")
        .bind(course)
        .fetch_optional(&mut *c)
        .await
}

/// The first in line (id, student, who joined them), locked; entries another transaction
/// is promoting are skipped.
pub async fn next_waiting(
    c: &mut PgConnection,
    course: i64,
) -> sqlx::Result<Option<(i64, i64, i64)>> {
    sqlx::query_as(
        "select id, student_id, joined_by from waitlist
         where course_id = $1 and status = 'waiting'
         order by position, id limit 1 for update skip locked",
    )
    .bind(course)
    .fetch_optional(&mut *c)
    .await
}

/// The entry got a place: the held enrollment made for it.
pub async fn mark_offered(
    c: &mut PgConnection,
    id: i64,
    enrollment: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist set status = 'offered', enrollment_id = $2, updated_at = $3
         where id = $1",
    )
    .bind(id)
    .bind(enrollment)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The entry leaves the line.
pub async fn mark_left(c: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("update waitlist set status = 'left', updated_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The offers whose holds (`enrollments`) expired.
pub async fn expire_offers(
    c: &mut PgConnection,
    enrollments: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist set status = 'expired', updated_at = $2
         where enrollment_id = any($1) and status = 'offered'",
    )
    .bind(enrollments)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The entry of an enrollment the parent let go of leaves the line.
pub async fn leave_with(
    c: &mut PgConnection,
    enrollment: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update waitlist set status = 'left', updated_at = $2 where enrollment_id = $1")
        .bind(enrollment)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The entry of an enrollment that was paid is done.
pub async fn accept_with(
    c: &mut PgConnection,
    enrollment: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist set status = 'accepted', updated_at = $2 where enrollment_id = $1",
    )
    .bind(enrollment)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Courses with a hold that ran out by `now`.
pub async fn courses_with_stale_holds(
    c: &mut PgConnection,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select distinct course_id from enrollments where status = 'held' and hold_expires_at <= $1",
    )
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

/// Whether the course has a free seat.
pub async fn seat_free(c: &mut PgConnection, course: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select taken < capacity from course_seats where course_id = $1")
        .bind(course)
        .fetch_one(&mut *c)
        .await
}

/// A new entry (`status` applied or waiting); `None` when the child is booked or in the
/// course's line already.
pub async fn insert(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    status: WaitlistStatus,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into waitlist (course_id, student_id, status, position, joined_by, joined_at, updated_at)
         select $1, $2, $3, 0, $4, $5, $5
         where not exists (select 1 from enrollments where course_id = $1 and student_id = $2
                           and status in ('held', 'confirmed'))
         on conflict (course_id, student_id) where status in ('applied', 'waiting', 'offered') do nothing
         returning id",
    )
    .bind(course)
    .bind(student)
    .bind(status)
    .bind(by)
    .bind(now)
    .fetch_optional(&mut *c)
    .await
}

/// How many wait before entry `id` of the course's line.
pub async fn ahead(c: &mut PgConnection, course: i64, id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from waitlist where course_id = $1 and status = 'waiting' and id < $2",
    )
    .bind(course)
    .bind(id)
    .fetch_one(&mut *c)
    .await
}

/// An entry of a child: (id, course, course name, status, enrollment, how many are ahead
/// while waiting).
pub type LineRow = (i64, i64, String, String, Option<i64>, Option<i64>);

/// The child's entries, newest first.
pub async fn of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(
        "select w.id, w.course_id, c.name, w.status, w.enrollment_id,
                case when w.status = 'waiting' then
                  (select count(*) from waitlist x where x.course_id = w.course_id
                     and x.status = 'waiting' and (x.position, x.id) < (w.position, w.id)) end
         from waitlist w join courses c on c.id = w.course_id
         where w.student_id = $1 order by w.joined_at desc, w.id desc",
    )
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

/// Records the draw of a course (counts filled in by [`set_draw_counts`]); `false` when
/// it was drawn before.
pub async fn insert_draw(
    c: &mut PgConnection,
    course: i64,
    seed: i64,
    now: DateTime<Utc>,
    by: i64,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "insert into lottery_draws (course_id, seed, drawn_at, drawn_by, applicants, winners)
         values ($1, $2, $3, $4, 0, 0) on conflict do nothing",
    )
    .bind(course)
    .bind(seed)
    .bind(now)
    .bind(by)
    .execute(&mut *c)
    .await?;
    Ok(inserted.rows_affected() > 0)
}

/// The course's lottery applications in id order, locked.
pub async fn applications(c: &mut PgConnection, course: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select id from waitlist where course_id = $1 and status = 'applied' order by id for update",
    )
    .bind(course)
    .fetch_all(&mut *c)
    .await
}

/// Puts the entries `ids` in line at `positions` (the same length).
pub async fn set_positions(
    c: &mut PgConnection,
    ids: &[i64],
    positions: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist w set status = 'waiting', position = u.pos, updated_at = $3
         from unnest($1::int8[], $2::int8[]) as u(id, pos) where w.id = u.id",
    )
    .bind(ids)
    .bind(positions)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn set_draw_counts(
    c: &mut PgConnection,
    course: i64,
    applicants: i32,
    winners: i32,
) -> sqlx::Result<()> {
    sqlx::query("update lottery_draws set applicants = $2, winners = $3 where course_id = $1")
        .bind(course)
        .bind(applicants)
        .bind(winners)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// The course's draw: (seed, drawn at, applicants, winners).
pub async fn draw(
    c: &mut PgConnection,
    course: i64,
) -> sqlx::Result<Option<(i64, DateTime<Utc>, i32, i32)>> {
    sqlx::query_as(
        "select seed, drawn_at, applicants, winners from lottery_draws where course_id = $1",
    )
    .bind(course)
    .fetch_optional(&mut *c)
    .await
}

/// Every drawn place of the course: (position, student, status), in drawn order.
pub async fn drawn_places(
    c: &mut PgConnection,
    course: i64,
) -> sqlx::Result<Vec<(i64, i64, String)>> {
    sqlx::query_as(
        "select position, student_id, status from waitlist
         where course_id = $1 and position > 0 order by position",
    )
    .bind(course)
    .fetch_all(&mut *c)
    .await
}

/// Marks the waitlist entry that led to `enrollment_id` accepted (its booking was paid).
pub async fn accept(
    c: &mut PgConnection,
    enrollment_id: EnrollmentId,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist set status = 'accepted', updated_at = $2 where enrollment_id = $1",
    )
    .bind(enrollment_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}
