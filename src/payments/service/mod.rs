//! The payment rules: an order for held enrollments, payment confirmed only by WeChat Pay
//! (callback or query), unpaid orders closed with their holds, refunds of the unreleased
//! part, and the recovery passes that make a crash between two steps harmless. One file per
//! flow: [`order`] (creating, paying, views), [`closing`] (resuming, cancelling, closing at
//! WeChat), [`settle`] (a confirmed payment, callbacks), [`refund`], [`meal_refunds`] (the
//! school's meal refund batch) and [`sweep`] (the sweeper and the start-up recovery).
//!
//! Order of steps where WeChat is involved: our row commits first, then WeChat is called,
//! then its answer is stored. A callback that arrives before our row commits finds no order,
//! is answered with an error and comes again (WeChat retries); a crash after WeChat accepted
//! a payment leaves an unpaid order that [`recover`] settles by query.
//!
//! Must never call WeChat inside a database transaction, and never run SQL here: every
//! statement is in [`super::repo`].

mod closing;
mod meal_refunds;
mod order;
mod refund;
mod settle;
mod sweep;

use chrono::{DateTime, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use rust_decimal::Decimal;

pub use closing::{cancel_order, pay_order};
pub use meal_refunds::refund_meal_batch;
pub use order::{create_order, my_orders, refund_view, school_orders, views};
pub use refund::{deliver_refunds, refund_enrollment, refund_line, REFUND_EVENT};
pub use settle::{handle_notification, settle_transaction, Settled};

pub use super::error::SettleError;
pub use sweep::{close_expired, recover, run_sweeper, sweep};

use crate::kernel::ctx::Ctx;
use crate::ledger::Money;
use crate::payments::error::PaymentsError;
use crate::tenancy::model::TenantContext;
use crate::wechatpay::WechatPayError;

/// A WeChat Pay call that failed, logged, as the refusal the caller answers.
fn wechat_failed(e: WechatPayError) -> PaymentsError {
    tracing::warn!(error = %e, "WeChat Pay call failed");
    PaymentsError::WechatPay(e)
}

/// A stored amount as money (the columns hold only valid amounts).
fn money(d: Decimal) -> Result<Money, PaymentsError> {
    Money::from_decimal(d).map_err(PaymentsError::StoredAmount)
}

fn yuan(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// `AS` + UTC date and time + 12 random characters: 28 characters, unique in practice and
/// within WeChat's 6–32 `[0-9A-Za-z_-|*]`.
fn trade_no(prefix: &str, now: DateTime<Utc>) -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(char::from)
        .collect();
    format!("{prefix}{}{tail}", now.format("%Y%m%d%H%M%S"))
}

/// The tenant an order or refund row names.
async fn tenant_of(st: &Ctx, tenant_id: i64) -> Result<TenantContext, PaymentsError> {
    let rec = crate::tenancy::lookup::find_by_id(&st.db_app, tenant_id).await?;
    rec.as_ref()
        .and_then(TenantContext::from_record)
        .ok_or(PaymentsError::TenantUnknown(tenant_id))
}
