//! Daily reconciliation of the custodian bank's statement against the ledger (issue #6
//! item 6, R-X02: "a report, not a hope").
//!
//! Owns the matching rule and `platform.reconciliation_runs`. For one account and one value
//! date (Asia/Shanghai), every statement line is matched with the ledger journals on
//! `bank:escrow` whose `at` falls on that day, by direction and reference; equal amounts
//! match, anything else is a [`Difference`]. Every run is kept.
//!
//! Must never correct either side: it reports. Fixing a difference is a new posting (or a
//! question to the bank), decided by a person.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::error::BankError;
use super::model::{Difference, DifferenceKind, Direction, Report, StatementLine};
use super::sim;
use crate::clock::cst;
use crate::ledger::{self, EscrowMovement, Money, Side};

/// The instants `[start, end)` of a calendar day in China Standard Time.
pub fn cst_day(date: NaiveDate) -> Result<(DateTime<Utc>, DateTime<Utc>), BankError> {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(cst()).single())
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| BankError::Invalid(format!("no such day {d}")))
    };
    let next = date
        .succ_opt()
        .ok_or_else(|| BankError::Invalid(format!("no day after {date}")))?;
    Ok((start(date)?, start(next)?))
}

/// How the bank sees a ledger movement on `bank:escrow`: a debit there is money coming in.
fn direction_of(side: Side) -> Direction {
    match side {
        Side::Debit => Direction::Credit,
        Side::Credit => Direction::Debit,
    }
}

fn add_to(
    map: &mut BTreeMap<(Direction, String), Option<Money>>,
    key: (Direction, String),
    m: Money,
) {
    let slot = map.entry(key).or_insert(Some(Money::ZERO));
    // A sum beyond the limit of totals cannot match anything; keep it as unknown.
    *slot = slot.and_then(|s| s.checked_add(m));
}

/// Matches statement lines with ledger movements by (direction, reference); answers the
/// number matched and the differences, ordered by direction and reference.
pub fn compare(lines: &[StatementLine], movements: &[EscrowMovement]) -> (u32, Vec<Difference>) {
    let mut bank = BTreeMap::new();
    for l in lines {
        add_to(&mut bank, (l.direction, l.reference.clone()), l.amount);
    }
    let mut books = BTreeMap::new();
    for m in movements {
        add_to(
            &mut books,
            (direction_of(m.side), m.reference.clone()),
            m.amount,
        );
    }
    let mut keys: Vec<&(Direction, String)> = bank.keys().chain(books.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut matched = 0u32;
    let mut differences = Vec::new();
    for key in keys {
        let b = bank.get(key).copied();
        let l = books.get(key).copied();
        let kind = match (b, l) {
            (Some(b), Some(l)) if b.is_some() && b == l => {
                matched += 1;
                continue;
            }
            (Some(_), Some(_)) => DifferenceKind::AmountMismatch,
            (Some(_), None) => DifferenceKind::MissingInLedger,
            (None, _) => DifferenceKind::MissingInBank,
        };
        differences.push(Difference {
            kind,
            direction: key.0,
            reference: key.1.clone(),
            bank_amount: b.flatten(),
            ledger_amount: l.flatten(),
        });
    }
    (matched, differences)
}

/// Reconciles `account_no`'s statement for `date` against the ledger and keeps the run.
/// `at` is when the run happens (injected time).
pub async fn reconcile(
    conn: &mut PgConnection,
    account_no: &str,
    date: NaiveDate,
    at: DateTime<Utc>,
) -> Result<Report, BankError> {
    let (from, to) = cst_day(date)?;
    // In production the lines come from the bank's feed; the simulator is its stand-in.
    let lines = sim::statement(conn, account_no, date).await?;
    let movements = ledger::escrow_movements(conn, from, to).await?;
    let (matched, differences) = compare(&lines, &movements);
    let json = serde_json::to_value(&differences)
        .map_err(|e| BankError::Corrupt(format!("cannot encode differences: {e}")))?;
    let matched_db =
        i32::try_from(matched).map_err(|_| BankError::Corrupt("too many matched lines".into()))?;
    let run_id: i64 = sqlx::query_scalar(
        "insert into platform.reconciliation_runs (account_no, value_date, matched, differences, at)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(account_no)
    .bind(date)
    .bind(matched_db)
    .bind(json)
    .bind(at)
    .fetch_one(&mut *conn)
    .await?;
    if !differences.is_empty() {
        tracing::warn!(
            account_no,
            %date,
            matched,
            differences = differences.len(),
            "escrow reconciliation found differences"
        );
    }
    Ok(Report {
        run_id,
        account_no: account_no.to_owned(),
        value_date: date,
        matched,
        differences,
        at,
    })
}

/// The kept runs for one account and day, newest first.
pub async fn runs(
    conn: &mut PgConnection,
    account_no: &str,
    date: NaiveDate,
) -> Result<Vec<Report>, BankError> {
    let rows: Vec<(i64, i32, serde_json::Value, DateTime<Utc>)> = sqlx::query_as(
        "select id, matched, differences, at from platform.reconciliation_runs
         where account_no = $1 and value_date = $2 order by at desc, id desc",
    )
    .bind(account_no)
    .bind(date)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(run_id, matched, differences, at)| {
            Ok(Report {
                run_id,
                account_no: account_no.to_owned(),
                value_date: date,
                matched: u32::try_from(matched)
                    .map_err(|_| BankError::Corrupt("negative match count".into()))?,
                differences: serde_json::from_value(differences)
                    .map_err(|e| BankError::Corrupt(format!("unreadable differences: {e}")))?,
                at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{JournalId, JournalKind};

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn line(direction: Direction, reference: &str, amount: &str) -> StatementLine {
        StatementLine {
            id: 1,
            account_no: sim::ESCROW_ACCOUNT_NO.into(),
            value_date: NaiveDate::from_ymd_opt(2026, 10, 12).unwrap(),
            direction,
            amount: m(amount),
            counterparty: sim::TENPAY.into(),
            reference: reference.into(),
            memo: String::new(),
            created_at: Utc::now(),
        }
    }

    fn movement(side: Side, reference: &str, amount: &str) -> EscrowMovement {
        EscrowMovement {
            journal_id: JournalId(1),
            kind: JournalKind::BankSettlement,
            at: Utc::now(),
            reference: reference.into(),
            side,
            amount: m(amount),
        }
    }

    #[test]
    fn a_cst_day_starts_at_16_00_utc_the_day_before() {
        let (from, to) = cst_day(NaiveDate::from_ymd_opt(2026, 10, 12).unwrap()).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-10-11T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-10-12T16:00:00+00:00");
    }

    #[test]
    fn matching_lines_by_direction_reference_and_amount() {
        let lines = [
            line(Direction::Credit, "S1", "100.00"),
            line(Direction::Debit, "P1", "40.00"),
            line(Direction::Debit, "P2", "10.00"),
            line(Direction::Credit, "X9", "5.00"),
        ];
        let books = [
            movement(Side::Debit, "S1", "100.00"),
            movement(Side::Credit, "P1", "40.00"),
            movement(Side::Credit, "P2", "10.01"),
            movement(Side::Credit, "P3", "7.00"),
            // Same reference, other direction: not a match.
            movement(Side::Debit, "P1", "40.00"),
        ];
        let (matched, diffs) = compare(&lines, &books);
        assert_eq!(matched, 2);
        let kinds: Vec<(DifferenceKind, Direction, &str)> = diffs
            .iter()
            .map(|d| (d.kind, d.direction, d.reference.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (DifferenceKind::MissingInBank, Direction::Credit, "P1"),
                (DifferenceKind::MissingInLedger, Direction::Credit, "X9"),
                (DifferenceKind::AmountMismatch, Direction::Debit, "P2"),
                (DifferenceKind::MissingInBank, Direction::Debit, "P3"),
            ]
        );
        assert_eq!(diffs[2].bank_amount, Some(m("10.00")));
        assert_eq!(diffs[2].ledger_amount, Some(m("10.01")));
    }

    #[test]
    fn an_empty_day_is_clean() {
        assert_eq!(compare(&[], &[]), (0, vec![]));
    }
}
