//! Row scope: which students the caller may see. Enrollment scopes its lists and counts
//! with it too (through `people::service::scope`), so a homeroom teacher sees the same
//! children everywhere. Must never widen a scope: no write permission, no whole school.

use crate::auth::model::{AuthContext, Domain};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::repo;

/// Which students the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// School admins and inspectors with the write permission: the whole school.
    All,
    /// A homeroom teacher: the active classes they lead.
    Classes(Vec<i64>),
}

impl Scope {
    /// The classes of the scope; `None` for the whole school.
    pub fn classes(&self) -> Option<&[i64]> {
        match self {
            Scope::All => None,
            Scope::Classes(ids) => Some(ids.as_slice()),
        }
    }

    /// Whether a class is in the scope.
    pub fn covers(&self, class_id: i64) -> bool {
        match self {
            Scope::All => true,
            Scope::Classes(ids) => ids.contains(&class_id),
        }
    }
}

pub async fn scope(st: &Ctx, auth: &AuthContext, tx: &mut TenantTx) -> Result<Scope, PeopleError> {
    let roles = auth.roles_in_tenant(tx.tenant().id);
    if st
        .authz
        .any_allows(&roles, Domain::School, "school.people", "write")
    {
        return Ok(Scope::All);
    }
    let hash = caller_phone_hash(tx, auth.account_id).await?;
    Ok(Scope::Classes(
        repo::homeroom_classes(tx.conn(), &hash).await?,
    ))
}

/// The signed-in account's phone hash: staff and guardians are matched to accounts by
/// equal hashes, and the account row is platform data.
pub(crate) async fn caller_phone_hash(
    tx: &mut TenantTx,
    account_id: i64,
) -> Result<Vec<u8>, PeopleError> {
    tx.leave_role().await?;
    let h = repo::account_phone_hash(tx.conn(), account_id).await?;
    tx.enter_role().await?;
    h.ok_or(PeopleError::AccountMissing(account_id))
}
