//! The school day's attendance (issue #17; R-T05, R-T06, R-P09): a teacher checks in to a
//! session of a course they teach with one tap, within a window around its start (late
//! after it), optionally with the phone's location checked against the school's; then marks
//! each child of the session present, late, absent, left early or on leave. Parents are
//! messaged once per mark; an absence without leave is also flagged to the homeroom
//! teacher. The admin sees the day's sessions with the ones nobody checked in to.
//!
//! A session is a course on one day. It is **delivered** when one of its teachers checked
//! in: the escrow's day close releases a lesson's money for delivered sessions only
//! ([`delivered`]).
//!
//! Owns the tenant tables of `tenant/school/0010_attendance.sql`; reads courses, their
//! teachers, enrollments, students and guardians.
//!
//! Must never: let a teacher check in for a session they do not teach, outside its window
//! or twice; mark a child who is not in the session; message a parent twice for one mark.

pub mod api;
pub mod error;
pub mod feature;
pub mod inspections;
pub mod lessons;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod service;
pub mod whereabouts;

pub use service::delivered;
