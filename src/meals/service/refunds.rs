//! What the refund batch gives back (R-T13, R-S08): the paid days of approved stops, and the
//! paid days the canteen no longer serves (a closure, holiday or excluded day added after
//! the order), each once. The money moves in payments (`payments::meal_refunds`), which
//! asks for these days through `meals::paid`; the school admin sees here what is due and
//! the batches run.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::serving_calendar;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::{MealRefundBatchView, RefundDueView};
use crate::meals::repo::{self, BatchRow, DueRow};

/// How many batches the overview lists.
const RECENT_BATCHES: i64 = 20;

/// The period a batch is for, checked against the rules (`None`: every period).
pub(crate) async fn checked_period(
    tx: &mut TenantTx,
    period_start: Option<NaiveDate>,
) -> Result<Option<String>, MealError> {
    let Some(start) = period_start else {
        return Ok(None);
    };
    let rules = repo::rules(tx.conn()).await?;
    let cal = serving_calendar(tx).await?;
    cal.period_at(&rules, start)
        .map(|p| Some(p.label))
        .ok_or(MealError::PeriodInvalid {
            period_start: start,
        })
}

/// The days due back now: approved stops' first (with their stops locked when `lock`, for
/// the batch that gives them back), then the paid days the canteen no longer serves.
pub(crate) async fn due(
    tx: &mut TenantTx,
    period_start: Option<NaiveDate>,
    lock: bool,
) -> Result<Vec<DueRow>, MealError> {
    let mut out = repo::due_stop_days(tx.conn(), period_start, lock).await?;
    let cal = serving_calendar(tx).await?;
    let unserved: Vec<NaiveDate> = repo::paid_days(tx.conn(), period_start)
        .await?
        .into_iter()
        .filter(|d| !cal.serves(*d))
        .collect();
    if !unserved.is_empty() {
        out.extend(repo::due_unserved_days(tx.conn(), period_start, &unserved).await?);
    }
    Ok(out)
}

fn yuan(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

pub(crate) fn batch_view(r: &BatchRow) -> MealRefundBatchView {
    let (processing, failed) = (r.processing as i32, r.failed as i32);
    let progress = if r.days == 0 {
        "无需退款"
    } else if failed > 0 {
        "有异常"
    } else if processing > 0 {
        "退款中"
    } else {
        "已到账"
    };
    MealRefundBatchView {
        id: r.id,
        period_start: r.period_start,
        period_label: match r.period_start {
            Some(s) => period_name(s),
            None => "全部周期".into(),
        },
        refunds: r.refunds,
        days: r.days,
        amount: yuan(r.amount),
        processing_days: processing,
        refunded_days: (r.days - processing - failed).max(0),
        failed_days: failed,
        progress_label: progress.into(),
        created_at: r.created_at,
    }
}

/// "2026年11月" for a month, "2026-09-01 起的学期" for a term.
fn period_name(s: NaiveDate) -> String {
    use chrono::Datelike;
    if s.day() == 1 {
        format!("{}年{}月", s.year(), s.month())
    } else {
        format!("{s} 起的学期")
    }
}

/// What is due back (of the period, or every period) and the latest batches: the school
/// admin's refund desk.
pub async fn overview(
    tx: &mut TenantTx,
    _who: &Actor<'_>,
    period_start: Option<NaiveDate>,
) -> Result<RefundDueView, MealError> {
    checked_period(tx, period_start).await?;
    let due = due(tx, period_start, false).await?;
    let mut stops: Vec<i64> = due.iter().filter_map(|d| d.stop_id).collect();
    stops.sort_unstable();
    stops.dedup();
    let stop_days = due.iter().filter(|d| d.stop_id.is_some()).count() as i32;
    let amount: Decimal = due.iter().map(|d| d.price).sum();
    let batches = repo::batches(tx.conn(), RECENT_BATCHES).await?;
    Ok(RefundDueView {
        period_start,
        stops: stops.len() as i32,
        stop_days,
        unserved_days: due.len() as i32 - stop_days,
        amount: yuan(amount),
        batches: batches.iter().map(batch_view).collect(),
    })
}
