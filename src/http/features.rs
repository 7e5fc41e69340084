//! The features of the platform, listed once. Everything a feature adds to the running
//! server (route permissions, pages, the school console's menu, background jobs) is read
//! from here; only the API tuple in `http/mod.rs` is listed apart, because poem-openapi
//! needs it as one static type.

use crate::web::feature::{Feature, SchoolMenu};

pub static FEATURES: &[&dyn Feature] = &[
    &crate::tenancy::feature::Tenancy,
    &crate::auth::feature::Auth,
    &crate::school::feature::School,
    &crate::people::feature::People,
    &crate::courses::feature::Courses,
    &crate::enrollment::feature::Enrollment,
    &crate::payments::feature::Payments,
    &crate::outbox::feature::Outbox,
    &crate::supervision::feature::Supervision,
    &crate::notify::feature::Notify,
    &crate::meals::feature::Meals,
    &crate::notices::feature::Notices,
    &crate::attendance::feature::Attendance,
    &crate::evaluations::feature::Evaluations,
];

/// The school console's menu from every feature's entries.
pub fn school_menu() -> SchoolMenu {
    SchoolMenu::of(FEATURES)
}

/// Every feature's outbox handlers, for the worker.
pub fn outbox_handlers() -> Vec<&'static crate::outbox::Handler> {
    FEATURES.iter().flat_map(|f| f.handlers().iter()).collect()
}
