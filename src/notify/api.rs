//! The notify service's JSON endpoints (the pages call the same services): the signed-in
//! user's message kinds with their WeChat subscription and the messages they got; the
//! WeChat subscription round trip; for operators, the delivery log and the WeChat message
//! simulator's inbox and fault control.

use chrono::{DateTime, Utc};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::json;

use super::model::{self, Channel, Kind};
use super::perms::{LOG, MINE, SIM_FAULT, SIM_INBOX, SUBSCRIBE, SUBSCRIBE_URL, TURN_OFF};
use super::service::{self, KindState, Sent, SubscribeAnswer};
use super::sim::{self, Fault};
use crate::auth::guard::{authorize, Session};
use crate::error::{ApiError, ErrorKind};
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct KindView {
    /// booking_confirmed | refund_arrived | request_decided
    pub kind: String,
    /// 消息名称
    pub title: String,
    /// 何时发送
    pub when: String,
    /// accept 已开启 | reject 已拒绝 | off 已关闭；未设置时不返回
    pub status: Option<String>,
    pub status_label: String,
    /// 当前发送方式：wechat 微信订阅消息 | sms 短信
    pub channel: String,
    pub changed_at: Option<DateTime<Utc>>,
}

impl From<KindState> for KindView {
    fn from(k: KindState) -> Self {
        let t = k.kind.template();
        KindView {
            kind: k.kind.as_str().into(),
            title: t.title.into(),
            when: t.when.into(),
            status_label: model::subscription_label(k.status.as_deref()).into(),
            channel: if k.by_wechat() {
                Channel::Wechat
            } else {
                Channel::Sms
            }
            .as_str()
            .into(),
            status: k.status,
            changed_at: k.changed_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageView {
    pub id: i64,
    pub account_id: i64,
    /// 接收人（运营视图中脱敏）
    pub recipient: String,
    pub tenant_id: Option<i64>,
    pub kind: Option<String>,
    pub title: Option<String>,
    /// wechat | sms
    pub channel: Option<String>,
    pub channel_label: String,
    /// sending | sent | failed | unknown
    pub status: String,
    pub status_label: String,
    /// 消息内容
    pub text: String,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<Sent> for MessageView {
    fn from(m: Sent) -> Self {
        MessageView {
            id: m.id,
            account_id: m.account_id,
            recipient: m.recipient,
            tenant_id: m.tenant_id,
            kind: m.kind.map(|k| k.as_str().into()),
            title: m.kind.map(|k| k.label().into()),
            channel_label: Channel::label_of(m.channel.as_deref()).into(),
            channel: m.channel,
            status_label: model::status_label(&m.status).into(),
            status: m.status,
            text: m.text,
            detail: m.detail,
            created_at: m.created_at,
            sent_at: m.sent_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct MyNotifyView {
    pub kinds: Vec<KindView>,
    /// 最近收到的消息（最多 20 条）
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Object)]
pub struct SubscribeUrl {
    /// 跳转到微信订阅确认页的地址
    pub url: String,
}

#[derive(Debug, Object)]
pub struct WxSimMessageView {
    pub msgid: String,
    pub openid: String,
    pub template_id: String,
    pub title: Option<String>,
    /// 字段内容（姓名类字段已脱敏）
    pub data: serde_json::Value,
    pub page: Option<String>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct WxSimView {
    /// none | busy | refuse | timeout | revoked
    pub fault: String,
    pub fault_label: String,
    pub messages: i64,
    /// 用户已允许的订阅（用户 × 模板）
    pub grants: i64,
    /// 故障模拟拒绝的请求
    pub refused: i64,
    /// 因用户未订阅而拒收（43101）
    pub rejected: i64,
    /// 最新消息（最多 100 条）
    pub inbox: Vec<WxSimMessageView>,
}

#[derive(Debug, Object)]
pub struct WxFaultRequest {
    /// none | busy | refuse | timeout | revoked
    pub fault: String,
}

fn no_simulator() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "SIMULATOR_ABSENT",
        "当前为正式模式，没有微信消息模拟器",
        json!({}),
    )
}

/// The simulator's state and newest messages, names masked (the page shows the same).
pub async fn sim_view(st: &crate::kernel::ctx::Ctx) -> Result<WxSimView, ApiError> {
    let c = sim::counters(&st.db_app)
        .await
        .map_err(ApiError::internal)?;
    let inbox = sim::inbox(&st.db_app, &st.keys, None, 100)
        .await
        .map_err(ApiError::internal)?;
    Ok(WxSimView {
        fault: c.fault.as_str().into(),
        fault_label: c.fault.label().into(),
        messages: c.messages,
        grants: c.grants,
        refused: c.refused,
        rejected: c.rejected,
        inbox: inbox
            .into_iter()
            .map(|m| WxSimMessageView {
                title: m.kind.map(|k: Kind| k.label().into()),
                data: serde_json::Value::Object(
                    m.fields
                        .into_iter()
                        .map(|(k, v)| {
                            let v = if k.starts_with("name") {
                                crate::pii::mask_name(&v)
                            } else {
                                v
                            };
                            (k, serde_json::Value::String(v))
                        })
                        .collect(),
                ),
                msgid: m.msgid,
                openid: m.openid,
                template_id: m.template_id,
                page: m.page,
                received_at: m.received_at,
            })
            .collect(),
    })
}

pub struct NotifyApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl NotifyApi {
    /// 我的消息提醒：各类消息的接收方式与最近收到的消息
    #[oai(path = "/me/notify", method = "get", operation_id = "notify_mine")]
    async fn mine(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<MyNotifyView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &MINE).await?;
        let id = session.0.account_id;
        let kinds = service::kinds(app.0, id).await?;
        let messages = service::messages(app.0, Some(id), 20, false).await?;
        Ok(Json(MyNotifyView {
            kinds: kinds.into_iter().map(Into::into).collect(),
            messages: messages.into_iter().map(Into::into).collect(),
        }))
    }

    /// 开启微信提醒：返回微信订阅确认页地址，确认后回到 redirect_uri
    #[oai(
        path = "/me/notify/subscribe-url",
        method = "get",
        operation_id = "notify_subscribe_url"
    )]
    async fn subscribe_url(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        kind: Query<String>,
        redirect_uri: Query<String>,
    ) -> Result<Json<SubscribeUrl>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SUBSCRIBE_URL).await?;
        let url = service::subscribe_url(app.0, &session.0, &kind.0, &redirect_uri.0)?;
        Ok(Json(SubscribeUrl { url }))
    }

    /// 记录微信订阅确认页的结果（openid、template_id、action、reserved 原样提交）
    #[oai(
        path = "/me/notify/subscriptions",
        method = "post",
        operation_id = "notify_subscribe"
    )]
    async fn subscribe(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<SubscribeAnswer>,
    ) -> Result<Json<KindView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SUBSCRIBE).await?;
        let (kind, _) = service::record_answer(app.0, &session.0, &body.0).await?;
        kind_view(app.0, session.0.account_id, kind).await
    }

    /// 关闭某类消息的微信提醒（改用短信）
    #[oai(
        path = "/me/notify/kinds/:kind/off",
        method = "post",
        operation_id = "notify_turn_off"
    )]
    async fn turn_off(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        kind: Path<String>,
    ) -> Result<Json<KindView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &TURN_OFF).await?;
        let kind = service::turn_off(app.0, &session.0, &kind.0).await?;
        kind_view(app.0, session.0.account_id, kind).await
    }

    /// 消息发送记录（运营；接收人与姓名脱敏）
    #[oai(
        path = "/platform/notify/messages",
        method = "get",
        operation_id = "platform_notify_log",
        tag = "ApiTags::Platform"
    )]
    async fn log(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        account_id: Query<Option<i64>>,
    ) -> Result<Json<Vec<MessageView>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &LOG).await?;
        let list = service::messages(app.0, account_id.0, 200, true).await?;
        Ok(Json(list.into_iter().map(Into::into).collect()))
    }

    /// 微信消息模拟器：收件箱与计数
    #[oai(
        path = "/platform/simulators/wechat-messages",
        method = "get",
        operation_id = "platform_wxmsg_sim",
        tag = "ApiTags::Platform"
    )]
    async fn sim_inbox(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<WxSimView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SIM_INBOX).await?;
        if app.0.wxpay_sim.is_none() {
            return Err(no_simulator());
        }
        Ok(Json(sim_view(app.0).await?))
    }

    /// 设置微信消息模拟器的故障模式
    #[oai(
        path = "/platform/simulators/wechat-messages/fault",
        method = "put",
        operation_id = "platform_wxmsg_sim_fault",
        tag = "ApiTags::Platform"
    )]
    async fn sim_fault(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<WxFaultRequest>,
    ) -> Result<Json<WxSimView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &SIM_FAULT).await?;
        if app.0.wxpay_sim.is_none() {
            return Err(no_simulator());
        }
        let fault = Fault::parse(&body.0.fault).ok_or_else(|| {
            ApiError::new(
                ErrorKind::Unprocessable,
                "SIM_FAULT_INVALID",
                "故障模式应为 none、busy、refuse、timeout 或 revoked",
                json!({ "fault": body.0.fault }),
            )
        })?;
        service::set_sim_fault(app.0, &session.0, fault)
            .await
            .map_err(ApiError::internal)?;
        Ok(Json(sim_view(app.0).await?))
    }
}

async fn kind_view(
    st: &crate::kernel::ctx::Ctx,
    account_id: i64,
    kind: Kind,
) -> Result<Json<KindView>, ApiError> {
    let all = service::kinds(st, account_id).await?;
    let k = all
        .into_iter()
        .find(|k| k.kind == kind)
        .ok_or_else(|| ApiError::internal("kind vanished"))?;
    Ok(Json(k.into()))
}
