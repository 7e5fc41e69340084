//! `GET /api/v1/tenant`: which school or agency this request acts in.

use super::perms::CURRENT;
use poem_openapi::{payload::Json, Object, OpenApi};

use crate::auth::guard::{authorize_tenant, Session};
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantInfo {
    /// 租户代码
    pub code: String,
    /// school 学校 | agency 机构
    pub kind: String,
    /// 名称
    pub name: String,
}

pub struct TenancyApi;

#[OpenApi(tag = "ApiTags::Tenancy")]
impl TenancyApi {
    /// 当前租户
    ///
    /// The tenant named by the path prefix `/t/<code>/`, the `X-Tenant` header or the host.
    #[oai(path = "/tenant", method = "get", operation_id = "tenant_current")]
    async fn current(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<TenantInfo>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &CURRENT).await?;
        Ok(Json(TenantInfo {
            code: t.code.to_string(),
            kind: t.kind.as_str().to_string(),
            name: t.name.clone(),
        }))
    }
}
