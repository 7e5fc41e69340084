//! The platform operator's console endpoints, split by the three operator roles:
//! system administrator (accounts, tenants, simulators), security administrator (operator
//! roles) and audit administrator (search, export and verify the audit trail).

use super::perms::{
    ACCOUNTS_CREATE, AUDIT_EXPORT, AUDIT_SEARCH, AUDIT_VERIFY, ROLES_ASSIGN, ROLES_LIST,
    SMS_OUTBOX, TENANTS_LIST,
};
use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::{Object, OpenApi};

use super::guard::{authorize, Session};
use super::model::Role;
use super::roles::{self, RoleAssignmentView};
use super::sms;
use crate::audit::{self, AuditFilter, AuditRecord, Outcome};
use crate::error::{ApiError, ErrorKind};
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::tenancy::lookup as registry;

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreateAccountRequest {
    pub phone: String,
    pub name: String,
    /// bureau_officer | school_admin | agency_admin
    pub role: Role,
    /// 学校或机构代码（学校管理员、机构管理员必填）
    pub tenant_code: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CreateAccountResponse {
    pub account_id: i64,
    /// 新账号的初始密码，只显示这一次；首次登录须修改
    pub initial_password: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformRoleRequest {
    pub phone: String,
    pub name: String,
    /// operator_sys | operator_sec | operator_audit
    pub role: Role,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PlatformRoleResponse {
    pub id: i64,
    pub initial_password: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantSummary {
    pub code: String,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub schema_version: i32,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditRecordView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_account_id: Option<i64>,
    pub actor_role: Option<String>,
    pub tenant_id: Option<i64>,
    pub source_ip: Option<String>,
    pub action: String,
    pub object: String,
    /// success | failure | denied
    pub outcome: String,
    pub details: serde_json::Value,
}

impl From<AuditRecord> for AuditRecordView {
    fn from(r: AuditRecord) -> Self {
        Self {
            id: r.id,
            at: r.at,
            actor_account_id: r.actor_account_id,
            actor_role: r.actor_role,
            tenant_id: r.tenant_id,
            source_ip: r.source_ip,
            action: r.action,
            object: r.object,
            outcome: r.outcome.as_str().into(),
            details: r.details,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct VerifyView {
    /// 已校验的记录数
    pub checked: u64,
    /// 第一条被篡改或断链的记录编号；为空表示完整
    pub first_broken: Option<i64>,
    pub reason: Option<String>,
    pub intact: bool,
    /// 校验开始后才提交、尚待封存入链的记录数（写入 MAC 已校验）
    pub pending: u64,
}

#[allow(clippy::too_many_arguments)]
fn filter(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    actor: Option<i64>,
    tenant_id: Option<i64>,
    action: Option<String>,
    outcome: Option<String>,
    limit: Option<u32>,
    before_id: Option<i64>,
) -> Result<AuditFilter, ApiError> {
    let outcome = match outcome.as_deref() {
        None | Some("") => None,
        Some("success") => Some(Outcome::Success),
        Some("failure") => Some(Outcome::Failure),
        Some("denied") => Some(Outcome::Denied),
        Some(other) => {
            return Err(ApiError::new(
                ErrorKind::Unprocessable,
                "INVALID_INPUT",
                "结果只能是 success、failure 或 denied",
                serde_json::json!({ "outcome": other }),
            ))
        }
    };
    Ok(AuditFilter {
        from,
        to,
        actor_account_id: actor,
        tenant_id,
        action_prefix: action.filter(|a| !a.is_empty()),
        outcome,
        limit: limit.unwrap_or(audit::DEFAULT_LIMIT).min(audit::MAX_LIMIT),
        before_id,
    })
}

fn audit_err(e: audit::AuditError) -> ApiError {
    ApiError::internal(e)
}

pub struct PlatformApi;

#[OpenApi(tag = "ApiTags::Platform")]
impl PlatformApi {
    /// 创建街道、学校管理员或机构管理员账号（系统管理员）
    #[oai(
        path = "/platform/accounts",
        method = "post",
        operation_id = "platform_accounts_create"
    )]
    async fn create_account(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<CreateAccountRequest>,
    ) -> Result<Json<CreateAccountResponse>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &ACCOUNTS_CREATE).await?;
        let b = body.0;
        let (account_id, initial_password) = roles::create_account(
            app.0,
            &session.0,
            &b.phone,
            &b.name,
            b.role,
            b.tenant_code.as_deref(),
        )
        .await?;
        Ok(Json(CreateAccountResponse {
            account_id,
            initial_password,
        }))
    }

    /// 租户（学校、机构）列表
    #[oai(
        path = "/platform/tenants",
        method = "get",
        operation_id = "platform_tenants"
    )]
    async fn tenants(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<TenantSummary>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &TENANTS_LIST).await?;
        let list = registry::list(&app.0.db_app).await?;
        Ok(Json(
            list.into_iter()
                .map(|t| TenantSummary {
                    code: t.code,
                    kind: t.kind,
                    name: t.name,
                    status: t.status.as_str().into(),
                    schema_version: t.schema_version,
                })
                .collect(),
        ))
    }

    /// 短信模拟器发件箱（系统管理员）
    #[oai(
        path = "/platform/simulators/sms",
        method = "get",
        operation_id = "platform_sms_outbox"
    )]
    async fn sms_outbox(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<sms::OutboxMessage>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SMS_OUTBOX).await?;
        let out = sms::outbox(&app.0.db_app, &app.0.keys.pii, 100)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(out))
    }

    /// 运营方角色（安全管理员）
    #[oai(
        path = "/platform/roles",
        method = "get",
        operation_id = "platform_roles_list"
    )]
    async fn roles(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<RoleAssignmentView>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &ROLES_LIST).await?;
        Ok(Json(roles::list_platform(app.0).await?))
    }

    /// 分配运营方角色（安全管理员；三员不得兼任）
    #[oai(
        path = "/platform/roles",
        method = "post",
        operation_id = "platform_roles_assign"
    )]
    async fn assign_role(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<PlatformRoleRequest>,
    ) -> Result<Json<PlatformRoleResponse>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &ROLES_ASSIGN).await?;
        let b = body.0;
        let (id, initial_password) =
            roles::assign_platform(app.0, &session.0, &b.phone, &b.name, b.role).await?;
        Ok(Json(PlatformRoleResponse {
            id,
            initial_password,
        }))
    }

    /// 查询审计日志（审计管理员）
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/platform/audit",
        method = "get",
        operation_id = "platform_audit_search"
    )]
    async fn audit_search(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        actor: Query<Option<i64>>,
        tenant_id: Query<Option<i64>>,
        action: Query<Option<String>>,
        outcome: Query<Option<String>>,
        limit: Query<Option<u32>>,
        before_id: Query<Option<i64>>,
    ) -> Result<Json<Vec<AuditRecordView>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &AUDIT_SEARCH).await?;
        let f = filter(
            from.0,
            to.0,
            actor.0,
            tenant_id.0,
            action.0,
            outcome.0,
            limit.0,
            before_id.0,
        )?;
        let records = audit::search(&app.0.db_app, &f).await.map_err(audit_err)?;
        Ok(Json(records.into_iter().map(Into::into).collect()))
    }

    /// 导出审计日志 CSV（审计管理员）
    #[allow(clippy::too_many_arguments)]
    #[oai(
        path = "/platform/audit/export",
        method = "get",
        operation_id = "platform_audit_export"
    )]
    async fn audit_export(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        from: Query<Option<DateTime<Utc>>>,
        to: Query<Option<DateTime<Utc>>>,
        actor: Query<Option<i64>>,
        tenant_id: Query<Option<i64>>,
        action: Query<Option<String>>,
        outcome: Query<Option<String>>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &AUDIT_EXPORT).await?;
        let f = filter(
            from.0,
            to.0,
            actor.0,
            tenant_id.0,
            action.0,
            outcome.0,
            Some(audit::MAX_LIMIT),
            None,
        )?;
        let records = audit::search(&app.0.db_app, &f).await.map_err(audit_err)?;
        let csv = audit::to_csv(&records);
        Ok(Attachment::new(csv.into_bytes())
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("audit-{}.csv", app.0.clock.today())))
    }

    /// 校验审计日志完整性（审计管理员）
    #[oai(
        path = "/platform/audit/verify",
        method = "get",
        operation_id = "platform_audit_verify"
    )]
    async fn audit_verify(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<VerifyView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &AUDIT_VERIFY).await?;
        let r = audit::verify(&app.0.db_app, &app.0.keys.audit)
            .await
            .map_err(audit_err)?;
        Ok(Json(VerifyView {
            intact: r.is_intact(),
            checked: r.checked,
            first_broken: r.first_broken,
            reason: r.reason,
            pending: r.pending,
        }))
    }
}
