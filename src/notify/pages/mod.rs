//! The notify service's pages:
//!
//! - `/m/messages` (消息提醒): per kind of message, whether it comes by WeChat or SMS,
//!   with the tap that opens WeChat's subscription popup (and back), or turns it off;
//!   the messages received;
//! - `/console/platform/notify`: the delivery log for operators, names masked;
//! - `/console/platform/sim/wechat-messages`: the WeChat message simulator's inbox and
//!   fault control.

use maud::html;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::error::ApiError;
use crate::notify::model::{self, Channel, Kind};
use crate::notify::perms::{LOG, MINE, SIM_FAULT, SIM_INBOX, SUBSCRIBE, SUBSCRIBE_URL, TURN_OFF};
use crate::notify::service::{self, SubscribeAnswer};
use crate::notify::sim::Fault;
use crate::web::frame::{page, PageResult, WebError};
use crate::web::layout::{self, notice, when, when_s, Tone};
use crate::web::nav::platform_page;
use crate::web::session::{see_other, Web};

pub const LOG_PATH: &str = "/console/platform/notify";
pub const SIM_PATH: &str = "/console/platform/sim/wechat-messages";

pub fn mount(r: Route) -> Route {
    r.at("/m/messages", get(mine))
        .at("/m/messages/subscribed", get(subscribed))
        .at("/m/messages/:kind/on", post(turn_on))
        .at("/m/messages/:kind/off", post(turn_off))
        .at(LOG_PATH, get(log))
        .at(SIM_PATH, get(sim_inbox))
        .at(
            "/console/platform/sim/wechat-messages/fault",
            post(set_fault),
        )
}

fn internal(e: impl std::fmt::Display) -> WebError {
    WebError::Api(ApiError::internal(e))
}

fn api(e: crate::notify::error::NotifyError) -> WebError {
    WebError::Api(e.into())
}

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

#[handler]
async fn mine(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    web.authorize(&MINE).await?;
    let kinds = service::kinds(&web.app, web.auth.account_id)
        .await
        .map_err(api)?;
    let messages = service::messages(&web.app, Some(web.auth.account_id), 20, false)
        .await
        .map_err(api)?;
    let done = match q.done.as_deref() {
        Some("on") => Some((Tone::Ok, "已开启微信提醒，之后的消息将在微信中收到")),
        Some("declined") => Some((Tone::Warn, "您在微信中选择了取消，这类消息仍以短信发送")),
        Some("off") => Some((Tone::Ok, "已关闭微信提醒，这类消息改以短信发送")),
        _ => None,
    };
    page(layout::mobile(
        &web,
        "消息提醒",
        "/m/me",
        html! {
            @if let Some((tone, text)) = done { (notice(tone, text)) }
            div.card #notify-kinds {
                h3 { "接收方式" }
                p.muted { small { "开启微信提醒后，消息将以微信服务通知发给您；未开启或微信无法送达时，改发短信到您登记的手机号。每条消息只发一次。" } }
                ul.list {
                    @for k in &kinds {
                        @let t = k.kind.template();
                        li.notify-kind data-kind=(k.kind.as_str()) data-channel=(if k.by_wechat() { "wechat" } else { "sms" }) {
                            div.row {
                                strong { (t.title) }
                                @if k.by_wechat() { span.tag { "微信" } } @else { span.tag.grey { "短信" } }
                            }
                            small.muted { (t.when) " · " (model::subscription_label(k.status.as_deref())) }
                            @if k.by_wechat() {
                                form.inline method="post" action=(web.post_url(&format!("/m/messages/{}/off", k.kind.as_str()))) {
                                    " " button.link type="submit" id={ "notify-off-" (k.kind.as_str()) } { "关闭微信提醒" }
                                }
                            } @else {
                                form method="post" action=(web.post_url(&format!("/m/messages/{}/on", k.kind.as_str()))) {
                                    button.secondary type="submit" id={ "notify-on-" (k.kind.as_str()) } { "开启微信提醒" }
                                }
                            }
                        }
                    }
                }
            }
            div.card #notify-messages {
                h3 { "最近收到的消息" }
                @if messages.is_empty() { p.muted { "还没有消息" } }
                @else {
                    ul.list {
                        @for m in &messages {
                            li.notify-message data-kind=(m.kind.map(Kind::as_str).unwrap_or("")) data-channel=(m.channel.as_deref().unwrap_or("")) {
                                div.row {
                                    strong { (m.kind.map(Kind::label).unwrap_or("消息")) }
                                    span.muted { (Channel::label_of(m.channel.as_deref())) }
                                }
                                p { (m.text.trim_start_matches(model::SMS_SIGN)) }
                                small.muted { (when(m.sent_at.unwrap_or(m.created_at))) " · " (model::status_label(&m.status)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}

/// The tap on 开启微信提醒: off to WeChat's popup, which comes back to [`subscribed`].
#[handler]
async fn turn_on(web: Web, Path(kind): Path<String>) -> PageResult {
    web.authorize(&SUBSCRIBE_URL).await?;
    let back = format!(
        "{}{}",
        web.app.public_base(),
        web.link("/m/messages/subscribed")
    );
    let url = service::subscribe_url(&web.app, &web.auth, &kind, &back).map_err(api)?;
    Ok(see_other(&url))
}

#[handler]
async fn subscribed(web: Web, Query(a): Query<SubscribeAnswer>) -> PageResult {
    web.authorize(&SUBSCRIBE).await?;
    let (_, accepted) = service::record_answer(&web.app, &web.auth, &a)
        .await
        .map_err(api)?;
    let done = if accepted { "on" } else { "declined" };
    Ok(see_other(&web.link(&format!("/m/messages?done={done}"))))
}

#[handler]
async fn turn_off(web: Web, Path(kind): Path<String>) -> PageResult {
    web.authorize(&TURN_OFF).await?;
    service::turn_off(&web.app, &web.auth, &kind)
        .await
        .map_err(api)?;
    Ok(see_other(&web.link("/m/messages?done=off")))
}

#[handler]
async fn log(web: Web) -> PageResult {
    web.authorize_platform(&LOG).await?;
    let list = service::messages(&web.app, None, 200, true)
        .await
        .map_err(api)?;
    let count = |s: &str| list.iter().filter(|m| m.status == s).count();
    page(platform_page(
        &web,
        "消息发送记录",
        LOG_PATH,
        html! {
            (notice(Tone::Warn, "发给家长和教职工的消息：每条消息只发一次，优先微信订阅消息，未订阅或微信拒收时改发短信。接收人与学生姓名已脱敏。"))
            div.stats #notify-stats {
                div.stat { span.label { "最近记录" } strong { (list.len()) } }
                div.stat { span.label { "已送达" } strong #notify-sent { (count("sent")) } }
                div.stat { span.label { "重试中" } strong #notify-failed { (count("failed")) } }
                div.stat { span.label { "状态不明" } strong #notify-unknown { (count("unknown")) } }
            }
            @if list.is_empty() { p.muted { "还没有发送过消息" } }
            @else {
                div.table-wrap { table #notify-log {
                    thead { tr { th { "时间" } th { "接收人" } th { "消息" } th { "渠道" } th { "状态" } th { "内容" } th { "说明" } } }
                    tbody {
                        @for m in &list {
                            tr data-status=(m.status) data-channel=(m.channel.as_deref().unwrap_or("")) {
                                td { (when_s(m.sent_at.unwrap_or(m.created_at))) }
                                td { (m.recipient) }
                                td { (m.kind.map(Kind::label).unwrap_or("—")) }
                                td { (Channel::label_of(m.channel.as_deref())) }
                                td { (model::status_label(&m.status)) }
                                td { small { (m.text.trim_start_matches(model::SMS_SIGN)) } }
                                td { small { (m.detail.as_deref().unwrap_or("")) } }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

#[handler]
async fn sim_inbox(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    web.authorize_platform(&SIM_INBOX).await?;
    if web.app.wxpay_sim.is_none() {
        return page(platform_page(
            &web,
            "微信消息",
            SIM_PATH,
            notice(Tone::Warn, "当前为正式（live）模式，消息发往微信公众平台，没有模拟器可查看。发送情况见“消息发送记录”。"),
        ));
    }
    let v = crate::notify::api::sim_view(&web.app)
        .await
        .map_err(WebError::Api)?;
    let c_fault = Fault::parse(&v.fault).unwrap_or(Fault::None);
    let writes = web.app.authz.any_allows(
        &web.auth.platform_roles(),
        crate::auth::model::Domain::Platform,
        "platform.simulators",
        "write",
    );
    page(platform_page(
        &web,
        "微信消息模拟器",
        SIM_PATH,
        html! {
            @if q.done.as_deref() == Some("fault") { (notice(Tone::Ok, "故障模式已更新")) }
            (notice(Tone::Warn, "微信公众号订阅通知（bizsend）的模拟接收端：校验 access_token、模板、openid、用户订阅状态和字段长度（如 thing 不超过 20 字），收下的消息显示在这里。演示和测试环境使用。"))
            div.stats #wxmsg-stats {
                div.stat { span.label { "已收消息" } strong #wxmsg-messages { (v.messages) } }
                div.stat { span.label { "用户已允许的订阅" } strong #wxmsg-grants { (v.grants) } }
                div.stat { span.label { "未订阅拒收（43101）" } strong #wxmsg-rejected { (v.rejected) } }
                div.stat { span.label { "故障拒绝" } strong #wxmsg-refused { (v.refused) } }
            }
            h2 { "故障模拟" }
            p { "当前：" strong #wxmsg-fault { (c_fault.label()) } }
            @if writes {
                form.card.stack method="post" action=(web.post_url("/console/platform/sim/wechat-messages/fault")) id="wxmsg-fault-form" {
                    div.field { label for="fault" { "模式" }
                        select id="fault" name="fault" {
                            @for f in Fault::ALL { option value=(f.as_str()) selected[f == c_fault] { (f.label()) } }
                        }
                    }
                    button type="submit" { "应用" }
                }
            }
            h2 { "收件箱" }
            @if v.inbox.is_empty() { p.muted { "还没有收到消息" } }
            @else {
                div.table-wrap { table #wxmsg-inbox {
                    thead { tr { th { "收到时间" } th { "openid" } th { "模板" } th { "内容（姓名已脱敏）" } } }
                    tbody {
                        @for m in &v.inbox {
                            tr data-template=(m.template_id) {
                                td { (when_s(m.received_at)) }
                                td { code { (m.openid.chars().take(8).collect::<String>()) "…" } }
                                td { (m.title.as_deref().unwrap_or(&m.template_id)) }
                                td { small {
                                    @if let Some(map) = m.data.as_object() {
                                        @for (i, (k, val)) in map.iter().enumerate() {
                                            @if i > 0 { "；" }
                                            (k) "=" (val.as_str().unwrap_or(""))
                                        }
                                    }
                                } }
                            }
                        }
                    }
                } }
            }
        },
    ))
}

#[derive(Debug, Deserialize)]
struct FaultForm {
    fault: String,
}

#[handler]
async fn set_fault(web: Web, Form(f): Form<FaultForm>) -> PageResult {
    web.authorize_platform(&SIM_FAULT).await?;
    let Some(fault) = Fault::parse(&f.fault) else {
        return Err(WebError::Api(ApiError::new(
            crate::kernel::error::ErrorKind::Unprocessable,
            "SIM_FAULT_INVALID",
            "请选择故障模式",
            serde_json::json!({ "fault": f.fault }),
        )));
    };
    service::set_sim_fault(&web.app, &web.auth, fault)
        .await
        .map_err(internal)?;
    Ok(see_other(&format!("{SIM_PATH}?done=fault")))
}
