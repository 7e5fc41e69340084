//! A school's organisation and base configuration: grades, classes with aliases (R-S02),
//! venues, periods and the term calendar (R-S05).
//!
//! Must never read another tenant's schema: every query runs in a [`crate::kernel::tx::TenantTx`].

pub mod api;
pub mod calendar;
pub mod config_api;
pub mod error;
pub mod feature;
pub mod lookup;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod service;
