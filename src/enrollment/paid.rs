//! What payments tells enrollment: a booking was paid, a withdrawal's refund moved on.
//! Payments calls these instead of writing enrollment's tables (docs/architecture.md, rule 2).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::RefundRequestStatus;
use super::repo;
use crate::kernel::ids::{EnrollmentId, RequestId};

/// Confirms a paid enrollment and accepts the waitlist entry it came from, if any. A hold
/// that ran out while the parent paid is confirmed too as long as it still holds its place
/// (`held`); `false` when the place was already given up (`expired`, `cancelled`, ...), and
/// then nothing changes.
pub async fn confirm_paid(
    c: &mut PgConnection,
    enrollment_id: EnrollmentId,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    if !repo::confirm_paid(c, enrollment_id, now).await? {
        return Ok(false);
    }
    repo::waitlist::accept(c, enrollment_id, now).await?;
    Ok(true)
}

/// What a confirmation message names: the child and the course of each enrollment.
pub async fn place_names(
    c: &mut PgConnection,
    enrollment_ids: &[i64],
) -> sqlx::Result<Vec<(i64, String, String)>> {
    repo::place_names(c, enrollment_ids).await
}

/// Follows a refund into the withdrawal request it belongs to: `status` is the request's
/// refund progress as the parent sees it.
pub async fn refund_progress(
    c: &mut PgConnection,
    request_id: RequestId,
    status: RefundRequestStatus,
) -> sqlx::Result<()> {
    repo::set_refund_request_status(c, request_id.0, status).await
}
