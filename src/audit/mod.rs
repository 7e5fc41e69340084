//! The append-only, tamper-evident audit trail (issue #3 item 6; R-X04, 等保 2.0 安全审计).
//!
//! Records logins, lockouts, permission denials, role changes and every change to personal
//! data or money in `platform.audit_log` (migration `0003_audit_log.sql`).
//!
//! Two layers of protection:
//! - **append-only in the product**: triggers refuse `UPDATE`, `DELETE` and `TRUNCATE` on
//!   the table for everybody, the owner included, and the app roles are granted `INSERT`
//!   only ([`APP_GRANTS`]);
//! - **tamper-evident outside it**: every record carries
//!   `HMAC-SHA256(key, previous MAC || canonical bytes of the record)`. The key lives in the
//!   application's configuration, never in the database, so a DBA who disables the triggers
//!   and edits, deletes or re-orders records cannot produce MACs that [`verify`] accepts.
//!
//! Writers serialise on the single row of `platform.audit_head` (the newest id and MAC), so
//! the chain stays linear however many requests append at once.
//!
//! Which entry point to use:
//! - [`append`] inside the transaction that makes a change to personal data or money: the
//!   record commits or rolls back with the change;
//! - [`append_standalone`] for failed logins, lockouts and denials, which must be kept even
//!   when the request's own transaction rolls back.
//!
//! Never put clear personal data (identity numbers, phone numbers) into an event: the trail
//! is kept for good and exported to CSV. Use ids and masked values.

mod chain;
mod csv;
mod error;
mod event;
mod key;
mod search;

pub use chain::{append, append_standalone, verify, VerifyReport, GENESIS_MAC};
pub use csv::to_csv;
pub use error::AuditError;
pub use event::{AuditEvent, AuditRecord, Outcome};
pub use key::AuditKey;
pub use search::{search, AuditFilter, DEFAULT_LIMIT, MAX_LIMIT};

/// Privileges the request roles need on the trail, for the role bootstrap to run as the
/// owner after migrations. Replace `{app}` with the quoted app login role and `{group}` with
/// the quoted tenant group role (`crate::db::ident(&roles.app())` etc.).
///
/// - `{app}` (platform code, sign-in, operators' audit screens) appends, searches and
///   verifies: `SELECT, INSERT` on the log, `SELECT, UPDATE` on the head.
/// - `{group}` (code running as a tenant role) only appends: `INSERT` on the log but no
///   `SELECT`, so one school cannot read another's records; `SELECT, UPDATE` on the head
///   because `SELECT ... FOR UPDATE` needs both.
/// - Both need `USAGE` on the identity sequence: `append` draws the id with `nextval`
///   before inserting, because the id is part of the MAC and the row cannot be updated.
///
/// Deliberately no `UPDATE`, `DELETE` or `TRUNCATE` on the log, nor `DELETE` on the head;
/// the triggers refuse those even to the owner.
pub const APP_GRANTS: &str = "\
grant select, insert on platform.audit_log to {app};
grant insert on platform.audit_log to {group};
grant select, update on platform.audit_head to {app}, {group};
grant usage on sequence platform.audit_log_id_seq to {app}, {group};
";
