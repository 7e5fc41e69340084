//! What other features may read of `school`'s rows: the read-only face of its repo. Only
//! `school` writes its tables (docs/architecture.md, rule 2); a feature that needs more than
//! these asks `school` for a new entry here, never for its repo.

pub use super::repo::{grades, period, periods, term_by_code, terms, venue, venues};
