//! The rules of a school's organisation and calendar: grades, classes and the yearly
//! promotion (R-S02), venues, periods, terms and their exception days (R-S05), and the
//! lists and calendar views read from them. One file per area; this one holds what their
//! changes share (the audit record and the change list it carries).
//!
//! Each change checks its rules before it writes, maps the constraint violations it
//! expects to a [`SchoolError`] by constraint name, and records itself with
//! [`TenantTx::audit`] last, inside the caller's transaction. Must never commit (the
//! handler does, so a refused request leaves nothing behind), and never name HTTP.

mod grades_classes;
mod periods;
mod promotion;
mod terms;
mod venues;

use serde_json::{json, Map, Value};

pub use grades_classes::{
    create_class, create_grade, delete_class, delete_grade, grades_with_classes, update_class,
    update_grade,
};
pub use periods::{create_period, delete_period, periods, update_period};
pub use promotion::promote;
pub use terms::{calendar, create_term, delete_day, set_day, term_calendar, update_term};
pub use venues::{create_venue, delete_venue, update_venue, venues};

use super::error::SchoolError;
use crate::audit::{AuditEvent, Outcome};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;

/// A field a patch may leave out, checked by `parse` when it was sent.
fn sent<V: ?Sized, T>(
    value: Option<&V>,
    parse: impl FnOnce(&V) -> Result<T, SchoolError>,
) -> Result<Option<T>, SchoolError> {
    value.map(parse).transpose()
}

/// Adds `{field: {from, to}}` to `out` when the value changed.
fn note_change<T: serde::Serialize + PartialEq + ?Sized>(
    out: &mut Map<String, Value>,
    field: &str,
    from: &T,
    to: &T,
) {
    if from != to {
        out.insert(field.into(), json!({ "from": from, "to": to }));
    }
}

/// The audit record of a successful change, in the change's transaction.
async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    object: String,
    details: Value,
) -> Result<(), SchoolError> {
    let ev = AuditEvent::new(action, object, Outcome::Success).details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}
