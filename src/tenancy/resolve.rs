//! Routes every request to at most one tenant: path prefix `/t/<code>/`, header
//! `X-Tenant`, or host `<code>.<base-domain>`. Indications that disagree are an error, an
//! unknown tenant is 404 and a suspended one 403, before any handler runs.

use poem::http::StatusCode;
use sqlx::PgPool;

use super::model::{TenantCode, TenantContext, TenantKind};
use super::repo;
use crate::error::{ApiError, ErrorBody, ErrorKind};

/// What the resolver found for this request; handlers that need a tenant call
/// [`CurrentTenant::require`].
#[derive(Debug, Clone, Default)]
pub struct CurrentTenant(pub Option<TenantContext>);

impl CurrentTenant {
    pub fn require(&self) -> Result<&TenantContext, ApiError> {
        self.0.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorKind::BadRequest,
                "TENANT_REQUIRED",
                "请求未指明学校或机构（使用 /t/<代码>/ 路径、X-Tenant 请求头或租户域名）",
                serde_json::json!({}),
            )
        })
    }

    pub fn require_kind(&self, kind: TenantKind) -> Result<&TenantContext, ApiError> {
        let t = self.require()?;
        if t.kind != kind {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                "TENANT_KIND_UNSUPPORTED",
                format!(
                    "该功能仅适用于{}，当前租户是{}",
                    kind.label(),
                    t.kind.label()
                ),
                serde_json::json!({ "tenant": t.code.as_str() }),
            ));
        }
        Ok(t)
    }
}

/// A failed resolution, answered directly by the middleware.
#[derive(Debug)]
pub struct ResolveError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ResolveError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>, tenant: &str) -> Self {
        Self {
            status,
            body: ErrorBody {
                code: code.into(),
                message: message.into(),
                details: serde_json::json!({ "tenant": tenant }),
            },
        }
    }
}

/// The tenant code a request names, and the path with any `/t/<code>` prefix removed.
/// `headers` are all the request's `X-Tenant` values: several headers, or one carrying a
/// comma-separated list, are each an indication, so a pair naming two tenants is ambiguous
/// rather than answered for whichever a proxy happened to put first.
pub fn indicated_code(
    path: &str,
    headers: &[&str],
    host: Option<&str>,
    base_domain: &str,
) -> Result<(Option<String>, Option<String>), ResolveError> {
    let mut found: Vec<String> = Vec::new();
    let mut rewritten = None;
    if let Some(rest) = path.strip_prefix("/t/") {
        let (code, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        found.push(code.to_string());
        rewritten = Some(tail.to_string());
    }
    for h in headers.iter().flat_map(|v| v.split(',')) {
        let h = h.trim();
        if !h.is_empty() {
            found.push(h.to_string());
        }
    }
    if let Some(host) = host {
        let host = host
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let suffix = format!(".{}", base_domain.to_ascii_lowercase());
        if let Some(sub) = host.strip_suffix(&suffix) {
            if !sub.is_empty() && !sub.contains('.') && sub != "www" && sub != "api" {
                found.push(sub.to_string());
            }
        }
    }
    found.sort();
    found.dedup();
    match found.as_slice() {
        [] => Ok((None, rewritten)),
        [one] => Ok((Some(one.clone()), rewritten)),
        _ => Err(ResolveError::new(
            StatusCode::BAD_REQUEST,
            "TENANT_AMBIGUOUS",
            "请求同时指向了不同的学校或机构",
            &found.join(","),
        )),
    }
}

/// Looks the code up in the registry (through the app pool, which may read the registry).
pub async fn resolve(app: &PgPool, code: &str) -> Result<TenantContext, ResolveError> {
    let not_found = || {
        ResolveError::new(
            StatusCode::NOT_FOUND,
            "TENANT_NOT_FOUND",
            format!("找不到代码为“{code}”的学校或机构"),
            code,
        )
    };
    if TenantCode::parse(code).is_err() {
        return Err(not_found());
    }
    let record = repo::find_by_code(app, code).await.map_err(|e| {
        tracing::error!(error = %e, "tenant lookup failed");
        ResolveError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "DB_UNAVAILABLE",
            "服务暂不可用，请稍后重试",
            code,
        )
    })?;
    let record = record.ok_or_else(not_found)?;
    if record.is_suspended() {
        return Err(ResolveError::new(
            StatusCode::FORBIDDEN,
            "TENANT_SUSPENDED",
            format!("“{}”已被暂停使用，请联系街道教体中心", record.name),
            code,
        ));
    }
    TenantContext::from_record(&record).ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefix_header_and_host_each_name_a_tenant() {
        let (c, p) = indicated_code("/t/sqsf/api/v1/tenant", &[], None, "x.cn").unwrap();
        assert_eq!(
            (c.as_deref(), p.as_deref()),
            (Some("sqsf"), Some("/api/v1/tenant"))
        );
        let (c, p) = indicated_code("/api/v1/tenant", &["sqsf"], None, "x.cn").unwrap();
        assert_eq!((c.as_deref(), p), (Some("sqsf"), None));
        let (c, _) = indicated_code("/api/v1/tenant", &[], Some("sqsf.x.cn:8080"), "x.cn").unwrap();
        assert_eq!(c.as_deref(), Some("sqsf"));
        let (c, _) = indicated_code("/api/v1/tenant", &[], Some("x.cn"), "x.cn").unwrap();
        assert_eq!(c, None);
    }

    #[test]
    fn disagreeing_indications_are_ambiguous() {
        let err = indicated_code("/t/aa/api", &["bb"], None, "x.cn").unwrap_err();
        assert_eq!(err.body.code, "TENANT_AMBIGUOUS");
        // Agreeing ones are fine.
        assert!(indicated_code("/t/aa/api", &["aa"], Some("aa.x.cn"), "x.cn").is_ok());
        assert!(indicated_code("/api", &["aa", "aa"], None, "x.cn").is_ok());
        // Issue 13.16: two X-Tenant headers, or one listing two, are not answered for the
        // first of them.
        for headers in [&["aa", "bb"][..], &["aa,bb"][..], &["bb", "aa", "bb"][..]] {
            let err = indicated_code("/api", headers, None, "x.cn").unwrap_err();
            assert_eq!(err.body.code, "TENANT_AMBIGUOUS", "{headers:?}");
        }
    }
}
