//! The refund steps enrollment asks of payments when a paid place ends (a withdrawal
//! approved, a cancellation by the school), in one place:
//!
//! 1. [`reserve`], inside the transaction that ends the enrollment: the money not yet
//!    released is reserved for refund, so the refund commits or rolls back with the end;
//!    with the outbox event that sends it to WeChat Pay once the transaction committed.
//!
//! Payments depends on enrollment (orders are for enrollments), so nothing here is
//! imported by payments: the two features do not form an import circle.

use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;

use super::error::EnrollmentError;
use crate::kernel::ids::EnrollmentId;

/// Where a refund came from, as the refund records it.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A parent's withdrawal request, approved.
    Withdrawal,
    /// The school cancelled the enrollment.
    School,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Withdrawal => "withdrawal",
            Source::School => "admin",
        }
    }
}

/// Reserves the unreleased money of a paid enrollment for refund, in `tx`. `None` when it
/// was never paid online or nothing is left to refund.
pub async fn reserve(
    st: &Ctx,
    tx: &mut TenantTx,
    enrollment_id: EnrollmentId,
    refund_request_id: i64,
    reason: &str,
    approved_by: i64,
    source: Source,
) -> Result<Option<i64>, EnrollmentError> {
    crate::payments::service::refund_enrollment(
        st,
        tx,
        enrollment_id,
        refund_request_id,
        reason,
        approved_by,
        source.as_str(),
    )
    .await
    .map_err(|e| EnrollmentError::upstream(&e))
}
