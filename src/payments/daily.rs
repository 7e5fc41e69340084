//! The escrow's day close (R-X02), run by the payments sweeper for yesterday once it is past
//! 01:00 Beijing time, or by the operator for any day:
//!
//! 1. **release**: every paid line whose course had a session that day (the term calendar
//!    decides, as for the parents' timetable) releases one unit to the school: one lesson
//!    for courses (一课一消), one served day for custody; every paid meal order that paid
//!    for the day releases one served day if the canteen served it (a day closed after
//!    ordering releases nothing). Withdrawn enrollments release nothing (their unreleased
//!    part was refunded).
//! 2. **settlement**: WeChat Pay settles the day's payments net of its refunds into the
//!    escrow account at the custodian bank (the bank simulator books it; the ledger moves
//!    it from `wxpay:clearing` to `bank:escrow`, or back when refunds exceed payments).
//! 3. **reconciliation**: the bank's statement for the day against the ledger; the run and
//!    every difference are kept.
//!
//! Every step is idempotent on its reference, so closing a day twice changes nothing. Must
//! never close a day that is not over, or release a unit under another reference than its
//! day's (that would release it twice).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

use super::error::PaymentsError;
use super::model::{DayCloseView, DifferenceView, ReleaseRule};
use super::repo;
use crate::bank::{self, sim::ESCROW_ACCOUNT_NO};
use crate::clock::cst;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LedgerError, LineId, Money};
use crate::tenancy::model::{TenantContext, TenantKind};

/// The instants a Beijing day starts and ends.
pub(super) fn day_bounds(date: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), PaymentsError> {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| cst().from_local_datetime(&t).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or(PaymentsError::DateOutOfRange(d))
    };
    Ok((start(date)?, start(date + Duration::days(1))?))
}

/// Step 1 for one school: the units its paid lines delivered on `date`.
async fn release_school(
    st: &Ctx,
    tenant: &TenantContext,
    date: NaiveDate,
    at: DateTime<Utc>,
) -> Result<(u32, Money), PaymentsError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    let calendars = crate::enrollment::staff::calendars(&mut tx).await?;
    let weekday = chrono::Datelike::weekday(&date).number_from_monday() as i16;
    let courses = repo::courses_meeting_on(tx.conn(), weekday, date).await?;
    // A lesson is delivered when its day ran by the calendar and a teacher checked in (一课一消):
    // a session nobody taught releases nothing.
    let delivered = crate::attendance::delivered(tx.conn(), date).await?;
    let ran: Vec<i64> = courses
        .into_iter()
        .filter(|(id, term)| {
            delivered.contains(id)
                && calendars
                    .iter()
                    .find(|(t, _)| t == term)
                    .is_some_and(|(_, cal)| crate::enrollment::staff::session_runs(cal, date))
        })
        .map(|(id, _)| id)
        .collect();
    // Meals: the confirmed orders that paid for the day, if the canteen served it.
    let meals: Vec<i64> = crate::meals::paid::served_on(&mut tx, date)
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    if ran.is_empty() && meals.is_empty() {
        tx.commit().await?;
        return Ok((0, Money::ZERO));
    }
    let confirmed = repo::confirmed_enrollments(tx.conn(), &ran).await?;
    tx.leave_role().await?;
    let lines = repo::releasable_lines(tx.conn(), tenant.id, &confirmed, &meals).await?;
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
            Err(e) => return Err(e.into()),
        }
    }
    tx.enter_role().await?;
    tx.commit().await?;
    Ok((n, total))
}

/// Closes `date`: releases, WeChat's settlement into escrow, reconciliation.
pub async fn close_day(st: &Ctx, date: NaiveDate) -> Result<DayCloseView, PaymentsError> {
    let (start, end) = day_bounds(date)?;
    if end > st.clock.now() {
        return Err(PaymentsError::DayNotOver { date });
    }
    // Everything of the day is stamped at its last second, so it reconciles on that day.
    let at = end - Duration::seconds(1);
    let mut released_lines = 0;
    let mut released = Money::ZERO;
    for rec in crate::tenancy::lookup::list(&st.db_app).await? {
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
        let m = Money::from_decimal(net).map_err(PaymentsError::StoredAmount)?;
        bank::sim::credit_settlement(&mut tx, ESCROW_ACCOUNT_NO, date, m, &reference, at).await?;
        ledger::settle_to_bank(&mut tx, None, &reference, m, at).await?;
    } else if net < Decimal::ZERO {
        let m = Money::from_decimal(-net).map_err(PaymentsError::StoredAmount)?;
        bank::sim::debit_refund(&mut tx, ESCROW_ACCOUNT_NO, date, m, &reference, at).await?;
        ledger::fund_refunds(&mut tx, &reference, m, at).await?;
    }
    let report = bank::reconcile(&mut tx, ESCROW_ACCOUNT_NO, date, st.clock.now()).await?;
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
pub async fn close_yesterday_if_due(st: &Ctx) -> Result<Option<DayCloseView>, PaymentsError> {
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
