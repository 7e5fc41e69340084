//! The append-only, tamper-evident audit trail (issue #3 item 6; R-X04, 等保 2.0 安全审计).
//!
//! Records logins, lockouts, permission denials, role changes and every change to personal
//! data or money in `platform.audit_log` (migration `0003_audit_log.sql`).
//!
//! Two layers of protection:
//! - **append-only in the product**: triggers refuse `UPDATE`, `DELETE` and `TRUNCATE` on
//!   the table for everybody, the owner included, and the app roles are granted `INSERT`
//!   only ([`APP_GRANTS`]);
//! - **tamper-evident outside it**: every record is chained,
//!   `mac = HMAC-SHA256(key, previous mac || canonical bytes of the record)`, and carries a
//!   row MAC its writer computed with the same key. The key lives in the application's
//!   configuration, never in the database, so a DBA who disables the triggers and edits,
//!   inserts, deletes or re-orders records cannot produce MACs that [`verify`] accepts.
//!
//! Writing never waits for other writers: [`append`] is one `INSERT`, and a trigger queues
//! the record in `platform.audit_pending` in the same transaction. The chain is built after
//! commit by [`seal`] (every server runs [`run_sealer`]; `verify` seals first), one batch
//! at a time under the single row of `platform.audit_head`, so it stays linear however
//! many requests append at once (migration `0004_audit_seal.sql` says why: a head locked
//! until each writer's commit capped the platform near 170 audited changes a second).
//! A record is unsealed for about a second; in that window its row MAC still exposes an
//! edit, and its queue entry a removal of the record alone.
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
pub mod labels;
mod search;

pub use chain::{append, append_standalone, run_sealer, seal, verify, VerifyReport, GENESIS_MAC};
pub use csv::to_csv;
pub use error::AuditError;
pub use event::{AuditEvent, AuditRecord, Outcome};
pub use key::AuditKey;
pub use search::{search, AuditFilter, DEFAULT_LIMIT, MAX_LIMIT};

/// Privileges the request roles need on the trail, for the role bootstrap to run as the
/// owner after migrations. Replace `{app}` with the quoted app login role and `{group}` with
/// the quoted tenant group role (`crate::db::ident(&roles.app())` etc.).
///
/// - `{app}` (platform code, sign-in, operators' audit screens, the sealer) appends,
///   searches, seals and verifies.
/// - `{group}` (code running as a tenant role) only appends: `INSERT` on the log and the
///   queue (the enqueue trigger runs with the writer's rights) and `SELECT` on the `id`
///   column alone, which `RETURNING id` needs; no other column, so one school cannot read
///   another's records.
/// - Both need `USAGE` on the identity sequence.
///
/// Deliberately no `UPDATE`, `DELETE` or `TRUNCATE` on the log or the seals, nor `DELETE` on
/// the head; the triggers refuse those even to the owner. Only the sealer dequeues.
pub const APP_GRANTS: &str = "\
grant select, insert on platform.audit_log to {app};
grant insert on platform.audit_log to {group};
grant select (id) on platform.audit_log to {group};
grant select, insert on platform.audit_seal to {app};
grant select, insert, delete on platform.audit_pending to {app};
grant insert on platform.audit_pending to {group};
grant select, update on platform.audit_head to {app};
grant usage on sequence platform.audit_log_id_seq to {app}, {group};
";
