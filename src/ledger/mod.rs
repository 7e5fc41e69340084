//! The escrow ledger (存管, R-X02; issue #6 item 4): a double-entry, append-only ledger in
//! `platform` that traces each yuan from the payer through the order line to the payee.
//!
//! Owns [`Money`], the accounts, the postings and their rules, and the tables
//! `platform.ledger_journals`, `platform.ledger_entries` and `platform.ledger_lines`
//! (migration `0006_ledger.sql`).
//!
//! ## Accounts
//! | code | meaning |
//! | --- | --- |
//! | `wxpay:clearing` | money WeChat Pay holds for us before it settles to the bank |
//! | `bank:escrow` | the escrow account at the custodian bank |
//! | `held:<tenant_id>` | paid, not yet released to the payee; entries carry the line |
//! | `payable:<tenant_id>` | released, owed to the school or agency |
//! | `refund:clearing` | refund reserved from a line, not yet returned; entries carry the line |
//!
//! ## Postings (each one journal, balanced, idempotent on its reference)
//! | posting | debit | credit |
//! | --- | --- | --- |
//! | [`record_payment`] | `wxpay:clearing` | `held:<t>` (per line) |
//! | [`release`], [`release_lesson`], [`release_day`] | `held:<t>` | `payable:<t>` |
//! | [`reserve_refund`] | `held:<t>` | `refund:clearing` |
//! | [`settle_refund`] | `refund:clearing` | `wxpay:clearing` |
//! | [`cancel_refund`] | `refund:clearing` | `held:<t>` |
//! | [`settle_to_bank`] | `bank:escrow` | `wxpay:clearing` |
//! | [`fund_refunds`] | `wxpay:clearing` | `bank:escrow` |
//! | [`payout`] | `payable:<t>` | `bank:escrow` |
//!
//! Releases and refunds take only a line's unreleased part (`held`); per line, always
//! `paid = released + refund_reserved + refunded + held`.
//!
//! ## Guarantees
//! - The database refuses an unbalanced journal at commit (a deferred constraint trigger)
//!   and any `UPDATE`, `DELETE` or `TRUNCATE` of journals and entries, the owner included.
//! - Entries are the source of truth; `ledger_lines` is a running balance, locked by every
//!   posting on the line so concurrent postings serialise, and [`verify_balances`]
//!   recomputes it from the entries.
//! - The arithmetic lives in [`rules`], pure and property-tested; the service validates
//!   with it before writing anything.
//!
//! Must never: hold money as a float or a signed amount, edit or delete a posted entry (a
//! mistake is corrected by a new posting), post without the line or account lock that
//! guards the balance it draws on, or read another tenant's schema (everything here is in
//! `platform`). Time comes in as `at`; nothing here reads the clock.

mod error;
pub mod model;
pub mod money;
mod repo;
pub mod rules;
mod service;

pub use error::LedgerError;
pub use model::{
    Account, AccountBalance, BalanceReport, Entry, EntryDraft, EscrowMovement, Journal, JournalId,
    JournalKind, LineAmounts, LineDifference, LineId, LineState, LineStatement, OrderId, Posting,
    ReleaseUnit, Side, StatementTotals, TenantId, TenantStatement,
};
pub use money::{Money, MoneyError};
pub use service::{
    account_balance, cancel_refund, escrow_movements, fund_refunds, journal, line_balance,
    line_balances, payout, push_escrow_history, record_payment, release, release_day,
    release_lesson, released_days, reserve_refund, settle_refund, settle_to_bank, tenant_statement,
    verify_balances,
};

/// Privileges the app role needs on the ledger and on the bank simulator's tables (both
/// created by `0006_ledger.sql`), for the role bootstrap to run as the owner after
/// migrations. Replace `{app}` with the quoted app login role.
///
/// - Journals, entries and reconciliation runs: `SELECT` and `INSERT` only; the triggers
///   refuse updates and deletes to everybody anyway.
/// - `ledger_lines`: `UPDATE` as well (the running balance), never `DELETE`.
/// - `bank_statement_lines` is the simulated bank's own book: the simulator's fault
///   injection edits and removes lines, so it gets `UPDATE` and `DELETE`.
///
/// The tenant group role gets nothing: tenant code reaches money only through platform
/// services.
pub const APP_GRANTS: &str = "\
grant select, insert on platform.ledger_journals, platform.ledger_entries to {app};
grant select, insert, update on platform.ledger_lines to {app};
grant select, insert on platform.reconciliation_runs to {app};
grant select, insert, update, delete on platform.bank_statement_lines to {app};
grant usage on sequence platform.ledger_journals_id_seq, platform.ledger_entries_id_seq, \
platform.reconciliation_runs_id_seq, platform.bank_statement_lines_id_seq to {app};
";
