//! What other features may read of `people`'s rows: the read-only face of its repo. Only
//! `people` writes its tables (docs/architecture.md, rule 2); a feature that needs more than
//! these asks `people` for a new entry here, never for its repo.

pub use super::model::StaffStatus;
pub use super::repo::staff;
pub use super::service::{student_facts, teacher_facts, StudentFacts, TeacherFacts};
