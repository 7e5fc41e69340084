//! Meals (issue #16; R-S07, R-S05's meal rules, R-P07, R-P11, R-P12): a school publishes
//! meal items and packages with their menus and rules; a parent orders a period's meals for
//! a child and pays through the payments feature; the escrow releases each served day.
//!
//! Owns the tenant tables of `tenant/school/0006_meals.sql`. Payments reaches meals only
//! through [`paid`]; meals never imports payments (that would make a circle).
//!
//! Must never: charge for a day the canteen does not serve, let one child hold two orders of
//! one meal kind in a period, or exceed an item's daily capacity, whatever the concurrency.

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod paid;
pub mod periods;
pub mod perms;
pub mod repo;
pub mod service;
pub mod sweep;
