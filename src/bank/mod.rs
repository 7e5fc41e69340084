//! The custodian bank (存管银行) side of escrow (issue #6 items 4 and 6, R-X02): a
//! protocol-simple simulator of the bank's escrow account and its statement, and the daily
//! reconciliation of that statement against the ledger.
//!
//! Owns `platform.bank_statement_lines` (the simulated bank's books, [`sim`]) and
//! `platform.reconciliation_runs` ([`reconcile`]), both created by `0006_ledger.sql` and
//! granted through [`crate::ledger::APP_GRANTS`].
//!
//! The real bank is an outside party the platform cannot reach from development or CI; the
//! simulator is the embedded default, like the WeChat Pay simulator, and a production
//! configuration must never point at it. The JSON fund-flow feed endpoint belongs to the
//! HTTP layer, which calls [`sim::statement_feed`].
//!
//! Must never: post to the ledger on the bank's behalf (the simulator books only its own
//! statement), or "fix" a difference found by reconciliation — it is reported and kept.

pub mod error;
pub mod model;
pub mod reconcile;
pub mod sim;

pub use error::BankError;
pub use model::{Difference, DifferenceKind, Direction, Report, StatementFeed, StatementLine};
pub use reconcile::reconcile;
