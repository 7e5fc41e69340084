//! What other features may read of `courses`'s rows: the read-only face of its repo. Only
//! `courses` writes its tables (docs/architecture.md, rule 2); a feature that needs more than
//! these asks `courses` for a new entry here, never for its repo.

pub use super::repo::{course_for_booking, course_with_items, sub_items, CourseRow};
