//! Sending messages: [`emit`] in the transaction of the change that causes one, the
//! outbox handler [`deliver`] that sends it once by WeChat or SMS, and the recipient's
//! subscriptions.
//!
//! A message goes by WeChat when the recipient accepted its kind in WeChat's popup and
//! WeChat is reachable; otherwise, or when WeChat says the user turned it off (43101), by
//! SMS to the account's phone. Each (kind, cause, recipient) is sent at most once: the
//! outbox key drops a second event, and the log row written before the call drops a
//! second delivery of the same event, even after a crash in between (then the message is
//! marked `unknown` rather than sent twice). A recipient gets at most `rate_max` messages
//! per window and `daily_max` per day; the rest wait in the outbox without losing a try.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use super::error::NotifyError;
use super::model::{self, Channel, Kind, Message, EVENT};
use super::repo::{self, Claim};
use super::sim::{self, Fault};
use super::wechat::{Outgoing, SendError};
use crate::audit::{AuditEvent, Outcome as AuditOutcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::keys::Keys;
use crate::outbox::{self, Event, NewEvent, Outcome};
use crate::pii::Phone;

const FIELDS_AAD: &[u8] = b"platform.notify.fields";
const LIVE_API: &str = "https://api.weixin.qq.com";
const LIVE_SUBSCRIBE: &str = "https://mp.weixin.qq.com/mp/subscribemsg";
/// Where the WeChat message simulator is served.
pub const SIM_PREFIX: &str = "/sim/wechat";

/// Writes the message's outbox event in the caller's transaction (which must not be in a
/// tenant role: the key needs the platform's privileges). `false` when the same message
/// was asked for before, or it is malformed (logged: a bug, not the user's fault).
pub async fn emit(c: &mut PgConnection, keys: &Keys, m: &Message) -> sqlx::Result<bool> {
    let problems = m.problems();
    if !problems.is_empty() {
        tracing::error!(
            kind = m.kind.as_str(),
            ?problems,
            "message fields do not fit; not sent"
        );
        return Ok(false);
    }
    let sealed = keys.pii.encrypt(
        &serde_json::to_vec(&m.fields).unwrap_or_default(),
        FIELDS_AAD,
    );
    let ev = NewEvent::new(
        EVENT,
        format!("account:{}", m.account_id),
        json!({
            "kind": m.kind.as_str(), "account_id": m.account_id, "tenant_id": m.tenant_id,
            "source": m.source, "key": m.key(), "fields": hex::encode(sealed),
        }),
    )
    .keyed(m.key());
    outbox::emit(c, m.tenant_id, &ev).await
}

#[derive(Deserialize)]
struct Payload {
    kind: String,
    account_id: i64,
    tenant_id: Option<i64>,
    key: String,
    fields: String,
}

/// The outbox handler of [`EVENT`].
pub fn deliver(st: Arc<Ctx>, events: Vec<Event>) -> outbox::Delivery {
    Box::pin(async move {
        let mut out = Vec::with_capacity(events.len());
        for ev in &events {
            out.push(match deliver_one(&st, ev).await {
                Ok(o) => o,
                Err(e) => Outcome::Retry(format!("数据库错误：{e}")),
            });
        }
        out
    })
}

/// Where WeChat is and the secret to ask it for a token: the simulator on this server
/// unless WeChat Pay runs live (then the official account's AppSecret, if configured).
fn wechat_endpoint(st: &Ctx) -> Option<(String, String)> {
    if st.wxpay_sim.is_some() {
        return Some((
            format!("{}{SIM_PREFIX}", st.local_base()),
            sim::secret(&st.keys),
        ));
    }
    let secret = st.wx_oauth.app_secret.as_ref()?;
    Some((LIVE_API.into(), secret.expose_secret().to_string()))
}

async fn deliver_one(st: &Ctx, ev: &Event) -> sqlx::Result<Outcome> {
    let Ok(p) = serde_json::from_value::<Payload>(ev.payload.clone()) else {
        return Ok(Outcome::Dead("消息内容无法解析".into()));
    };
    let Some(kind) = Kind::parse(&p.kind) else {
        return Ok(Outcome::Dead(format!("未知的消息类型 {}", p.kind)));
    };
    let Some(fields) = hex::decode(&p.fields)
        .ok()
        .and_then(|b| st.keys.pii.decrypt(&b, FIELDS_AAD).ok())
        .and_then(|b| serde_json::from_slice::<BTreeMap<String, String>>(&b).ok())
    else {
        return Ok(Outcome::Dead("消息字段无法解密".into()));
    };
    let s = &st.notify.settings;
    let mut c = st.db_app.acquire().await?;
    // Sent before (a second delivery of the event): done, whatever the rate.
    let before = repo::status(&mut c, &p.key).await?;
    for (window, max) in [
        (s.rate_window_secs.max(1), s.rate_max),
        (86_400, s.daily_max),
    ] {
        if before.as_deref().is_some_and(|s| s != "failed") {
            break;
        }
        let (n, wait) = repo::sent_within(&mut c, p.account_id, window as i64).await?;
        if n >= i64::from(max.max(1)) {
            let wait = wait.max(100) as u64;
            return Ok(Outcome::Later(
                format!("接收人 {window} 秒内已收到 {n} 条消息，稍后发送"),
                wait,
            ));
        }
    }
    let sealed = hex::decode(&p.fields).unwrap_or_default();
    let id = match repo::claim(
        &mut c,
        &p.key,
        p.account_id,
        p.tenant_id,
        kind.as_str(),
        &sealed,
    )
    .await?
    {
        Claim::Send(id) => id,
        Claim::Settled(_) => return Ok(Outcome::Done),
    };
    let mut note = None;
    if let Some(openid) = wechat_openid(st, &mut c, p.account_id, kind).await? {
        if let Some((base, secret)) = wechat_endpoint(st) {
            let template_id = s.template_id(kind);
            let page = page_url(st, &mut c, p.tenant_id, kind).await?;
            let sent = st
                .notify
                .wechat
                .send(
                    &base,
                    st.wechatpay.appid(),
                    &secret,
                    &Outgoing {
                        openid: &openid,
                        template_id: &template_id,
                        page: &page,
                        fields: &fields,
                    },
                )
                .await;
            match sent {
                Ok(msgid) => {
                    let w = Some(Channel::Wechat.as_str());
                    repo::finish(&mut c, id, "sent", w, None, Some(&msgid)).await?;
                    return Ok(Outcome::Done);
                }
                Err(SendError::Refused(_, why)) => {
                    repo::set_subscription(&mut c, p.account_id, kind.as_str(), "off", None)
                        .await?;
                    note = Some(format!("{why}，改用短信"));
                }
                Err(SendError::Invalid(_, why)) => {
                    repo::finish(&mut c, id, "failed", None, Some(&why), None).await?;
                    return Ok(Outcome::Dead(why));
                }
                Err(SendError::Failed(why)) => {
                    repo::finish(&mut c, id, "failed", None, Some(&why), None).await?;
                    return Ok(Outcome::Retry(why));
                }
                Err(SendError::Unknown(why)) => {
                    let w = Some(Channel::Wechat.as_str());
                    let why = format!("{why}；为免重复不再发送");
                    repo::finish(&mut c, id, "unknown", w, Some(&why), None).await?;
                    return Ok(Outcome::Done);
                }
            }
        }
    }
    let Some(phone) = repo::phone_enc(&mut c, p.account_id)
        .await?
        .and_then(|enc| {
            st.keys
                .pii
                .decrypt_str(&enc, crate::auth::service::PHONE_AAD)
                .ok()
        })
        .and_then(|p| Phone::parse(&p).ok())
    else {
        let why = "接收人没有可用的手机号";
        repo::finish(&mut c, id, "failed", None, Some(why), None).await?;
        return Ok(Outcome::Dead(why.into()));
    };
    let sms = Some(Channel::Sms.as_str());
    match st.sms.send(&phone, &model::sms_text(kind, &fields)).await {
        Ok(()) => {
            repo::finish(&mut c, id, "sent", sms, note.as_deref(), None).await?;
            Ok(Outcome::Done)
        }
        Err(e) => {
            let why = format!("短信发送失败：{e}");
            repo::finish(&mut c, id, "failed", None, Some(&why), None).await?;
            Ok(Outcome::Retry(why))
        }
    }
}

/// The address the message opens: the kind's page in the child's school.
async fn page_url(
    st: &Ctx,
    c: &mut PgConnection,
    tenant_id: Option<i64>,
    kind: Kind,
) -> sqlx::Result<String> {
    let code = match tenant_id {
        Some(t) => crate::tenancy::lookup::find_by_id(&mut *c, t)
            .await?
            .map(|r| format!("/t/{}", r.code)),
        None => None,
    };
    Ok(format!(
        "{}{}{}",
        st.public_base(),
        code.unwrap_or_default(),
        kind.template().page
    ))
}

/// The openid to send `kind` to: the recipient accepted it in WeChat's popup.
async fn wechat_openid(
    st: &Ctx,
    c: &mut PgConnection,
    account_id: i64,
    kind: Kind,
) -> sqlx::Result<Option<String>> {
    let subs = repo::subscriptions(c, account_id).await?;
    let Some(sub) = subs
        .into_iter()
        .find(|r| r.kind == kind.as_str() && r.status == "accept")
    else {
        return Ok(None);
    };
    match sub.openid {
        Some(o) => Ok(Some(o)),
        None => repo::openid(c, account_id, st.wechatpay.appid()).await,
    }
}

// ---- the recipient's subscriptions ------------------------------------------------------

/// One kind of message as the recipient sees it.
#[derive(Debug, Clone)]
pub struct KindState {
    pub kind: Kind,
    /// accept | reject | off | None (never asked)
    pub status: Option<String>,
    pub changed_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl KindState {
    pub fn by_wechat(&self) -> bool {
        self.status.as_deref() == Some("accept")
    }
}

/// A message as shown to its recipient or an operator.
#[derive(Debug, Clone)]
pub struct Sent {
    pub id: i64,
    pub account_id: i64,
    pub recipient: String,
    pub tenant_id: Option<i64>,
    pub kind: Option<Kind>,
    pub channel: Option<String>,
    pub status: String,
    /// The text as the recipient reads it (the SMS wording).
    pub text: String,
    pub detail: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn kinds(st: &Ctx, account_id: i64) -> Result<Vec<KindState>, NotifyError> {
    let mut c = st.db_app.acquire().await?;
    let subs = repo::subscriptions(&mut c, account_id).await?;
    Ok(Kind::ALL
        .into_iter()
        .map(|kind| {
            let row = subs.iter().find(|r| r.kind == kind.as_str());
            KindState {
                kind,
                status: row.map(|r| r.status.clone()),
                changed_at: row.map(|r| r.changed_at),
            }
        })
        .collect())
}

/// The newest messages of one recipient (`Some`) or of everyone; `mask` hides the
/// recipient's and the children's names (the operator's view).
pub async fn messages(
    st: &Ctx,
    account_id: Option<i64>,
    limit: i64,
    mask: bool,
) -> Result<Vec<Sent>, NotifyError> {
    let mut c = st.db_app.acquire().await?;
    let rows = repo::messages(&mut c, account_id, limit.clamp(1, 500)).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let kind = Kind::parse(&r.kind);
            let mut fields: BTreeMap<String, String> = st
                .keys
                .pii
                .decrypt(&r.fields_enc, FIELDS_AAD)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if mask {
                for (k, v) in fields.iter_mut() {
                    if k.starts_with("name") {
                        *v = crate::pii::mask_name(v);
                    }
                }
            }
            Sent {
                text: kind
                    .map(|k| model::sms_text(k, &fields))
                    .unwrap_or_default(),
                id: r.id,
                account_id: r.account_id,
                recipient: if mask {
                    crate::pii::mask_name(&r.display_name)
                } else {
                    r.display_name
                },
                tenant_id: r.tenant_id,
                kind,
                channel: r.channel,
                status: r.status,
                detail: r.detail,
                created_at: r.created_at,
                sent_at: r.sent_at,
            }
        })
        .collect())
}

/// The state that ties WeChat's answer to this session.
fn state_for(st: &Ctx, auth: &AuthContext) -> String {
    hex::encode(
        &st.keys
            .pii
            .blind_index("wx_subscribe_state", &auth.session_id.to_string())[..12],
    )
}

/// Where to send the browser so WeChat asks the user to accept `kind`; it comes back to
/// `redirect_uri` (a page of ours) with the answer.
pub fn subscribe_url(
    st: &Ctx,
    auth: &AuthContext,
    kind: &str,
    redirect_uri: &str,
) -> Result<String, NotifyError> {
    let kind = Kind::parse(kind).ok_or_else(|| NotifyError::KindUnknown {
        kind: kind.to_string(),
    })?;
    if !st.is_our_page(redirect_uri) {
        return Err(NotifyError::RedirectInvalid {
            expected_origin: st.public_base(),
        });
    }
    let base = if st.wxpay_sim.is_some() {
        format!("{}{SIM_PREFIX}/mp/subscribemsg", st.public_base())
    } else if st.wx_oauth.app_secret.is_some() {
        LIVE_SUBSCRIBE.to_string()
    } else {
        return Err(NotifyError::WechatUnavailable);
    };
    let mut u = url::Url::parse(&base).map_err(|_| NotifyError::WechatUnavailable)?;
    u.query_pairs_mut()
        .append_pair("action", "get_confirm")
        .append_pair("appid", st.wechatpay.appid())
        .append_pair("scene", "1")
        .append_pair("template_id", &st.notify.settings.template_id(kind))
        .append_pair("redirect_url", redirect_uri)
        .append_pair("reserved", &state_for(st, auth));
    Ok(format!("{u}#wechat_redirect"))
}

/// WeChat's answer from the popup, as it comes back to our page.
#[derive(Debug, Clone, Deserialize, poem_openapi::Object)]
pub struct SubscribeAnswer {
    pub openid: String,
    pub template_id: String,
    /// confirm 允许 | cancel 取消
    pub action: String,
    pub reserved: String,
}

/// Records the user's answer; the kind and whether it was accepted.
pub async fn record_answer(
    st: &Ctx,
    auth: &AuthContext,
    a: &SubscribeAnswer,
) -> Result<(Kind, bool), NotifyError> {
    if a.reserved != state_for(st, auth) {
        return Err(NotifyError::StateMismatch);
    }
    let kind =
        st.notify
            .settings
            .kind_of(&a.template_id)
            .ok_or_else(|| NotifyError::TemplateUnknown {
                template_id: a.template_id.clone(),
            })?;
    let accept = match a.action.as_str() {
        "confirm" => true,
        "cancel" => false,
        other => {
            return Err(NotifyError::ActionInvalid {
                action: other.to_string(),
            })
        }
    };
    let mut c = st.db_app.acquire().await?;
    if let Some(bound) = repo::openid(&mut c, auth.account_id, st.wechatpay.appid()).await? {
        if bound != a.openid {
            return Err(NotifyError::OpenidMismatch);
        }
    }
    let status = if accept { "accept" } else { "reject" };
    repo::set_subscription(
        &mut c,
        auth.account_id,
        kind.as_str(),
        status,
        Some(&a.openid),
    )
    .await?;
    drop(c);
    subscription_audit(st, auth, kind, status).await;
    Ok((kind, accept))
}

/// Turns WeChat messages of `kind` off for the user: they come by SMS.
pub async fn turn_off(st: &Ctx, auth: &AuthContext, kind: &str) -> Result<Kind, NotifyError> {
    let kind = Kind::parse(kind).ok_or_else(|| NotifyError::KindUnknown {
        kind: kind.to_string(),
    })?;
    let mut c = st.db_app.acquire().await?;
    repo::set_subscription(&mut c, auth.account_id, kind.as_str(), "off", None).await?;
    drop(c);
    subscription_audit(st, auth, kind, "off").await;
    Ok(kind)
}

async fn subscription_audit(st: &Ctx, auth: &AuthContext, kind: Kind, status: &str) {
    st.audit_event(
        AuditEvent::new(
            "notify.subscription",
            format!("account:{}", auth.account_id),
            AuditOutcome::Success,
        )
        .who(Some(auth.account_id), None)
        .with_ip(auth.source_ip.clone())
        .details(json!({ "kind": kind.as_str(), "status": status })),
    )
    .await;
}

/// Sets the simulator's fault mode, audited (the page and the API).
pub async fn set_sim_fault(
    st: &crate::kernel::ctx::Ctx,
    auth: &crate::auth::model::AuthContext,
    fault: Fault,
) -> Result<(), sqlx::Error> {
    sim::set_fault(&st.db_app, fault).await?;
    st.audit_event(
        crate::audit::AuditEvent::new(
            "notify.sim.fault",
            "notify:sim",
            crate::audit::Outcome::Success,
        )
        .who(Some(auth.account_id), None)
        .with_ip(auth.source_ip.clone())
        .details(serde_json::json!({ "fault": fault.as_str() })),
    )
    .await;
    Ok(())
}
