//! Types of the bank simulator's statement and of reconciliation reports.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ledger::Money;

/// The direction of a statement line, from the account holder's side: a credit brings
/// money into the escrow account, a debit takes it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Credit,
    Debit,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Credit => "credit",
            Direction::Debit => "debit",
        }
    }

    pub fn parse(s: &str) -> Option<Direction> {
        match s {
            "credit" => Some(Direction::Credit),
            "debit" => Some(Direction::Debit),
            _ => None,
        }
    }
}

/// One line of the bank's statement (`platform.bank_statement_lines`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementLine {
    pub id: i64,
    pub account_no: String,
    /// The booking day at the bank (Asia/Shanghai).
    pub value_date: NaiveDate,
    pub direction: Direction,
    pub amount: Money,
    pub counterparty: String,
    /// The bank's reference, which the ledger's bank postings carry as their reference.
    pub reference: String,
    pub memo: String,
    pub created_at: DateTime<Utc>,
}

/// A day's statement of one account, as the bank's fund-flow feed delivers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementFeed {
    pub account_no: String,
    pub value_date: NaiveDate,
    pub total_credit: Money,
    pub total_debit: Money,
    pub lines: Vec<StatementLine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DifferenceKind {
    /// On the bank's statement, no ledger journal with that reference and direction.
    MissingInLedger,
    /// A ledger journal on `bank:escrow` that the bank's statement does not show.
    MissingInBank,
    /// Both sides know the reference, with different amounts.
    AmountMismatch,
}

/// One disagreement between the statement and the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    pub kind: DifferenceKind,
    pub direction: Direction,
    pub reference: String,
    pub bank_amount: Option<Money>,
    pub ledger_amount: Option<Money>,
}

/// The result of reconciling one account's statement for one day against the ledger;
/// persisted in `platform.reconciliation_runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub run_id: i64,
    pub account_no: String,
    pub value_date: NaiveDate,
    pub matched: u32,
    pub differences: Vec<Difference>,
    pub at: DateTime<Utc>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.differences.is_empty()
    }
}
