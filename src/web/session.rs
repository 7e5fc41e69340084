//! The signed-in browser: the session token in an HttpOnly cookie, turned into the same
//! [`AuthContext`] the API's bearer scheme builds, plus the tenant the page acts in and the
//! link prefix (`/t/<code>`) every page link carries.
//!
//! Unsafe requests (POST) must carry the session's CSRF token (`_csrf` in the query of the
//! form's action, or the `X-CSRF-Token` header) and, when the browser sends one, an
//! `Origin` of this host. Must never accept a state-changing request on the cookie alone.

use std::sync::Arc;

use poem::http::{header, Method, StatusCode};
use poem::{FromRequest, Request, RequestBody, Response};

use super::feature::SchoolMenu;
use crate::auth::guard::{authorize, client_info};
use crate::auth::model::{AuthContext, Permission, Role};
use crate::auth::service;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantContext;
use crate::tenancy::model::TenantKind;
use crate::tenancy::resolve::CurrentTenant;
use crate::web::frame::WebError;

/// Name of the session cookie.
pub const COOKIE: &str = "as_session";

/// A page request from a signed-in browser.
pub struct Web {
    pub app: Arc<Ctx>,
    pub auth: AuthContext,
    /// The tenant of the request (`/t/<code>/…`), if any.
    pub tenant: Option<TenantContext>,
    /// The school console's menu, from the features' registrations.
    pub menu: Arc<SchoolMenu>,
    csrf: String,
}

impl Web {
    /// `path` under the tenant the page acts in (`/t/sqsf/m/courses`).
    pub fn link(&self, path: &str) -> String {
        match &self.tenant {
            Some(t) => format!("/t/{}{path}", t.code.as_str()),
            None => path.to_string(),
        }
    }

    /// The action of a POST form: the link plus the CSRF token.
    pub fn post_url(&self, path: &str) -> String {
        let link = self.link(path);
        let sep = if link.contains('?') { '&' } else { '?' };
        format!("{link}{sep}_csrf={}", self.csrf)
    }

    /// The CSRF token (for scripts that post with `X-CSRF-Token`).
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// The request's tenant, or a page saying one is needed.
    pub fn tenant(&self) -> Result<&TenantContext, WebError> {
        self.tenant.as_ref().ok_or(WebError::NotFound)
    }

    /// The caller's roles where the page acts (the tenant, or the platform).
    pub fn roles(&self) -> Vec<Role> {
        match &self.tenant {
            Some(t) => self.auth.roles_in_tenant(t.id),
            None => self.auth.platform_roles(),
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles().contains(&role)
    }

    /// Checks `perm` for the caller in this request's tenant (as the API does, audited on
    /// refusal) and returns that tenant.
    pub async fn authorize(&self, perm: &Permission) -> Result<&TenantContext, WebError> {
        let current = CurrentTenant(self.tenant.clone());
        authorize(&self.app, &self.auth, &current, perm).await?;
        self.tenant()
    }

    /// Checks a platform permission (no tenant), audited on refusal as the API does.
    pub async fn authorize_platform(&self, perm: &Permission) -> Result<(), WebError> {
        authorize(&self.app, &self.auth, &CurrentTenant(None), perm).await?;
        Ok(())
    }

    /// A transaction in this request's school, after checking `perm`: the pages' way into
    /// the same service functions the API calls.
    pub async fn school_tx(&self, perm: &Permission) -> Result<TenantTx, WebError> {
        let t = CurrentTenant(self.tenant.clone())
            .require_kind(TenantKind::School)?
            .clone();
        self.authorize(perm).await?;
        Ok(TenantTx::begin(&self.app.db_app, &t).await?)
    }
}

/// The CSRF token of a session: keyed hash of its token, so it needs no storage and dies
/// with the session.
pub fn csrf_token(app: &Ctx, session_token: &str) -> String {
    let mac = app.keys.pii.blind_index("web.csrf", session_token);
    hex::encode(&mac[..16])
}

/// The session token the browser sent, if any.
pub fn cookie_token(req: &Request) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached us over HTTPS: directly, through a proxy that says so
/// (`X-Forwarded-Proto` or `Forwarded: proto=https`, as load balancers terminating TLS
/// send), or because the configured public address is https.
pub fn over_https(req: &Request, app: &Ctx) -> bool {
    let forwarded_proto = req
        .header("x-forwarded-proto")
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let forwarded = req.header("forwarded").is_some_and(|v| {
        v.split([';', ',']).any(|kv| {
            kv.trim().split_once('=').is_some_and(|(k, v)| {
                k.eq_ignore_ascii_case("proto") && v.trim_matches('"').eq_ignore_ascii_case("https")
            })
        })
    });
    *req.scheme() == poem::http::uri::Scheme::HTTPS
        || forwarded_proto
        || forwarded
        || app.public_is_https()
}

/// `Set-Cookie` value that stores `token` for the browser session (no Expires: closing
/// the browser ends it; the server's idle timeout ends it anyway); `Secure` whenever the
/// browser came over HTTPS, so the cookie is never sent in the clear afterwards.
pub fn set_cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

pub fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// Where the browser goes to sign in, coming back to `next` afterwards.
pub fn login_redirect(req: &Request) -> String {
    let next = req
        .original_uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let next = if req.method() == Method::GET {
        next
    } else {
        "/".into()
    };
    format!("/login?next={}", urlencoding::encode(&next))
}

/// 303 See Other: the answer to a form post (the browser then GETs `to`).
pub fn see_other(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, to)
        .header(header::CACHE_CONTROL, "no-store")
        .finish()
}

fn same_origin(req: &Request) -> bool {
    let Some(origin) = req.header("origin") else {
        // Browsers send Origin on every cross-site POST; its absence is a same-site
        // navigation or a non-browser client, which still needs the token.
        return true;
    };
    let host = req.header("host").unwrap_or_default();
    origin
        .split_once("://")
        .map(|(_, rest)| rest == host)
        .unwrap_or(false)
}

impl<'a> FromRequest<'a> for Web {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> poem::Result<Self> {
        let app = req
            .data::<Arc<Ctx>>()
            .cloned()
            .ok_or_else(|| WebError::Internal("state missing".into()))?;
        let tenant = req.data::<CurrentTenant>().and_then(|t| t.0.clone());
        let Some(token) = cookie_token(req) else {
            return Err(WebError::Login(login_redirect(req)).into());
        };
        let auth = match service::authenticate(&app, &token, &client_info(req)).await {
            Ok(a) => a,
            Err(e) => {
                let api = crate::error::ApiError::from(e);
                if api.body().code == "INTERNAL" {
                    return Err(WebError::Internal("session lookup failed".into()).into());
                }
                return Err(WebError::Login(login_redirect(req)).into());
            }
        };
        let csrf = csrf_token(&app, &token);
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let sent = req
                .header("x-csrf-token")
                .map(str::to_owned)
                .or_else(|| req.uri().query().and_then(|q| url_param(q, "_csrf")));
            if sent.as_deref() != Some(csrf.as_str()) || !same_origin(req) {
                return Err(WebError::Csrf.into());
            }
        }
        let menu = req.data::<Arc<SchoolMenu>>().cloned().unwrap_or_default();
        Ok(Web {
            app,
            auth,
            tenant,
            menu,
            csrf,
        })
    }
}

/// One parameter of a query string, decoded.
pub fn url_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| urlencoding::decode(v).ok().map(|s| s.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_param_decodes_the_named_parameter_only() {
        assert_eq!(
            url_param("a=1&_csrf=ab%2Fc", "_csrf").as_deref(),
            Some("ab/c")
        );
        assert_eq!(url_param("x_csrf=1", "_csrf"), None);
    }

    #[test]
    fn session_cookie_is_http_only_and_lax() {
        let c = set_cookie("tok", false);
        assert!(
            c.contains("HttpOnly")
                && c.contains("SameSite=Lax")
                && c.starts_with("as_session=tok;")
                && !c.contains("Secure")
        );
        assert!(set_cookie("tok", true).ends_with("; Secure"));
        assert!(clear_cookie(false).contains("Max-Age=0"));
        assert!(clear_cookie(true).contains("Secure"));
    }
}
