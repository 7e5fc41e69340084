//! The WeChat message simulator's HTTP surface under `/sim/wechat` (mounted only with the
//! WeChat Pay simulator, as the OAuth simulator is): WeChat's answer shapes, `errcode`
//! JSON and its subscription popup page.

use std::sync::Arc;

use poem::http::StatusCode;
use poem::web::{Data, Form, Json, Query};
use poem::{handler, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use super::sim::{self, Fault};
use crate::kernel::ctx::Ctx;
use crate::wechatpay::sim_user;

fn answer(v: Value) -> Response {
    Response::builder()
        .content_type("application/json")
        .body(v.to_string())
}

fn err(errcode: i64, errmsg: &str) -> Response {
    answer(json!({ "errcode": errcode, "errmsg": errmsg }))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    grant_type: String,
    appid: String,
    secret: String,
}

/// `GET /sim/wechat/cgi-bin/token`.
#[handler]
pub async fn token(Query(q): Query<TokenQuery>, state: Data<&Arc<Ctx>>) -> Response {
    let st: &Ctx = state.0;
    if q.grant_type != "client_credential" {
        return err(40002, "invalid grant_type");
    }
    if q.appid != st.wechatpay.appid() {
        return err(40013, "invalid appid");
    }
    if q.secret != sim::secret(&st.keys) {
        return err(40125, "invalid appsecret");
    }
    let (t, life) = sim::issue_token(&st.keys, &q.appid, st.clock.now());
    answer(json!({ "access_token": t, "expires_in": life }))
}

#[derive(Deserialize)]
pub struct SendQuery {
    access_token: Option<String>,
}

/// `POST /sim/wechat/cgi-bin/message/subscribe/bizsend`.
#[handler]
pub async fn bizsend(
    Query(q): Query<SendQuery>,
    body: Option<Json<Value>>,
    state: Data<&Arc<Ctx>>,
) -> Response {
    let st: &Ctx = state.0;
    let fault = sim::fault(&st.db_app).await.unwrap_or(Fault::None);
    match fault {
        Fault::Refuse => {
            let _ = sim::count_refused(&st.db_app).await;
            return Response::builder()
                .status(StatusCode::SERVICE_UNAVAILABLE)
                .body("service unavailable");
        }
        Fault::Timeout => {
            let _ = sim::count_refused(&st.db_app).await;
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            return err(-1, "system error");
        }
        Fault::Busy => {
            let _ = sim::count_refused(&st.db_app).await;
            return err(-1, "system error");
        }
        Fault::None | Fault::Revoked => {}
    }
    let access_token = q.access_token.unwrap_or_default();
    if !sim::token_ok(
        &st.keys,
        st.wechatpay.appid(),
        &access_token,
        st.clock.now(),
    ) {
        return err(
            40001,
            "invalid credential, access_token is invalid or not latest",
        );
    }
    let Some(Json(body)) = body else {
        return err(47001, "data format error");
    };
    match sim::send(&st.db_app, &st.keys, &body).await {
        Ok(msgid) => answer(json!({ "errcode": 0, "errmsg": "ok", "msgid": msgid })),
        Err((code, msg)) => err(code, &msg),
    }
}

#[derive(Deserialize)]
pub struct PopupQuery {
    action: Option<String>,
    appid: String,
    scene: Option<String>,
    template_id: String,
    redirect_url: String,
    reserved: Option<String>,
}

/// WeChat's own error page inside the popup.
fn refusal(reason: &str) -> Response {
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1"; title { "订阅消息（模拟）" } }
            body { h1 { "无法订阅" } p #sim-subscribe-error { (reason) } }
        }
    };
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .content_type("text/html; charset=utf-8")
        .body(page.into_string())
}

fn check(st: &Ctx, q: &PopupQuery) -> Result<super::Kind, Box<Response>> {
    if q.appid != st.wechatpay.appid() {
        return Err(Box::new(refusal("appid 无效（40013）")));
    }
    if !st.is_our_page(&q.redirect_url) {
        return Err(Box::new(refusal(
            "redirect_url 域名与后台配置不一致（10003）",
        )));
    }
    sim::template(&q.template_id).ok_or_else(|| Box::new(refusal("模板不存在（40037）")))
}

/// `GET /sim/wechat/mp/subscribemsg?action=get_confirm…`: the popup asking the user.
#[handler]
pub async fn popup(req: &Request, Query(q): Query<PopupQuery>, state: Data<&Arc<Ctx>>) -> Response {
    let st: &Ctx = state.0;
    if q.action.as_deref() != Some("get_confirm") {
        return refusal("action 无效");
    }
    let kind = match check(st, &q) {
        Ok(k) => k,
        Err(r) => return *r,
    };
    // The simulated WeChat user of this browser (a new one when it has none yet).
    let uid = sim_user::uid(req.header("cookie"))
        .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>()));
    let t = kind.template();
    let hidden = [
        ("appid", q.appid.as_str()),
        ("scene", q.scene.as_deref().unwrap_or("")),
        ("template_id", q.template_id.as_str()),
        ("redirect_url", q.redirect_url.as_str()),
        ("reserved", q.reserved.as_deref().unwrap_or("")),
    ];
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "订阅消息（模拟）" }
                style { "body{font-family:sans-serif;margin:0;background:#f2f2f2}.sheet{background:#fff;margin:30vh 0 0;padding:20px;border-radius:12px 12px 0 0}button{display:block;width:100%;padding:12px;margin-top:10px;font-size:16px;border-radius:6px;border:0}.ok{background:#07c160;color:#fff}.no{background:#f2f2f2}" }
            }
            body {
                div.sheet {
                    p { strong { "石岐课后服务" } " 申请向你发送以下消息：" }
                    p #sim-subscribe-title { "• " (t.title) }
                    p { small { "消息内容：" @for (i, (_, caption)) in t.fields.iter().enumerate() { @if i > 0 { "、" } (caption) } } }
                    p { small { "本页为微信订阅确认的模拟，演示和测试环境使用。" } }
                    form method="post" {
                        @for (k, v) in hidden { input type="hidden" name=(k) value=(v); }
                        button.ok type="submit" name="action" value="confirm" id="sim-subscribe-accept" { "允许" }
                        button.no type="submit" name="action" value="cancel" id="sim-subscribe-cancel" { "取消" }
                    }
                }
            }
        }
    };
    Response::builder()
        .content_type("text/html; charset=utf-8")
        .header("set-cookie", sim_user::cookie(&uid))
        .body(page.into_string())
}

#[derive(Deserialize)]
pub struct PopupAnswer {
    action: String,
    appid: String,
    scene: Option<String>,
    template_id: String,
    redirect_url: String,
    reserved: Option<String>,
}

/// `POST /sim/wechat/mp/subscribemsg`: the user's tap; back to our page with the answer.
#[handler]
pub async fn popup_answer(
    req: &Request,
    Form(a): Form<PopupAnswer>,
    state: Data<&Arc<Ctx>>,
) -> Response {
    let st: &Ctx = state.0;
    let q = PopupQuery {
        action: Some("get_confirm".into()),
        appid: a.appid,
        scene: a.scene,
        template_id: a.template_id,
        redirect_url: a.redirect_url,
        reserved: a.reserved,
    };
    if let Err(r) = check(st, &q) {
        return *r;
    }
    let Some(uid) = sim_user::uid(req.header("cookie")) else {
        return refusal("请在微信中打开");
    };
    let accept = match a.action.as_str() {
        "confirm" => true,
        "cancel" => false,
        _ => return refusal("action 无效"),
    };
    let openid = sim_user::openid(&q.appid, &uid);
    if let Err(e) = sim::set_grant(&st.db_app, &openid, &q.template_id, accept).await {
        tracing::error!(error = %e, "wechat message simulator: grant");
        return refusal("系统繁忙，请稍后再试（-1）");
    }
    let Ok(mut back) = url::Url::parse(&q.redirect_url) else {
        return refusal("redirect_url 无效");
    };
    back.query_pairs_mut()
        .append_pair("openid", &openid)
        .append_pair("template_id", &q.template_id)
        .append_pair("action", &a.action)
        .append_pair("scene", q.scene.as_deref().unwrap_or(""))
        .append_pair("reserved", q.reserved.as_deref().unwrap_or(""));
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", back.to_string())
        .finish()
}
