//! Who holds which role: school and agency admins assign and revoke roles in their own
//! tenant; the system administrator creates bureau and school-admin accounts; the security
//! administrator hands out the operator roles, which no account may combine (三员分立: the
//! one who acts is never the one who reads the trail). Every change is audited in the same
//! transaction.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::error::AuthError;
use super::model::{AuthContext, Domain, Role};
use super::service::{parse_phone, phone_hash, PHONE_AAD};
use super::{password, repo};
use crate::audit::{self, AuditEvent, Outcome};
use crate::kernel::ctx::Ctx;
use crate::keys::Keys;
use crate::pii::Phone;
use crate::tenancy::lookup as registry;
use crate::tenancy::model::TenantContext;

#[derive(Debug, Clone, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RoleAssignmentView {
    pub id: i64,
    pub account_id: i64,
    pub display_name: String,
    /// 脱敏手机号，如 138****5678
    pub phone_masked: String,
    pub role: Role,
    /// 角色中文名
    pub role_label: String,
    pub created_at: DateTime<Utc>,
}

fn view(keys: &Keys, r: repo::AssignmentRow) -> Option<RoleAssignmentView> {
    let role = Role::parse(&r.role)?;
    let phone_masked = keys
        .pii
        .decrypt_str(&r.phone_enc, PHONE_AAD)
        .ok()
        .and_then(|p| Phone::parse(&p).ok())
        .map(|p| p.masked())
        .unwrap_or_else(|| "***".into());
    Some(RoleAssignmentView {
        id: r.id,
        account_id: r.account_id,
        display_name: r.display_name,
        phone_masked,
        role,
        role_label: role.label().into(),
        created_at: r.created_at,
    })
}

fn check_name(name: &str) -> Result<String, AuthError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 50 {
        return Err(AuthError::InvalidInput("姓名不能为空且不超过 50 字".into()));
    }
    Ok(n.to_string())
}

/// Finds the account of `phone` or creates it, then grants `role` there. Returns
/// (assignment id, account id, whether the account was created).
#[allow(clippy::too_many_arguments)]
pub async fn grant(
    conn: &mut PgConnection,
    keys: &Keys,
    phone: &Phone,
    name: &str,
    initial_password: Option<&str>,
    role: Role,
    tenant_id: Option<i64>,
    created_by: Option<i64>,
) -> Result<(i64, i64, bool), AuthError> {
    let pw_hash = match initial_password {
        Some(p) => Some(password::hash(p)?),
        None => None,
    };
    let (account_id, created) = repo::upsert_account(
        conn,
        &keys.pii.blind_index("phone", phone.as_str()),
        &keys.pii.encrypt(phone.as_str().as_bytes(), PHONE_AAD),
        name,
        pw_hash.as_deref(),
    )
    .await?;
    if role.domain() == Domain::Platform {
        let held = repo::platform_roles_for_update(conn, account_id).await?;
        let operator = |r: &str| r.starts_with("operator_");
        if operator(role.as_str()) && held.iter().any(|h| operator(h) && h != role.as_str()) {
            return Err(AuthError::SeparationOfDuties(
                "系统管理员、安全管理员、审计管理员不能由同一账号兼任".into(),
            ));
        }
    }
    let id = repo::insert_assignment(
        conn,
        account_id,
        role,
        tenant_id,
        created_by.unwrap_or(account_id),
    )
    .await?
    .ok_or(AuthError::AlreadyAssigned)?;
    Ok((id, account_id, created))
}

pub async fn list_in_tenant(
    st: &Ctx,
    tenant: &TenantContext,
) -> Result<Vec<RoleAssignmentView>, AuthError> {
    let rows = repo::assignments_in_tenant(&st.db_app, Some(tenant.id)).await?;
    Ok(rows.into_iter().filter_map(|r| view(&st.keys, r)).collect())
}

pub async fn list_platform(st: &Ctx) -> Result<Vec<RoleAssignmentView>, AuthError> {
    let rows = repo::assignments_in_tenant(&st.db_app, None).await?;
    Ok(rows.into_iter().filter_map(|r| view(&st.keys, r)).collect())
}

async fn audit_in(
    conn: &mut PgConnection,
    st: &Ctx,
    auth: &AuthContext,
    ev: AuditEvent,
) -> Result<(), AuthError> {
    audit::append(
        conn,
        &st.keys.audit,
        &ev.who(Some(auth.account_id), None)
            .with_ip(auth.source_ip.clone()),
        st.clock.now(),
    )
    .await
    .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(())
}

/// Grants `role` to the holder of `phone` (a new account gets a random initial password,
/// returned once, to change at first sign-in) and audits `action` in the same transaction.
/// Returns (assignment id, account id, initial password).
#[allow(clippy::too_many_arguments)]
async fn grant_audited(
    st: &Ctx,
    auth: &AuthContext,
    phone: &Phone,
    name: &str,
    role: Role,
    tenant_id: Option<i64>,
    action: &str,
) -> Result<(i64, i64, Option<String>), AuthError> {
    let existing = repo::account_by_phone_hash(&st.db_app, &phone_hash(st, phone)).await?;
    let initial = existing.is_none().then(password::generate);
    let mut tx = st.db_app.begin().await?;
    let (id, account_id, created) = grant(
        &mut tx,
        &st.keys,
        phone,
        name,
        initial.as_deref(),
        role,
        tenant_id,
        Some(auth.account_id),
    )
    .await?;
    audit_in(
        &mut tx,
        st,
        auth,
        AuditEvent::new(action, format!("account:{account_id}"), Outcome::Success)
            .at_tenant(tenant_id)
            .details(serde_json::json!({
                "role": role.as_str(),
                "assignment": id,
                "created": created,
                "phone": phone.masked(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok((id, account_id, if created { initial } else { None }))
}

/// A tenant admin grants a role of the tenant's kind to the holder of `phone`.
pub async fn assign_in_tenant(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
    phone_raw: &str,
    name: &str,
    role: Role,
) -> Result<(i64, Option<String>), AuthError> {
    let phone = parse_phone(phone_raw)?;
    let name = check_name(name)?;
    if role.domain() != Domain::of_tenant(tenant.kind) {
        return Err(AuthError::RoleNotForTenant {
            role: role.as_str().into(),
            kind: tenant.kind.label(),
        });
    }
    let (id, _, initial) = grant_audited(
        st,
        auth,
        &phone,
        &name,
        role,
        Some(tenant.id),
        "role.assign",
    )
    .await?;
    Ok((id, initial))
}

pub async fn revoke_in_tenant(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
    assignment_id: i64,
) -> Result<(), AuthError> {
    let Some((account_id, role, tenant_id)) = repo::assignment(&st.db_app, assignment_id).await?
    else {
        return Err(AuthError::AssignmentNotFound);
    };
    // Another tenant's assignment is "not found" here, never "forbidden": ids do not leak.
    if tenant_id != Some(tenant.id) {
        return Err(AuthError::AssignmentNotFound);
    }
    if account_id == auth.account_id && Role::parse(&role).is_some_and(|r| r.is_admin()) {
        return Err(AuthError::CannotRevokeOwnAdmin);
    }
    let mut tx = st.db_app.begin().await?;
    sqlx::query("delete from platform.role_assignments where id = $1")
        .bind(assignment_id)
        .execute(&mut *tx)
        .await?;
    audit_in(
        &mut tx,
        st,
        auth,
        AuditEvent::new(
            "role.revoke",
            format!("account:{account_id}"),
            Outcome::Success,
        )
        .at_tenant(Some(tenant.id))
        .details(serde_json::json!({ "role": role, "assignment": assignment_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The system administrator creates a bureau, school-admin or agency-admin account. A new
/// account gets a random initial password, shown once, that must be changed at first use.
pub async fn create_account(
    st: &Ctx,
    auth: &AuthContext,
    phone_raw: &str,
    name: &str,
    role: Role,
    tenant_code: Option<&str>,
) -> Result<(i64, Option<String>), AuthError> {
    let phone = parse_phone(phone_raw)?;
    let name = check_name(name)?;
    let tenant_id = match role {
        Role::BureauOfficer => None,
        Role::SchoolAdmin | Role::AgencyAdmin => {
            let code = tenant_code
                .ok_or_else(|| AuthError::InvalidInput("请指定学校或机构代码".into()))?;
            let t = registry::find_by_code(&st.db_app, code)
                .await?
                .ok_or_else(|| AuthError::TenantNotFound(code.into()))?;
            let kind = t.kind().map(Domain::of_tenant);
            if kind != Some(role.domain()) {
                return Err(AuthError::RoleNotForTenant {
                    role: role.as_str().into(),
                    kind: t.kind().map(|k| k.label()).unwrap_or("租户"),
                });
            }
            Some(t.id)
        }
        _ => {
            return Err(AuthError::InvalidInput(
                "系统管理员只能创建街道教体中心、学校管理员和机构管理员账号".into(),
            ))
        }
    };
    let (_, account_id, initial) =
        grant_audited(st, auth, &phone, &name, role, tenant_id, "account.create").await?;
    Ok((account_id, initial))
}

/// The security administrator grants an operator role.
pub async fn assign_platform(
    st: &Ctx,
    auth: &AuthContext,
    phone_raw: &str,
    name: &str,
    role: Role,
) -> Result<(i64, Option<String>), AuthError> {
    if !matches!(
        role,
        Role::OperatorSys | Role::OperatorSec | Role::OperatorAudit
    ) {
        return Err(AuthError::InvalidInput("只能在此分配运营方角色".into()));
    }
    let phone = parse_phone(phone_raw)?;
    let name = check_name(name)?;
    let (id, _, initial) =
        grant_audited(st, auth, &phone, &name, role, None, "role.assign").await?;
    Ok((id, initial))
}
