//! Enrollment (issue #5): parents browse what their child may book, book with a clash
//! check, hold a place until payment, and see timetable and records.
//!
//! Owns the only code that changes `enrollments` and `course_seats.taken`. Capacity is
//! kept by one guarded update per seat, never by counting rows.

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod paid;
pub mod perms;
pub mod push;
pub mod refunds;
pub mod repo;
pub mod requests;
pub mod seats;
pub mod service;
pub mod staff;
pub mod staff_api;
pub mod waitlist;
