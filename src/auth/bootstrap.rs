//! Accounts created from the command line: the first operators (nobody can create them
//! through the API before one exists) and the demo accounts of every role (R-X06).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::error::AuthError;
use super::model::{Domain, Role};
use super::service::parse_phone;
use super::{password, repo, roles};
use crate::audit::{self, AuditEvent, Outcome};
use crate::keys::Keys;
use crate::tenancy::lookup as registry;

pub struct Created {
    pub account_id: i64,
    /// The generated initial password, when the account is new and none was given.
    pub initial_password: Option<String>,
}

/// Grants `role` (in `tenant_code` for tenant roles) to the holder of `phone`, creating the
/// account if needed. With `password`, that password is set and counts as freshly changed
/// (demo); without, a new account gets a random one it must change at first sign-in.
#[allow(clippy::too_many_arguments)]
pub async fn grant_role(
    admin: &PgPool,
    keys: &Keys,
    phone: &str,
    name: &str,
    role: Role,
    tenant_code: Option<&str>,
    password_given: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Created, AuthError> {
    let phone = parse_phone(phone)?;
    let tenant_id = match (role.domain(), tenant_code) {
        (Domain::Platform, None) => None,
        (Domain::Platform, Some(_)) => {
            return Err(AuthError::InvalidInput(
                "运营方和街道角色不属于任何学校或机构".into(),
            ))
        }
        (_, None) => {
            return Err(AuthError::InvalidInput(
                "请用 --tenant 指定学校或机构代码".into(),
            ))
        }
        (domain, Some(code)) => {
            let t = registry::find_by_code(admin, code)
                .await?
                .ok_or_else(|| AuthError::TenantNotFound(code.into()))?;
            if t.kind().map(Domain::of_tenant) != Some(domain) {
                return Err(AuthError::RoleNotForTenant {
                    role: role.as_str().into(),
                    kind: t.kind().map(|k| k.label()).unwrap_or("租户"),
                });
            }
            Some(t.id)
        }
    };
    let existed =
        repo::account_by_phone_hash(admin, &keys.pii.blind_index("phone", phone.as_str()))
            .await?
            .is_some();
    let generated = (!existed && password_given.is_none()).then(password::generate);
    let initial = password_given.map(str::to_string).or(generated.clone());
    let mut tx = admin.begin().await?;
    let (assignment, account_id, _) = match roles::grant(
        &mut tx,
        keys,
        &phone,
        name,
        initial.as_deref(),
        role,
        tenant_id,
        None,
    )
    .await
    {
        Ok(x) => x,
        Err(AuthError::AlreadyAssigned) => {
            let id = repo::account_by_phone_hash(
                &mut *tx,
                &keys.pii.blind_index("phone", phone.as_str()),
            )
            .await?
            .map(|a| a.id)
            .ok_or(AuthError::AlreadyAssigned)?;
            (0, id, false)
        }
        Err(e) => return Err(e),
    };
    if let Some(p) = password_given {
        repo::set_password(&mut *tx, account_id, &password::hash(p)?, now).await?;
    }
    if assignment != 0 {
        let mut ev = AuditEvent::new(
            "role.assign",
            format!("account:{account_id}"),
            Outcome::Success,
        )
        .details(
            serde_json::json!({ "role": role.as_str(), "via": "cli", "phone": phone.masked() }),
        );
        ev.tenant_id = tenant_id;
        audit::append(&mut tx, &keys.audit, &ev, now)
            .await
            .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?;
    }
    tx.commit().await?;
    Ok(Created {
        account_id,
        initial_password: generated,
    })
}

/// One demo account per role (R-X06), all with the same password.
pub const DEMO_PASSWORD: &str = "Demo#2026";

pub fn demo_accounts() -> Vec<(&'static str, &'static str, Role, Option<&'static str>)> {
    vec![
        ("18800000001", "演示系统管理员", Role::OperatorSys, None),
        ("18800000002", "演示安全管理员", Role::OperatorSec, None),
        ("18800000003", "演示审计管理员", Role::OperatorAudit, None),
        ("18800000004", "演示街道教体中心", Role::BureauOfficer, None),
        (
            "18800000005",
            "演示学校管理员",
            Role::SchoolAdmin,
            Some("sqsf"),
        ),
        (
            "18800000006",
            "演示班主任",
            Role::HomeroomTeacher,
            Some("sqsf"),
        ),
        ("18800000007", "演示任课教师", Role::Teacher, Some("sqsf")),
        ("18800000008", "演示巡课人员", Role::Inspector, Some("sqsf")),
        ("18800000009", "演示家长", Role::Parent, Some("sqsf")),
        (
            "18800000010",
            "演示机构管理员",
            Role::AgencyAdmin,
            Some("ycys"),
        ),
        (
            "18800000011",
            "演示机构教师",
            Role::AgencyTeacher,
            Some("ycys"),
        ),
    ]
}
