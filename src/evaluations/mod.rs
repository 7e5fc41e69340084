//! Course evaluations (issue #17; R-P15, F6): a parent rates a course their child attends
//! (a confirmed place), 1 to 5 with a text, once per course, child and term, and may edit
//! it; school admins see each course's and each teacher's scores and comments. Every
//! evaluation, new or edited, goes to the city supervision push as F6 in its transaction.
//!
//! Owns `tenant/school/0011_evaluations.sql`; reads courses, their teachers, enrollments
//! and guardians.
//!
//! Must never: take an evaluation of a course the child does not attend, or from an account
//! that is not the child's guardian; let a parent see another family's evaluation.

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod service;
