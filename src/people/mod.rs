//! A school's people (R-S03, R-S04; fields F3 and F4): departments, staff, students and
//! their guardians, homeroom teachers, and the bulk import of all of them.
//!
//! Owns the only code that writes those tables. Clear ID numbers and phones exist only in
//! memory while a record is validated and encrypted, and in the audited reveal answers;
//! everything stored or listed is ciphertext, a keyed hash or the masked form.
//! Must never read another tenant's schema: every query runs in a [`crate::kernel::tx::TenantTx`].

pub mod api;
pub mod error;
pub mod feature;
pub mod graduation;
pub mod import;
pub mod import_api;
pub mod lookup;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod sample;
pub mod service;
