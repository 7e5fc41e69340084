//! After-school courses (F2; R-S06): custody (托管, priced per served day) and training
//! (培训, priced per course) offerings of a school, series courses with their sub-items, the
//! draft → published → closed life cycle, pictures, and the seat counter each course gets.
//!
//! Owns the only code that writes `courses`, `course_teachers` and the capacity of
//! `course_seats`; bookings (`enrollments`, `course_seats.taken`) belong to the enrollment
//! module, which reads courses through [`repo::course_for_booking`] and [`repo::sub_items`].
//! Must never read another tenant's schema or objects: every query runs in a
//! [`crate::kernel::tx::TenantTx`] and every picture key carries the tenant's prefix.

pub mod api;
pub mod error;
pub mod feature;
pub mod lookup;
pub mod model;
pub mod pages;
pub mod perms;
pub mod push;
pub mod repo;
pub mod sample;
pub mod service;
mod validate;
