//! Homeroom teachers and staff roles: making a staff member the homeroom teacher (班主任)
//! of a class, with the homeroom_teacher role on their account, clearing it, and granting
//! staff the other school roles through auth's one audited grant path.
//!
//! Must never leave a homeroom_teacher role on an account that leads no class.

use serde_json::json;

use super::{audit, decrypt, PHONE_DOMAIN, STAFF_PHONE};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::error::AuthError;
use crate::auth::model::{AuthContext, Role};
use crate::auth::roles;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::repo;
use crate::pii::Phone;

/// Clear phone and name of an active staff member, for granting them a role.
async fn staff_contact(
    st: &Ctx,
    tx: &mut TenantTx,
    id: i64,
) -> Result<(String, Phone), PeopleError> {
    let (name, _, ph_enc) = repo::staff_secret(tx.conn(), id)
        .await?
        .ok_or(PeopleError::StaffNotFound(id))?;
    let clear = decrypt(st, tx, STAFF_PHONE, &ph_enc)?;
    let phone = Phone::parse(&clear).map_err(|source| PeopleError::Unreadable {
        column: STAFF_PHONE,
        source,
    })?;
    Ok((name, phone))
}

/// Makes a staff member the homeroom teacher (班主任) of a class: the class row, and the
/// homeroom_teacher role on the staff member's account (found or created by phone), in one
/// transaction. The previous homeroom teacher loses the role when they lead no class.
pub async fn set_homeroom(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    class_id: i64,
    staff_id: i64,
) -> Result<(), PeopleError> {
    if !repo::class_is_active(tx.conn(), class_id).await? {
        return Err(PeopleError::ClassNotFound(class_id));
    }
    let (name, phone) = staff_contact(st, tx, staff_id).await?;
    let prev = repo::set_homeroom(tx.conn(), class_id, staff_id).await?;
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let granted = roles::grant(
        tx.conn(),
        &st.keys,
        &phone,
        &name,
        None,
        Role::HomeroomTeacher,
        Some(tenant_id),
        Some(auth.account_id),
    )
    .await;
    let account = match granted {
        Ok((_, account, _)) => Some(account),
        Err(AuthError::AlreadyAssigned) => None,
        Err(e) => return Err(e.into()),
    };
    tx.enter_role().await?;
    if let Some(a) = account {
        repo::set_staff_account(tx.conn(), staff_id, a).await?;
    }
    if let Some(p) = prev.filter(|p| *p != staff_id) {
        release_homeroom_role(st, tx, p).await?;
    }
    audit(
        st,
        auth,
        tx,
        AuditEvent::new(
            "people.homeroom.set",
            format!("class:{class_id}"),
            Outcome::Success,
        )
        .details(json!({ "staff_id": staff_id, "previous": prev })),
    )
    .await
}

pub async fn clear_homeroom(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    class_id: i64,
) -> Result<(), PeopleError> {
    let Some(prev) = repo::clear_homeroom(tx.conn(), class_id).await? else {
        return Err(PeopleError::NoHomeroom(class_id));
    };
    release_homeroom_role(st, tx, prev).await?;
    audit(
        st,
        auth,
        tx,
        AuditEvent::new(
            "people.homeroom.clear",
            format!("class:{class_id}"),
            Outcome::Success,
        )
        .details(json!({ "previous": prev })),
    )
    .await
}

/// Withdraws the homeroom_teacher role from a staff member who leads no class any more.
async fn release_homeroom_role(
    st: &Ctx,
    tx: &mut TenantTx,
    staff_id: i64,
) -> Result<(), PeopleError> {
    if repo::homeroom_count(tx.conn(), staff_id).await? > 0 {
        return Ok(());
    }
    let (_, phone) = staff_contact(st, tx, staff_id).await?;
    let hash = st.keys.pii.blind_index(PHONE_DOMAIN, phone.as_str());
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    crate::auth::grants::revoke_homeroom(tx.conn(), &hash, tenant_id).await?;
    tx.enter_role().await?;
    Ok(())
}

/// Grants a staff member a school role (teacher, inspector, school admin) through the one
/// audited grant path; returns (assignment id, initial password for a new admin account).
pub async fn grant_staff_role(
    st: &Ctx,
    auth: &AuthContext,
    tx: TenantTx,
    staff_id: i64,
    role: Role,
) -> Result<(i64, Option<String>), PeopleError> {
    if !matches!(role, Role::Teacher | Role::Inspector | Role::SchoolAdmin) {
        return Err(PeopleError::RoleNotAssignable(role));
    }
    let mut tx = tx;
    let (name, phone) = staff_contact(st, &mut tx, staff_id).await?;
    let tenant = tx.tenant().clone();
    tx.commit().await?;
    Ok(roles::assign_in_tenant(st, auth, &tenant, phone.as_str(), &name, role).await?)
}
