//! What payments tells meals and asks of them: the orders a parent pays (held, of their own
//! children), a paid order confirmed, and the served days the day close releases. Payments
//! calls these instead of reading or writing meals' tables (docs/architecture.md, rule 2).

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::model::MealOrderStatus;
use super::repo;
use super::service::serving_calendar;
use crate::kernel::tx::TenantTx;

/// A meal order as a payment line needs it.
#[derive(Debug, Clone)]
pub struct PayableMeal {
    pub id: i64,
    pub student_id: i64,
    /// "张小明 标准午餐 2026年11月"
    pub description: String,
    pub amount: Decimal,
    pub days: i32,
    pub held: bool,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub status_label: &'static str,
}

/// The meal orders among `ids` of a child of `account_id` (tenant role); others are left
/// out, so the caller answers "not found" for them.
pub async fn payable(
    c: &mut PgConnection,
    ids: &[i64],
    account_id: i64,
) -> sqlx::Result<Vec<PayableMeal>> {
    let own = repo::own_students(c, account_id).await?;
    Ok(repo::orders(c, ids)
        .await?
        .into_iter()
        .filter(|o| own.contains(&o.student_id))
        .map(|o| PayableMeal {
            id: o.id,
            student_id: o.student_id,
            description: format!(
                "{} {} {}",
                o.student_name,
                o.name,
                super::service::period_label(o.period_start, o.period_end)
            ),
            amount: o.amount,
            days: o.days.len() as i32,
            held: o.status == MealOrderStatus::Held,
            hold_expires_at: o.hold_expires_at,
            status_label: o.status.label(),
        })
        .collect())
}

/// Confirms a paid order; `false` when its hold was given up meanwhile (the payment is then
/// refunded in full by the caller).
pub async fn confirm_paid(c: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    repo::confirm(c, id, now).await
}

/// The confirmed orders that serve `day` (the canteen serves that day and the order paid
/// for it), each with its number of paid days: what the day close releases one day of.
pub async fn served_on(
    tx: &mut TenantTx,
    day: NaiveDate,
) -> Result<Vec<(i64, u32)>, super::error::MealError> {
    let cal = serving_calendar(tx).await?;
    if !cal.serves(day) {
        return Ok(Vec::new());
    }
    Ok(repo::confirmed_on(tx.conn(), day)
        .await?
        .into_iter()
        .map(|(id, n)| (id, u32::try_from(n).unwrap_or(1)))
        .collect())
}

/// Ends held orders whose hold ran out (the sweeper), giving their kinds and places back.
pub async fn expire_holds(c: &mut PgConnection, now: DateTime<Utc>) -> sqlx::Result<usize> {
    Ok(repo::end_holds(c, None, MealOrderStatus::Expired, now)
        .await?
        .len())
}

/// What a message names: the child and the meal with its period, of each order.
pub async fn names(c: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String, String)>> {
    Ok(repo::orders(c, ids)
        .await?
        .into_iter()
        .map(|o| {
            let what = format!(
                "{} {}",
                o.name,
                super::service::period_label(o.period_start, o.period_end)
            );
            (o.id, o.student_name, what)
        })
        .collect())
}

/// What a meal order is for the settlement statement (R-S10): (order id, code, name) of its
/// item or package, e.g. ("meal-item-3", "订餐：标准午餐").
pub async fn offer_names(
    c: &mut PgConnection,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, String, String)>> {
    Ok(repo::orders(c, ids)
        .await?
        .into_iter()
        .map(|o| {
            let code = match (o.item_id, o.package_id) {
                (Some(i), _) => format!("meal-item-{i}"),
                (_, Some(p)) => format!("meal-package-{p}"),
                _ => "meal".to_string(),
            };
            (o.id, code, format!("订餐：{}", o.name))
        })
        .collect())
}

/// A paid order day the refund batch gives back, and what it is worth (the order's price
/// of a day).
pub use super::repo::DueRow as DueDay;
pub use super::repo::RefundedDay;

/// The days due back now (of the period, or every period), for the batch that gives them
/// back in this transaction: approved stops' days (their stops locked) and the paid days the
/// canteen no longer serves. Refused when another batch of the school is running, and for a
/// period that is not one under the rules.
pub async fn refund_due(
    tx: &mut TenantTx,
    period_start: Option<NaiveDate>,
) -> Result<Vec<DueDay>, super::error::MealError> {
    if !repo::try_lock_batches(tx.conn()).await? {
        return Err(super::error::MealError::RefundBatchRunning);
    }
    super::service::refunds::checked_period(tx, period_start).await?;
    super::service::refunds::due(tx, period_start, true).await
}

/// Opens a batch row (its totals are written by [`record_refunds`]).
pub async fn open_batch(
    c: &mut PgConnection,
    period_start: Option<NaiveDate>,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    repo::insert_batch(c, period_start, by, at).await
}

/// Records the days a batch's `refunds` give back, and the stops' refunds (退款中). A day
/// given back before fails the transaction: a day is never given back twice.
pub async fn record_refunds(
    c: &mut PgConnection,
    batch: i64,
    days: &[RefundedDay],
    refunds: i32,
) -> sqlx::Result<()> {
    repo::insert_refund_days(c, batch, days, refunds).await?;
    let mut stops: Vec<i64> = days.iter().filter_map(|d| d.stop_id).collect();
    stops.sort_unstable();
    stops.dedup();
    repo::sync_stop_refunds(c, &stops).await
}

/// The batch as the admin sees it.
pub async fn batch(
    c: &mut PgConnection,
    id: i64,
) -> sqlx::Result<Option<super::model::MealRefundBatchView>> {
    Ok(repo::batch(c, id)
        .await?
        .as_ref()
        .map(super::service::refunds::batch_view))
}

/// Where a refund of the batch is, as WeChat reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundProgress {
    Processing,
    Arrived,
    /// ABNORMAL: the money stays reserved until the school resolves it.
    Failed,
    /// CLOSED: the money is back in escrow, and its days are due again.
    Closed,
}

/// Moves the days of refund `refund_id` and their stops to where WeChat says it is.
pub async fn refund_progress(
    c: &mut PgConnection,
    refund_id: i64,
    progress: RefundProgress,
) -> sqlx::Result<()> {
    let stops = match progress {
        RefundProgress::Processing => repo::set_refund_days(c, refund_id, "processing").await?,
        RefundProgress::Arrived => repo::set_refund_days(c, refund_id, "refunded").await?,
        RefundProgress::Failed => repo::set_refund_days(c, refund_id, "failed").await?,
        RefundProgress::Closed => repo::drop_refund_days(c, refund_id).await?,
    };
    repo::sync_stop_refunds(c, &stops).await
}
