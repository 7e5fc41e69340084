//! SQL of what staff see of enrollment: live places of the children in a class scope,
//! courses with their seats, the sessions of a day and a teacher's courses. Read-only.
//!
//! Must never widen a scope: `classes` (`None` for the whole school) comes from the
//! caller's row scope and every query filters by it.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use crate::enrollment::model::{LiveRow, SessionRow, StatusCourseRow, TaughtRow};

/// Live places (confirmed, or held and not run out at `now`) of children in `classes`
/// (all when `None`), by class and name.
pub async fn live_enrollments(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    course: Option<i64>,
    class: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<LiveRow>> {
    sqlx::query_as(
        "select e.id as enrollment_id, e.course_id, e.student_id, s.name as student_name,
                s.class_id, cl.name as class_name, cl.alias as class_alias, e.status,
                e.hold_expires_at
         from enrollments e
         join students s on s.id = e.student_id
         join classes cl on cl.id = s.class_id
         join grades g on g.id = cl.grade_id
         where (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > $4))
           and ($1::int8[] is null or s.class_id = any($1))
           and ($2::int8 is null or e.course_id = $2)
           and ($3::int8 is null or s.class_id = $3)
         order by e.course_id, g.level, cl.code, s.name, s.id",
    )
    .bind(classes)
    .bind(course)
    .bind(class)
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

pub async fn courses_by_id(
    c: &mut PgConnection,
    ids: &[i64],
) -> sqlx::Result<Vec<StatusCourseRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.status, c.weekdays, c.starts_at, c.ends_at,
                v.name as venue, coalesce(s.capacity, c.capacity) as capacity,
                coalesce(s.taken, 0) as taken
         from courses c
         left join course_seats s on s.course_id = c.id
         left join venues v on v.id = c.venue_id
         where c.id = any($1)
         order by c.class_type, c.starts_at, c.code",
    )
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}

/// Published courses meeting on `weekday` whose dates contain `d`. A series heading is
/// left out: its sub-items are what meets and what children book.
pub async fn sessions_on(
    c: &mut PgConnection,
    d: NaiveDate,
    weekday: i16,
) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.category, c.term_id, c.starts_at,
                c.ends_at, v.name as venue,
                coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                          join staff st on st.id = ct.staff_id where ct.course_id = c.id),
                         '{}') as teachers,
                coalesce(s.capacity, c.capacity) as capacity
         from courses c
         left join course_seats s on s.course_id = c.id
         left join venues v on v.id = c.venue_id
         where c.status in ('published', 'closed') and $2 = any(c.weekdays)
           and c.starts_on <= $1 and $1 <= c.ends_on
           and not exists (select 1 from courses sub where sub.parent_id = c.id)
         order by c.starts_at, c.name, c.id",
    )
    .bind(d)
    .bind(weekday)
    .fetch_all(&mut *c)
    .await
}

/// (course, student) of the confirmed places in `courses` held by children in `classes`
/// (all when `None`).
pub async fn confirmed_in(
    c: &mut PgConnection,
    courses: &[i64],
    classes: Option<&[i64]>,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "select e.course_id, e.student_id from enrollments e
           join students s on s.id = e.student_id
         where e.status = 'confirmed' and e.course_id = any($1)
           and ($2::int8[] is null or s.class_id = any($2))",
    )
    .bind(courses)
    .bind(classes)
    .fetch_all(&mut *c)
    .await
}

/// The name of the active staff member with this phone (the signed-in teacher), if any.
pub async fn staff_name(c: &mut PgConnection, phone_hash: &[u8]) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select name from staff where phone_hash = $1 and status = 'active' order by id limit 1",
    )
    .bind(phone_hash)
    .fetch_optional(&mut *c)
    .await
}

/// Published courses not ended by `today` that an active staff member with this phone
/// teaches.
pub async fn taught(
    c: &mut PgConnection,
    phone_hash: &[u8],
    today: NaiveDate,
) -> sqlx::Result<Vec<TaughtRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.weekdays, c.starts_at, c.ends_at,
                c.starts_on, c.ends_on, v.name as venue,
                (select count(*) from enrollments e
                  where e.course_id = c.id and e.status = 'confirmed') as headcount
         from courses c
         left join venues v on v.id = c.venue_id
         where c.status in ('published', 'closed') and c.ends_on >= $2
           and exists (select 1 from course_teachers ct join staff st on st.id = ct.staff_id
                       where ct.course_id = c.id and st.phone_hash = $1 and st.status = 'active')
         order by c.starts_at, c.name, c.id",
    )
    .bind(phone_hash)
    .bind(today)
    .fetch_all(&mut *c)
    .await
}
