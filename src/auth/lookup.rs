//! What other features may read of `auth`'s rows: the read-only face of its repo. Only
//! `auth` writes its tables (docs/architecture.md, rule 2); a feature that needs more than
//! these asks `auth` for a new entry here, never for its repo.

pub use super::repo::{account_by_phone_hash, consents};
