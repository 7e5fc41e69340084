//! What other features may read of `tenancy`'s rows: the read-only face of its repo. Only
//! `tenancy` writes its tables (docs/architecture.md, rule 2); a feature that needs more than
//! these asks `tenancy` for a new entry here, never for its repo.

pub use super::repo::{find_by_code, find_by_id, list};

use super::model::TenantContext;

/// Every active (not suspended) school, ready to open a transaction in: what the sweepers
/// go over.
pub async fn active_schools(db: &sqlx::PgPool) -> sqlx::Result<Vec<TenantContext>> {
    Ok(list(db)
        .await?
        .iter()
        .filter(|r| r.is_school() && !r.is_suspended())
        .filter_map(TenantContext::from_record)
        .collect())
}
