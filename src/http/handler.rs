//! What API handlers take from the HTTP layer: the OpenAPI tags and the request data
//! (the shared context, the tenant the request was routed to).
//!
//! Must never import a feature: features import this.

use std::sync::Arc;

use poem::web::Data;
use poem_openapi::Tags;

use crate::kernel::ctx::Ctx;
use crate::tenancy::resolve::CurrentTenant;

#[derive(Tags)]
pub enum ApiTags {
    /// 登录与账号
    Auth,
    /// 租户
    Tenancy,
    /// 学校基础信息
    School,
    /// 角色管理
    Roles,
    /// 平台运营
    Platform,
}

/// Handler parameter: the shared state.
pub type AppData<'a> = Data<&'a Arc<Ctx>>;
/// Handler parameter: the tenant the request was routed to, if any.
pub type RequestTenant<'a> = Data<&'a CurrentTenant>;
