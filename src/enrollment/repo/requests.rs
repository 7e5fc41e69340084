//! SQL of withdrawal and transfer requests (R-P05, R-P14) and of the refund requests an
//! approved withdrawal leaves for the payments issue. Runs inside a `TenantTx`; every time
//! comes from the service clock as a parameter, never from the database's `now()`.
//!
//! Must never end an enrollment or move a seat (that stays in `repo`); the one enrollment
//! written here is the confirmed place an approved transfer makes ([`insert_confirmed`]),
//! after the caller has taken its seat.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::enrollment::model::{RefundRequestStatus, RequestKind, RequestStatus};

/// A request with the names a reader needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub enrollment_id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub target_course_id: Option<i64>,
    pub target_course_name: Option<String>,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    pub class_alias: Option<String>,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
    pub refund_status: Option<RefundRequestStatus>,
}

/// [`RequestRow`]'s columns. A macro, not a const, so `concat!` builds each query as one
/// static string.
macro_rules! request_select {
    () => {
        "select r.id, r.kind, r.status, r.enrollment_id, e.course_id, c.name as course_name,
                r.target_course_id, tc.name as target_course_name, e.student_id,
                s.name as student_name, s.class_id, cl.name as class_name,
                cl.alias as class_alias, r.reason, r.requested_at, r.reviewed_at,
                r.review_comment, rr.status as refund_status
         from enrollment_requests r
         join enrollments e on e.id = r.enrollment_id
         join courses c on c.id = e.course_id
         left join courses tc on tc.id = r.target_course_id
         join students s on s.id = e.student_id
         join classes cl on cl.id = s.class_id
         left join refund_requests rr on rr.request_id = r.id"
    };
}

pub async fn request(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<RequestRow>> {
    sqlx::query_as(concat!(request_select!(), " where r.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// Every request about the child's enrollments, newest first.
pub async fn of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as(concat!(
        request_select!(),
        " where e.student_id = $1 order by r.requested_at desc, r.id desc"
    ))
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

/// Requests of children in `classes` (all classes when `None`), oldest pending first so a
/// reviewer works through them in order.
pub async fn list(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    status: Option<RequestStatus>,
    limit: i64,
) -> sqlx::Result<Vec<RequestRow>> {
    sqlx::query_as(concat!(
        request_select!(),
        " where ($1::int8[] is null or s.class_id = any($1))
            and ($2::text is null or r.status = $2)
          order by (r.status = 'pending') desc, r.requested_at, r.id
          limit $3"
    ))
    .bind(classes)
    .bind(status)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}

/// What a decision needs, read under a row lock so two reviewers (or a reviewer and the
/// parent withdrawing the request) decide one after the other.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LockedRequest {
    pub id: i64,
    pub kind: RequestKind,
    pub status: RequestStatus,
    pub enrollment_id: i64,
    pub target_course_id: Option<i64>,
    pub reason: String,
    pub requested_by: i64,
    pub student_id: i64,
    pub class_id: i64,
}

pub async fn lock(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<LockedRequest>> {
    sqlx::query_as(
        "select r.id, r.kind, r.status, r.enrollment_id, r.target_course_id, r.reason,
                r.requested_by, e.student_id, s.class_id
         from enrollment_requests r
         join enrollments e on e.id = r.enrollment_id
         join students s on s.id = e.student_id
         where r.id = $1
         for update of r",
    )
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

/// A pending request; `None` when the enrollment has one pending already.
pub async fn insert(
    c: &mut PgConnection,
    kind: RequestKind,
    enrollment: i64,
    target: Option<i64>,
    reason: &str,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into enrollment_requests
                (kind, enrollment_id, target_course_id, reason, status, requested_by, requested_at)
         values ($1, $2, $3, $4, 'pending', $5, $6)
         on conflict (enrollment_id) where status = 'pending' do nothing
         returning id",
    )
    .bind(kind)
    .bind(enrollment)
    .bind(target)
    .bind(reason)
    .bind(by)
    .bind(now)
    .fetch_optional(&mut *c)
    .await
}

/// Moves a pending request to `status`; `false` if it was decided meanwhile. A parent
/// withdrawing their own request is recorded the same way (they are its "reviewer").
pub async fn decide(
    c: &mut PgConnection,
    id: i64,
    status: RequestStatus,
    by: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update enrollment_requests
         set status = $2, reviewed_by = $3, review_comment = $4, reviewed_at = $5
         where id = $1 and status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(comment)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Closes the pending requests of an enrollment the school has ended itself: there is
/// nothing left to withdraw from or transfer.
pub async fn cancel_pending_of(
    c: &mut PgConnection,
    enrollment: i64,
    by: i64,
    comment: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let r = sqlx::query(
        "update enrollment_requests
         set status = 'cancelled', reviewed_by = $2, review_comment = $3, reviewed_at = $4
         where enrollment_id = $1 and status = 'pending'",
    )
    .bind(enrollment)
    .bind(by)
    .bind(comment)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected())
}

/// What the school owes back for a paid enrollment that ended early; one per enrollment.
/// `None` when the enrollment already had one.
pub async fn insert_refund(
    c: &mut PgConnection,
    enrollment: i64,
    request: Option<i64>,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into refund_requests (enrollment_id, request_id, reason, status, created_at)
         values ($1, $2, $3, 'requested', $4)
         on conflict (enrollment_id) do nothing
         returning id",
    )
    .bind(enrollment)
    .bind(request)
    .bind(reason)
    .bind(now)
    .fetch_optional(&mut *c)
    .await
}

/// A confirmed enrollment made by an approved transfer (the seat is taken by the caller);
/// `None` when the child already has a live one for the course.
pub async fn insert_confirmed(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    booked_by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into enrollments (course_id, student_id, status, booked_by, created_at, confirmed_at)
         values ($1, $2, 'confirmed', $3, $4, $4)
         on conflict (course_id, student_id) where status in ('held', 'confirmed') do nothing
         returning id",
    )
    .bind(course)
    .bind(student)
    .bind(booked_by)
    .bind(now)
    .fetch_optional(&mut *c)
    .await
}

/// The child's class and grade level, whoever asks (staff paths check scope on the class).
pub async fn student_class_level(
    c: &mut PgConnection,
    student: i64,
) -> sqlx::Result<Option<(i64, i16)>> {
    sqlx::query_as(
        "select s.class_id, g.level from students s
           join classes cl on cl.id = s.class_id
           join grades g on g.id = cl.grade_id
         where s.id = $1",
    )
    .bind(student)
    .fetch_optional(&mut *c)
    .await
}

/// Whether the child holds a live place in the course (a hold still running, or confirmed).
pub async fn has_live(
    c: &mut PgConnection,
    course: i64,
    student: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from enrollments where course_id = $1 and student_id = $2
                        and (status = 'confirmed' or (status = 'held' and hold_expires_at > $3)))",
    )
    .bind(course)
    .bind(student)
    .bind(now)
    .fetch_one(&mut *c)
    .await
}

/// Takes the offered hold of a waitlist entry out of the line when its enrollment ends.
pub async fn leave_offer(
    c: &mut PgConnection,
    enrollment: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update waitlist set status = 'left', updated_at = $2
         where enrollment_id = $1 and status = 'offered'",
    )
    .bind(enrollment)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}
