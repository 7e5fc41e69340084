//! The rules of meals: the catalogue (items, packages, menus), the school's meal rules and
//! excluded days, and ordering (offers, orders, records, the week). One file per area; this
//! one holds what they share: the serving calendar and the audit record.
//!
//! Each change checks its rules before it writes and records itself with
//! [`TenantTx::audit`] last, inside the caller's transaction. Must never commit (the handler
//! does, so a refused request leaves nothing behind), and never name HTTP.

mod canteen;
mod catalogue;
mod ordering;
pub(crate) mod refunds;
mod rules;
mod stats;
mod stops;

pub use canteen::{counts, counts_file};
pub use catalogue::{
    add_item, add_package, item_view, items, menu_picture, menu_week, package_view, packages,
    set_item_status, set_menu, set_menu_picture, set_package_status, update_item, update_package,
    PictureUpload,
};
pub use ordering::{allergies, cancel, offer, order, period_label, records, set_allergies, week};
pub use refunds::overview as refund_overview;
pub use rules::{add_excluded_day, remove_excluded_day, rules_view, update_rules};
pub use stats::{payments as payment_stats, remind};
pub use stops::{
    decide as decide_stop, file as file_stop, list as stops, of_child as child_stops, stop_view,
    withdraw as withdraw_stop,
};

use serde_json::Value;

use super::error::MealError;
use super::model::{Allergen, Allergies};
use super::periods::{Rules, ServingCalendar};
use super::repo;
use crate::audit::{AuditEvent, Outcome};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;

/// The audit record of a successful change, in the change's transaction.
async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    object: String,
    details: Value,
) -> Result<(), MealError> {
    let ev = AuditEvent::new(action, object, Outcome::Success).details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

/// The terms' calendars and the canteen's excluded days, as stored now.
pub async fn serving_calendar(tx: &mut TenantTx) -> Result<ServingCalendar, MealError> {
    let mut terms = Vec::new();
    for t in crate::school::lookup::terms(tx.conn()).await? {
        let cal = crate::school::service::term_calendar(tx, &t).await?;
        terms.push((t.id, t.name.clone(), cal));
    }
    let excluded = repo::excluded_days(tx.conn()).await?.into_iter().collect();
    Ok(ServingCalendar { terms, excluded })
}

/// The rules and the serving calendar together.
async fn rules_and_calendar(tx: &mut TenantTx) -> Result<(Rules, ServingCalendar), MealError> {
    let rules = repo::rules(tx.conn()).await?;
    Ok((rules, serving_calendar(tx).await?))
}

fn allergies_aad(student: i64) -> Vec<u8> {
    format!("student_allergies:{student}").into_bytes()
}

/// A child's sealed allergies, opened.
fn read_sealed_allergies(
    who: &Actor<'_>,
    student: i64,
    sealed: &[u8],
) -> Result<Allergies, MealError> {
    let broken = |e: String| MealError::Invariant(format!("allergies of {student}: {e}"));
    let clear = who
        .st
        .keys
        .pii
        .decrypt_str(sealed, &allergies_aad(student))
        .map_err(|e| broken(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_str(&clear).map_err(|e| broken(e.to_string()))?;
    Ok(Allergies {
        allergens: v["allergens"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().and_then(Allergen::parse))
                    .collect()
            })
            .unwrap_or_default(),
        note: v["note"].as_str().unwrap_or_default().to_string(),
    })
}
