//! The refund steps enrollment asks of payments when a paid place ends (a withdrawal
//! approved, a cancellation by the school), in one place:
//!
//! 1. [`reserve`], inside the transaction that ends the enrollment: the money not yet
//!    released is reserved for refund, so the refund commits or rolls back with the end;
//! 2. [`after_commit`], the one post-commit hook: the reserved refunds are sent to
//!    WeChat Pay. Callers run it after `commit`; a failure leaves the refund reserved, and
//!    the payments sweeper sends it later. The outbox (issue 15) takes this step over.
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

/// After the transaction that reserved refunds committed: sends this school's reserved
/// refunds to WeChat Pay. Never fails the request; what is not sent now, the sweeper sends.
pub async fn after_commit(st: &Ctx, tenant_id: i64) {
    crate::payments::service::submit_tenant_refunds(st, tenant_id).await;
}
