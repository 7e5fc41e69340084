//! The parent's openid for JSAPI payments, from WeChat's silent web OAuth (`snsapi_base`),
//! and the simulated WeChat OAuth the demo and the tests use.
//!
//! Flow: the H5 page asks [`authorize_url`] for the address to send the browser to; WeChat
//! sends it back to the page with `?code=…&state=…`; the page posts both to [`bind`], which
//! checks the state belongs to this session, exchanges the code at
//! `/sns/oauth2/access_token` and stores the openid for the merchant's app id.
//!
//! Simulator (`/sim/wechat`, mounted only with the WeChat Pay simulator): `authorize`
//! redirects at once (snsapi_base asks the user nothing) with a code naming a WeChat user
//! kept in a browser cookie; `access_token` turns the code into that user's openid. Codes
//! are signed and expire after five minutes; unlike WeChat's they are not single-use.

use std::sync::Arc;

use chrono::Utc;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{handler, Request, Response};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::repo;
use crate::auth::model::AuthContext;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;

/// Where the simulated WeChat OAuth is served.
pub const SIM_PREFIX: &str = "/sim/wechat";
const LIVE_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";
const LIVE_API: &str = "https://api.weixin.qq.com";
const CODE_TTL_SECS: i64 = 300;

fn state_for(st: &Ctx, auth: &AuthContext) -> String {
    hex::encode(
        &st.keys
            .pii
            .blind_index("wx_oauth_state", &auth.session_id.to_string())[..12],
    )
}

/// Whether `uri` is a page of this platform: same scheme, host and port as the configured
/// public address. WeChat itself only returns to the registered 网页授权域名.
fn is_ours(st: &Ctx, uri: &str) -> bool {
    let (Ok(u), Ok(ours)) = (url::Url::parse(uri), url::Url::parse(&st.public_base())) else {
        return false;
    };
    (u.scheme() == "https" || u.scheme() == "http")
        && u.origin() == ours.origin()
        && u.username().is_empty()
        && u.password().is_none()
}

/// The address to send the browser to; WeChat comes back to `redirect_uri` (a page of
/// this platform) with a code.
pub fn authorize_url(st: &Ctx, auth: &AuthContext, redirect_uri: &str) -> Result<String, ApiError> {
    if !is_ours(st, redirect_uri) {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "OAUTH_REDIRECT_INVALID",
            "回跳地址须为本平台的页面地址",
            json!({ "field": "redirect_uri", "expected_origin": st.public_base() }),
        ));
    }
    let authorize = if st.wx_oauth.live {
        LIVE_AUTHORIZE.to_string()
    } else {
        format!("{}{SIM_PREFIX}/connect/oauth2/authorize", st.public_base())
    };
    let mut u = url::Url::parse(&authorize).map_err(ApiError::internal)?;
    u.query_pairs_mut()
        .append_pair("appid", st.wechatpay.appid())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", "snsapi_base")
        .append_pair("state", &state_for(st, auth));
    u.set_fragment(Some("wechat_redirect"));
    Ok(u.to_string())
}

#[derive(Deserialize)]
struct TokenAnswer {
    openid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

/// Exchanges the code and stores the caller's openid.
pub async fn bind(
    st: &Ctx,
    auth: &AuthContext,
    code: &str,
    state: &str,
) -> Result<String, ApiError> {
    if state != state_for(st, auth) {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            "OAUTH_STATE_MISMATCH",
            "授权已失效，请重新进入支付页面",
            json!({}),
        ));
    }
    // The simulator is this very server: reached at its own address, never at one taken
    // from the request.
    let api = if st.wx_oauth.live {
        LIVE_API.to_string()
    } else {
        format!("{}{SIM_PREFIX}", st.local_base())
    };
    let secret = st
        .wx_oauth
        .app_secret
        .as_ref()
        .map(|s| s.expose_secret().to_string())
        .unwrap_or_else(|| "simulator".into());
    let answer: TokenAnswer = reqwest::Client::new()
        .get(format!("{api}/sns/oauth2/access_token"))
        .query(&[
            ("appid", st.wechatpay.appid()),
            ("secret", secret.as_str()),
            ("code", code),
            ("grant_type", "authorization_code"),
        ])
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::Unavailable,
                "WX_OAUTH_UNAVAILABLE",
                "微信授权服务暂不可用，请稍后重试",
                json!({ "reason": e.to_string() }),
            )
        })?
        .json()
        .await
        .map_err(ApiError::internal)?;
    let Some(openid) = answer.openid else {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "WX_OAUTH_CODE_INVALID",
            "微信授权码无效或已过期，请重新授权",
            json!({ "errcode": answer.errcode, "errmsg": answer.errmsg }),
        ));
    };
    let mut conn = st.db_app.acquire().await?;
    repo::bind_openid(
        &mut conn,
        auth.account_id,
        st.wechatpay.appid(),
        &openid,
        st.clock.now(),
    )
    .await?;
    Ok(openid)
}

// --- the simulated WeChat OAuth ------------------------------------------------------------

fn sim_sign(st: &Ctx, payload: &str) -> String {
    hex::encode(&st.keys.pii.blind_index("wx_sim_oauth_code", payload)[..16])
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    appid: String,
    redirect_uri: String,
    state: Option<String>,
}

/// WeChat's own refusal page: it shows the error and goes nowhere.
fn sim_refusal(errcode: u32, reason: &str) -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; title { "微信授权（模拟）" } }
            body { h1 { "无法授权" } p #sim-oauth-error { (reason) } p { "错误码 " (errcode) } }
        }
    };
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

/// `GET /sim/wechat/connect/oauth2/authorize`: silent, so it redirects at once, but, as
/// WeChat does, only for our app id and only back to the app's registered domain (here:
/// this platform's public address), never to wherever `redirect_uri` says.
#[handler]
pub async fn sim_authorize(
    req: &Request,
    Query(q): Query<AuthorizeQuery>,
    state: Data<&Arc<Ctx>>,
) -> Response {
    let st: &Ctx = state.0;
    if q.appid != st.wechatpay.appid() {
        return sim_refusal(40013, "appid 无效");
    }
    if !is_ours(st, &q.redirect_uri) {
        return sim_refusal(10003, "redirect_uri 域名与后台配置不一致");
    }
    let uid = req
        .header("cookie")
        .and_then(|c| {
            c.split(';')
                .filter_map(|kv| kv.trim().strip_prefix("sim_wx_uid="))
                .next()
                .map(str::to_string)
        })
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let openid = format!(
        "o{}",
        &hex::encode(Sha256::digest(format!("{}:{uid}", q.appid)))[..27]
    );
    let expires = Utc::now().timestamp() + CODE_TTL_SECS;
    let payload = format!("{}.{openid}.{expires}", q.appid);
    let code = format!("{payload}.{}", sim_sign(st, &payload));
    let Ok(mut back) = url::Url::parse(&q.redirect_uri) else {
        return sim_refusal(10003, "redirect_uri 无效");
    };
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", q.state.as_deref().unwrap_or_default());
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", back.to_string())
        .header(
            "set-cookie",
            format!("sim_wx_uid={uid}; Path=/; HttpOnly; SameSite=Lax"),
        )
        .finish()
}

#[derive(Deserialize)]
struct TokenQuery {
    appid: String,
    code: String,
    grant_type: String,
}

/// `GET /sim/wechat/sns/oauth2/access_token`: WeChat's answer shape, errors as `errcode`.
#[handler]
pub async fn sim_access_token(Query(q): Query<TokenQuery>, state: Data<&Arc<Ctx>>) -> Response {
    let st: &Ctx = state.0;
    let fail = |errcode: i64, errmsg: &str| {
        Response::builder()
            .content_type("application/json")
            .body(json!({ "errcode": errcode, "errmsg": errmsg }).to_string())
    };
    if q.grant_type != "authorization_code" {
        return fail(40002, "invalid grant_type");
    }
    let parts: Vec<&str> = q.code.rsplitn(2, '.').collect();
    let [sig, payload] = parts.as_slice() else {
        return fail(40029, "invalid code");
    };
    if sim_sign(st, payload) != *sig {
        return fail(40029, "invalid code");
    }
    let fields: Vec<&str> = payload.split('.').collect();
    let [appid, openid, expires] = fields.as_slice() else {
        return fail(40029, "invalid code");
    };
    if *appid != q.appid {
        return fail(40163, "code been used or appid mismatch");
    }
    if expires
        .parse::<i64>()
        .map_or(true, |e| e < Utc::now().timestamp())
    {
        return fail(40163, "code expired");
    }
    Response::builder().content_type("application/json").body(
        json!({
            "access_token": format!("SIM_{}", &sig[..8]), "expires_in": 7200,
            "refresh_token": format!("SIMR_{}", &sig[..8]), "openid": openid, "scope": "snsapi_base",
        })
        .to_string(),
    )
}
