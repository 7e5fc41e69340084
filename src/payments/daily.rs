//! The escrow's day close (R-X02), run by the payments sweeper for yesterday once it is past
//! 01:00 Beijing time, or by the operator for any day:
//!
//! 1. **release**: every paid line whose course had a session that day (the term calendar
//!    decides, as for the parents' timetable) releases one unit to the school: one lesson
//!    for courses (一课一消), one served day for custody. Withdrawn enrollments release
//!    nothing (their unreleased part was refunded).
//! 2. **settlement**: WeChat Pay settles the day's payments net of its refunds into the
//!    escrow account at the custodian bank (the bank simulator books it; the ledger moves
//!    it from `wxpay:clearing` to `bank:escrow`, or back when refunds exceed payments).
//! 3. **reconciliation**: the bank's statement for the day against the ledger; the run and
//!    every difference are kept.
//!
//! Every step is idempotent on its reference, so closing a day twice changes nothing.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use poem_openapi::Object;
use rust_decimal::Decimal;
use serde_json::json;

use super::model::ReleaseRule;
use super::repo;
use crate::bank::{self, sim::ESCROW_ACCOUNT_NO};
use crate::clock::cst;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LedgerError, LineId, Money};
use crate::tenancy::model::{TenantContext, TenantKind};

/// 日终处理结果
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DayCloseView {
    pub date: NaiveDate,
    /// 本日结算给学校的明细数（一课一消 / 按服务天数）
    pub released_lines: u32,
    /// 本日结算给学校的金额（元）
    pub released: String,
    /// 微信支付结算入存管账户的净额（元，负数表示存管账户垫付退款）
    pub settled_to_bank: String,
    /// 对账：匹配的流水数
    pub matched: u32,
    /// 对账差异（银行有账本无、账本有银行无、金额不符）
    pub differences: Vec<DifferenceView>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DifferenceView {
    /// missing_in_ledger | missing_in_bank | amount_mismatch
    pub kind: String,
    pub reference: String,
    pub bank_amount: Option<String>,
    pub ledger_amount: Option<String>,
}

fn day_bounds(date: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| cst().from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| ApiError::internal("date out of range"))
    };
    Ok((start(date)?, start(date + Duration::days(1))?))
}

fn ledger_err(e: LedgerError) -> ApiError {
    ApiError::from_domain(&e)
}

fn bank_err(e: bank::BankError) -> ApiError {
    ApiError::internal(e)
}

/// Step 1 for one school: the units its paid lines delivered on `date`.
async fn release_school(
    st: &Ctx,
    tenant: &TenantContext,
    date: NaiveDate,
    at: DateTime<Utc>,
) -> Result<(u32, Money), ApiError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    let calendars = crate::enrollment::staff::calendars(&mut tx).await?;
    let weekday = chrono::Datelike::weekday(&date).number_from_monday() as i16;
    let courses = repo::courses_meeting_on(tx.conn(), weekday, date).await?;
    let ran: Vec<i64> = courses
        .into_iter()
        .filter(|(_, term)| {
            calendars
                .iter()
                .find(|(t, _)| t == term)
                .is_some_and(|(_, cal)| crate::enrollment::staff::session_runs(cal, date))
        })
        .map(|(id, _)| id)
        .collect();
    if ran.is_empty() {
        tx.commit().await?;
        return Ok((0, Money::ZERO));
    }
    let confirmed = repo::confirmed_enrollments(tx.conn(), &ran).await?;
    tx.leave_role().await?;
    let lines = repo::releasable_lines(tx.conn(), tenant.id, &confirmed).await?;
    let (mut n, mut total) = (0u32, Money::ZERO);
    for l in lines {
        let units = u32::try_from(l.units.max(1)).unwrap_or(1);
        let line = LineId(l.id);
        let posted = match l.release_rule {
            ReleaseRule::PerDay => {
                ledger::release_day(tx.conn(), line, units, &format!("day:{date}"), at).await
            }
            ReleaseRule::PerLesson => {
                ledger::release_lesson(tx.conn(), line, units, &format!("lesson:{date}"), at).await
            }
        };
        match posted {
            Ok(p) => {
                if !p.replayed {
                    n += 1;
                    total = total.checked_add(p.amount).unwrap_or(total);
                }
            }
            // Fully released or refunded lines, and more sessions than were paid for.
            Err(
                LedgerError::UnitsExhausted { .. }
                | LedgerError::NothingToRelease(_)
                | LedgerError::NotPaid(_),
            ) => {}
            Err(e) => return Err(ledger_err(e)),
        }
    }
    tx.enter_role().await?;
    tx.commit().await?;
    Ok((n, total))
}

/// Closes `date`: releases, WeChat's settlement into escrow, reconciliation.
pub async fn close_day(st: &Ctx, date: NaiveDate) -> Result<DayCloseView, ApiError> {
    let (start, end) = day_bounds(date)?;
    if end > st.clock.now() {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "DAY_NOT_OVER",
            "只能对已结束的日期做日终处理",
            json!({ "date": date }),
        ));
    }
    // Everything of the day is stamped at its last second, so it reconciles on that day.
    let at = end - Duration::seconds(1);
    let mut released_lines = 0;
    let mut released = Money::ZERO;
    for rec in crate::tenancy::repo::list(&st.db_app).await? {
        if rec.kind() != Some(TenantKind::School) || rec.is_suspended() {
            continue;
        }
        let Some(t) = TenantContext::from_record(&rec) else {
            continue;
        };
        let (n, m) = release_school(st, &t, date, at).await?;
        released_lines += n;
        released = released.checked_add(m).unwrap_or(released);
    }

    let mut tx = st.db_app.begin().await?;
    let sums = repo::journal_sums(&mut tx, start, end).await?;
    let net = sums.0.unwrap_or_default() - sums.1.unwrap_or_default();
    let reference = format!("WXSETTLE{}", date.format("%Y%m%d"));
    if net > Decimal::ZERO {
        let m = Money::from_decimal(net).map_err(ApiError::internal)?;
        bank::sim::credit_settlement(&mut tx, ESCROW_ACCOUNT_NO, date, m, &reference, at)
            .await
            .map_err(bank_err)?;
        ledger::settle_to_bank(&mut tx, None, &reference, m, at)
            .await
            .map_err(ledger_err)?;
    } else if net < Decimal::ZERO {
        let m = Money::from_decimal(-net).map_err(ApiError::internal)?;
        bank::sim::debit_refund(&mut tx, ESCROW_ACCOUNT_NO, date, m, &reference, at)
            .await
            .map_err(bank_err)?;
        ledger::fund_refunds(&mut tx, &reference, m, at)
            .await
            .map_err(ledger_err)?;
    }
    let report = bank::reconcile(&mut tx, ESCROW_ACCOUNT_NO, date, st.clock.now())
        .await
        .map_err(bank_err)?;
    tx.commit().await?;
    Ok(DayCloseView {
        date,
        released_lines,
        released: released.to_string(),
        settled_to_bank: format!("{:.2}", net),
        matched: report.matched,
        differences: report
            .differences
            .iter()
            .map(|d| DifferenceView {
                kind: match d.kind {
                    bank::DifferenceKind::MissingInLedger => "missing_in_ledger",
                    bank::DifferenceKind::MissingInBank => "missing_in_bank",
                    bank::DifferenceKind::AmountMismatch => "amount_mismatch",
                }
                .to_string(),
                reference: d.reference.clone(),
                bank_amount: d.bank_amount.map(|m| m.to_string()),
                ledger_amount: d.ledger_amount.map(|m| m.to_string()),
            })
            .collect(),
    })
}

/// Closes yesterday (Beijing time) if it is past 01:00 and yesterday has no reconciliation
/// run yet. Called by the payments sweeper.
pub async fn close_yesterday_if_due(st: &Ctx) -> Result<Option<DayCloseView>, ApiError> {
    let local = st.clock.now().with_timezone(&cst());
    if chrono::Timelike::hour(&local) < 1 {
        return Ok(None);
    }
    let yesterday = local.date_naive() - Duration::days(1);
    let mut conn = st.db_app.acquire().await?;
    let done = repo::reconciled(&mut conn, ESCROW_ACCOUNT_NO, yesterday).await?;
    drop(conn);
    if done {
        return Ok(None);
    }
    close_day(st, yesterday).await.map(Some)
}
