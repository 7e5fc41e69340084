//! Accounts and role grants other features make: people gives each guardian a parent
//! account in the school, and takes the homeroom role back from a teacher who no longer
//! has a class. They run on the caller's connection outside the tenant role, inside the
//! caller's transaction, so the grant commits or rolls back with the change that causes
//! it. Only `auth` writes accounts and roles (docs/architecture.md, rule 2).

use sqlx::PgConnection;

use super::model::Role;
use super::repo;

/// Finds or creates the account of each guardian phone (SMS sign-in only: no password)
/// and grants it the parent role in the tenant; returns (phone_hash, account id).
pub use super::repo::ensure_parent_accounts;

/// Withdraws the homeroom teacher role in `tenant_id` from the account with this phone
/// hash (none: nothing happens).
pub async fn revoke_homeroom(
    c: &mut PgConnection,
    phone_hash: &[u8],
    tenant_id: i64,
) -> sqlx::Result<()> {
    repo::revoke_role_by_phone(c, phone_hash, Role::HomeroomTeacher, tenant_id).await
}
