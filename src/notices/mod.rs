//! Notices (issue #17; R-P01, R-T01): picture-and-text notices from the school to the
//! parents of the whole school, some grades or some classes. A school admin sends to any of
//! these, a homeroom teacher only to the classes they lead. A draft is written and given its
//! pictures, then published: the parents of the children in scope are messaged once each,
//! read it on the phone, and the sender sees who has read it and who has not. A published
//! notice can be edited (readers see that it was) and withdrawn.
//!
//! Owns the tenant tables of `tenant/school/0009_notices.sql`; reads the school's classes,
//! students and guardians to find the audience.
//!
//! Must never: show a notice to a parent none of whose children is in its scope, let a
//! homeroom teacher address a class they do not lead, or message a parent twice for one
//! notice.

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod perms;
pub mod repo;
pub mod service;
