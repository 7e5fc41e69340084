//! Role assignments inside a school or agency: the tenant admin assigns and revokes.

use super::perms::{ASSIGN, LIST, REVOKE};
use poem_openapi::param::Path;
use poem_openapi::{payload::Json, Object, OpenApi};

use super::api::Done;
use super::guard::{authorize_tenant, Session};
use super::model::Role;
use super::roles::{self, RoleAssignmentView};
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AssignRoleRequest {
    /// 手机号（账号以手机号识别，不存在时自动创建）
    pub phone: String,
    /// 姓名
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AssignRoleResponse {
    pub id: i64,
    /// 新账号的初始密码，只显示这一次；首次登录须修改
    pub initial_password: Option<String>,
}

pub struct RoleApi;

#[OpenApi(tag = "ApiTags::Roles")]
impl RoleApi {
    /// 本校（本机构）角色分配
    #[oai(path = "/roles", method = "get", operation_id = "roles_list")]
    async fn list(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<RoleAssignmentView>>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &LIST).await?;
        Ok(Json(roles::list_in_tenant(app.0, t).await?))
    }

    /// 分配角色
    #[oai(path = "/roles", method = "post", operation_id = "roles_assign")]
    async fn assign(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<AssignRoleRequest>,
    ) -> Result<Json<AssignRoleResponse>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &ASSIGN).await?;
        let (id, initial_password) = roles::assign_in_tenant(
            app.0,
            &session.0,
            t,
            &body.0.phone,
            &body.0.name,
            body.0.role,
        )
        .await?;
        Ok(Json(AssignRoleResponse {
            id,
            initial_password,
        }))
    }

    /// 撤销角色
    #[oai(path = "/roles/:id", method = "delete", operation_id = "roles_revoke")]
    async fn revoke(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Done>, ApiError> {
        let t = authorize_tenant(app.0, &session.0, tenant.0, &REVOKE).await?;
        roles::revoke_in_tenant(app.0, &session.0, t, id.0).await?;
        Ok(Json(Done { ok: true }))
    }
}
