//! The request guard: the bearer-token security scheme that turns a session token into an
//! [`AuthContext`], and [`authorize`], which every protected handler calls first with the
//! [`Permission`] declared next to it. Denials are answered 403 and audited.

use std::sync::Arc;

use poem::Request;
use poem_openapi::auth::Bearer;
use poem_openapi::SecurityScheme;

use super::error::AuthError;
use super::model::{Access, AuthContext, Domain, Permission};
use super::service::{self, ClientInfo};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{error_response, ApiError};
use crate::kernel::ctx::Ctx;
use crate::tenancy::model::TenantContext;
use crate::tenancy::resolve::CurrentTenant;

/// 登录会话：`Authorization: Bearer <token>`，令牌由登录接口返回。
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_session")]
pub struct Session(pub AuthContext);

impl Session {
    /// The caller of a service, for its audit record: this session's account, in `st`.
    pub fn actor<'a>(&'a self, st: &'a Ctx) -> crate::kernel::actor::Actor<'a> {
        crate::kernel::actor::Actor { st, auth: &self.0 }
    }
}

pub fn client_info(req: &Request) -> ClientInfo {
    ClientInfo {
        ip: req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip().to_string()),
        user_agent: req
            .header("user-agent")
            .map(|s| s.chars().take(200).collect()),
    }
}

async fn check_session(req: &Request, bearer: Bearer) -> poem::Result<AuthContext> {
    let Some(state) = req.data::<Arc<Ctx>>() else {
        return Err(poem::Error::from_string(
            "state missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        ));
    };
    service::authenticate(state, &bearer.token, &client_info(req))
        .await
        .map_err(|e| {
            let api = ApiError::from(e);
            let status = match &api {
                ApiError::Forbidden(_) => poem::http::StatusCode::FORBIDDEN,
                ApiError::Internal(_) => poem::http::StatusCode::INTERNAL_SERVER_ERROR,
                _ => poem::http::StatusCode::UNAUTHORIZED,
            };
            poem::Error::from_response(error_response(status, api.body()))
        })
}

async fn deny(
    state: &Ctx,
    auth: &AuthContext,
    tenant_id: Option<i64>,
    perm: &Permission,
    err: AuthError,
) -> ApiError {
    state
        .audit_event(
            AuditEvent::new("authz.denied", perm.operation_id, Outcome::Denied)
                .who(Some(auth.account_id), None)
                .at_tenant(tenant_id)
                .with_ip(auth.source_ip.clone())
                .details(serde_json::json!({ "code": crate::error::DomainError::code(&err) })),
        )
        .await;
    err.into()
}

/// As [`authorize`] for a tenant permission: the tenant the request acts in.
pub async fn authorize_tenant<'t>(
    state: &Ctx,
    auth: &AuthContext,
    tenant: &'t CurrentTenant,
    perm: &Permission,
) -> Result<&'t TenantContext, ApiError> {
    authorize(state, auth, tenant, perm).await?;
    tenant.require()
}

/// Checks that the caller may perform `perm` here. For tenant permissions returns the
/// tenant the request acts in.
pub async fn authorize<'t>(
    state: &Ctx,
    auth: &AuthContext,
    tenant: &'t CurrentTenant,
    perm: &Permission,
) -> Result<Option<&'t TenantContext>, ApiError> {
    let (domain, obj, act, t) = match perm.access {
        Access::Public | Access::SignedIn => return Ok(tenant.0.as_ref()),
        Access::Tenant { obj, act } => {
            let t = tenant.require()?;
            (Domain::of_tenant(t.kind), obj, act, Some(t))
        }
        Access::Platform { obj, act } => (Domain::Platform, obj, act, None),
    };
    let tenant_id = t.map(|t| t.id);
    // Second factor and password age gate everything but the caller's own account pages.
    if auth.is_admin() && !auth.mfa_passed {
        return Err(deny(state, auth, tenant_id, perm, AuthError::MfaRequired).await);
    }
    if auth.password_expired {
        return Err(deny(
            state,
            auth,
            tenant_id,
            perm,
            AuthError::PasswordChangeRequired,
        )
        .await);
    }
    let roles = match t {
        Some(t) => auth.roles_in_tenant(t.id),
        None => auth.platform_roles(),
    };
    if roles.is_empty() {
        let err = if t.is_some() {
            AuthError::TenantAccessDenied
        } else {
            AuthError::PermissionDenied {
                obj: obj.into(),
                act: act.into(),
            }
        };
        return Err(deny(state, auth, tenant_id, perm, err).await);
    }
    if !state.authz.any_allows(&roles, domain, obj, act) {
        let err = AuthError::PermissionDenied {
            obj: obj.into(),
            act: act.into(),
        };
        return Err(deny(state, auth, tenant_id, perm, err).await);
    }
    Ok(t)
}
