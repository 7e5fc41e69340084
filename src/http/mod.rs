//! The HTTP surface: application state, the OpenAPI service under `/api/v1`, the spec at
//! `/api/openapi.json`, Swagger UI at `/api/docs`, `/healthz`, `/readyz`, and the
//! middleware every request passes (request id and logging, error normalisation, tenant
//! resolution).
//!
//! Handlers live in their domain modules; this module only wires them. Must never answer
//! an error in any shape other than `{code, message, details}`.

pub mod conformance;
pub mod features;
pub mod handler;
pub mod input;
pub mod middleware;

use std::sync::Arc;
use std::time::Duration;

use poem::listener::{Acceptor, Listener, TcpListener};
use poem::middleware::CatchPanic;
use poem::web::{Data, Json};
use poem::{get, handler, post, Endpoint, EndpointExt, IntoResponse, Response, Route, Server};
use poem_openapi::OpenApiService;

use crate::attendance::api::{AttendanceApi, InspectionApi};
use crate::auth::api::AuthApi;
use crate::auth::platform_api::PlatformApi;
use crate::auth::role_api::RoleApi;
use crate::courses::api::CourseApi;
use crate::enrollment::api::EnrollmentApi;
use crate::enrollment::staff_api::EnrollmentStaffApi;
use crate::error::{error_response, ErrorBody};
use crate::evaluations::api::EvaluationApi;
use crate::kernel::ctx::Ctx;
use crate::meals::api::MealApi;
use crate::notices::api::NoticeApi;
use crate::notify::api::NotifyApi;
use crate::outbox::api::OutboxApi;
use crate::payments::api::PaymentApi;
use crate::people::api::PeopleApi;
use crate::people::import_api::ImportApi;
use crate::school::api::SchoolApi;
use crate::school::config_api::SchoolConfigApi;
use crate::supervision::api::SupervisionApi;
use crate::tenancy::api::TenancyApi;
use crate::wechatpay;

/// Largest request body accepted (413 beyond it). Uploads (documents, pictures) are the
/// largest bodies; nothing else comes near.
pub const MAX_BODY_BYTES: usize = 12 * 1024 * 1024;

/// Declares the API tuple (a type for poem-openapi) and its one value, from one list.
/// poem-openapi takes tuples of 2 to 16 APIs, so the list is nested in groups.
macro_rules! apis {
    ($([$($api:ident),* $(,)?]),* $(,)?) => {
        pub type Apis = ($(($($api,)*),)*);
        fn all_apis() -> Apis {
            ($(($($api,)*),)*)
        }
    };
}

apis!(
    [
        AuthApi,
        TenancyApi,
        SchoolApi,
        SchoolConfigApi,
        PeopleApi,
        ImportApi,
        CourseApi,
        EnrollmentApi,
        EnrollmentStaffApi,
        PaymentApi,
        RoleApi,
        PlatformApi,
        OutboxApi,
        SupervisionApi,
        NotifyApi,
    ],
    [
        MealApi,
        NoticeApi,
        AttendanceApi,
        InspectionApi,
        EvaluationApi
    ],
);

/// Every route's declared permission (the route walk test checks this covers the spec).
pub fn route_permissions() -> Vec<crate::auth::model::Permission> {
    features::FEATURES
        .iter()
        .flat_map(|f| f.permissions().iter().copied())
        .collect()
}

pub fn api_service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(
        all_apis(),
        "afterschool 校内课后服务管理平台",
        env!("CARGO_PKG_VERSION"),
    )
    .server("/api/v1")
    .description(
        "石岐街道校内课后服务管理平台 API。租户（学校或机构）由路径前缀 `/t/<代码>/`、\
         请求头 `X-Tenant` 或域名 `<代码>.<基础域名>` 指定。错误统一为 \
         `{code, message, details}`。除登录接口外均须携带 `Authorization: Bearer <令牌>`。",
    )
}

/// The OpenAPI document, as committed in `docs/openapi.json` and served at
/// `/api/openapi.json`.
pub fn spec_json() -> String {
    serde_json::to_string_pretty(&spec_value()).unwrap_or_default()
}

/// The document the framework writes, completed with the answers every operation can get
/// from the router and the body parser, which the framework leaves out: 405 (a method the
/// path does not take, with `Allow`) and, for operations with a body, 413 (a body over
/// [`MAX_BODY_BYTES`], refused by the middleware before it is read) and 415 (a body that is
/// not JSON).
pub fn spec_value() -> serde_json::Value {
    let mut doc: serde_json::Value =
        serde_json::from_str(&api_service().spec()).unwrap_or_default();
    let error = |description: &str| {
        serde_json::json!({
            "description": description,
            "content": { "application/json; charset=utf-8": {
                "schema": { "$ref": "#/components/schemas/ErrorBody" }
            } }
        })
    };
    let mut allow_405 = error("该地址不支持此请求方法（`Allow` 头列出支持的方法）");
    allow_405["headers"] = serde_json::json!({
        "Allow": { "description": "该地址支持的请求方法", "schema": { "type": "string" } }
    });
    if let Some(paths) = doc["paths"].as_object_mut() {
        for ops in paths.values_mut().filter_map(|o| o.as_object_mut()) {
            for op in ops.values_mut() {
                let has_body = !op["requestBody"].is_null();
                let Some(responses) = op["responses"].as_object_mut() else {
                    continue;
                };
                responses.entry("405").or_insert_with(|| allow_405.clone());
                if has_body {
                    responses.entry("413").or_insert_with(|| {
                        error(&format!(
                            "请求体过大（一次不能超过 {} MB）",
                            MAX_BODY_BYTES / (1024 * 1024)
                        ))
                    });
                    responses
                        .entry("415")
                        .or_insert_with(|| error("请求体格式不受支持（须为 JSON 或所列格式）"));
                }
            }
        }
    }
    doc
}

#[handler]
fn spec_endpoint() -> Response {
    Response::builder()
        .content_type("application/json; charset=utf-8")
        .body(spec_json())
}

pub fn build_app(state: Arc<Ctx>) -> impl Endpoint<Output = Response> {
    let api = api_service();
    let docs = api.swagger_ui();
    let tenant_state = state.clone();
    let mut routes = Route::new()
        .nest("/api/v1", api.around(middleware::strings_are_strings))
        .at("/api/openapi.json", get(spec_endpoint))
        .nest("/api/docs", docs)
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .at(
            wechatpay::NOTIFY_PATH,
            post(crate::payments::callback::notify),
        );
    if let Some(sim) = state.wxpay_sim.clone() {
        use crate::payments::oauth;
        let guard_state = state.clone();
        let sim_routes = wechatpay::sim::routes(sim)
            .around(move |ep, req| middleware::sim_operator_only(ep, req, guard_state.clone()));
        routes = routes
            .nest(wechatpay::config::SIM_PREFIX, sim_routes)
            .at(
                format!("{}/connect/oauth2/authorize", oauth::SIM_PREFIX),
                get(oauth::sim::sim_authorize),
            )
            .at(
                format!("{}/sns/oauth2/access_token", oauth::SIM_PREFIX),
                get(oauth::sim::sim_access_token),
            );
        use crate::notify::{service::SIM_PREFIX as WX, sim_api};
        routes = routes
            .at(format!("{WX}/cgi-bin/token"), get(sim_api::token))
            .at(
                format!("{WX}/cgi-bin/message/subscribe/bizsend"),
                post(sim_api::bizsend),
            )
            .at(
                format!("{WX}/mp/subscribemsg"),
                get(sim_api::popup).post(sim_api::popup_answer),
            );
    }
    if state.supervision.sim.is_some() {
        routes = routes.at(
            format!("{}/push", crate::supervision::SIM_PREFIX),
            post(crate::supervision::sim_api::push),
        );
    }
    // The pages take every path the API and the simulators do not: browsers get HTML
    // answers, including for pages that do not exist.
    routes = routes.nest("/", crate::web::endpoint(features::FEATURES));
    routes
        .data(state)
        .data(Arc::new(features::school_menu()))
        .around(middleware::reject_nul)
        .around(move |ep, req| middleware::resolve_tenant(ep, req, tenant_state.clone()))
        .with(CatchPanic::new())
        .around(middleware::request_id_and_errors)
        .map_to_response()
}

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[handler]
async fn readyz(state: Data<&Arc<Ctx>>) -> Response {
    let probe = tokio::time::timeout(
        Duration::from_secs(2),
        sqlx::query_scalar::<_, i32>("select 1").fetch_one(&state.0.db_app),
    )
    .await;
    match probe {
        Ok(Ok(_)) => Json(serde_json::json!({ "status": "ready" })).into_response(),
        other => {
            tracing::warn!(result = ?other.err().map(|_| "timeout"), "readiness probe failed");
            error_response(
                poem::http::StatusCode::SERVICE_UNAVAILABLE,
                &ErrorBody {
                    code: "DB_UNAVAILABLE".into(),
                    message: "数据库暂不可用".into(),
                    details: serde_json::json!({}),
                },
            )
        }
    }
}

/// A bound server: its address is known before it starts serving (tests bind port 0).
pub struct BoundServer {
    pub port: u16,
    /// Where this server reaches itself (`http://127.0.0.1:8080`).
    pub local_base: String,
    acceptor: poem::listener::TcpAcceptor,
}

pub async fn bind(host: &str, port: u16) -> anyhow::Result<BoundServer> {
    let acceptor = TcpListener::bind(format!("{host}:{port}"))
        .into_acceptor()
        .await?;
    let port = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().map(|s| s.port()))
        .ok_or_else(|| anyhow::anyhow!("无法获取监听端口"))?;
    let reach = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" | "[::]" => "[::1]",
        h => h,
    };
    Ok(BoundServer {
        port,
        local_base: format!("http://{reach}:{port}"),
        acceptor,
    })
}

impl BoundServer {
    /// Serves until `shutdown` completes, then drains for up to 10 s.
    pub async fn serve(
        self,
        state: Arc<Ctx>,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> anyhow::Result<()> {
        state.set_local_base(self.local_base.clone());
        if let Some(sim) = &state.wxpay_sim {
            sim.set_local_base(self.local_base.clone());
        }
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(build_app(state), shutdown, Some(Duration::from_secs(10)))
            .await?;
        Ok(())
    }
}
