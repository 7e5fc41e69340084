//! The simulated WeChat OAuth (`/sim/wechat`, mounted only with the WeChat Pay simulator):
//! the HTTP surface of a simulator, so it answers as WeChat does (a redirect, an HTML
//! refusal page, `errcode` JSON).
//!
//! `authorize` redirects at once (snsapi_base asks the user nothing) with a code naming a
//! WeChat user kept in a browser cookie; `access_token` turns the code into that user's
//! openid. Codes are signed and expire after five minutes; unlike WeChat's they are not
//! single-use. Must never redirect anywhere but to a page of this platform.

use std::sync::Arc;

use chrono::Utc;
use poem::http::StatusCode;
use poem::web::{Data, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;
use serde_json::json;

use super::is_ours;
use crate::kernel::ctx::Ctx;

const CODE_TTL_SECS: i64 = 300;

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
    let uid = crate::wechatpay::sim_user::uid(req.header("cookie"))
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let openid = crate::wechatpay::sim_user::openid(&q.appid, &uid);
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
        .header("set-cookie", crate::wechatpay::sim_user::cookie(&uid))
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
