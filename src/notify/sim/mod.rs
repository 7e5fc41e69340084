//! The WeChat official-account message simulator, the embedded default receiver of the
//! notify service (`/sim/wechat/cgi-bin/...`, endpoints in [`super::sim_api`]). It answers
//! as WeChat does:
//!
//! - `GET /cgi-bin/token`: an access token for the right app id and secret (40013, 40125);
//! - `POST /cgi-bin/message/subscribe/bizsend`: checks the token (40001), the template
//!   (40037), the openid (40003), the user's subscription (43101) and every field against
//!   its type's limit (47003), then keeps the message in its inbox;
//! - `/mp/subscribemsg`: the popup where the (simulated) user accepts or refuses a
//!   template, returning to our page with the result.
//!
//! Fault control (busy, refuse with 503, time out, everyone revoked) is kept in the
//! database, so it works across processes. Owns `platform.wxmsg_sim_*`.

pub mod repo;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

use crate::keys::Keys;
use crate::notify::model::{FieldType, Kind, TEMPLATES};

const DATA_AAD: &[u8] = b"platform.wxmsg_sim_inbox.data";
const TOKEN_SECS: i64 = 7200;

/// The simulator's fault modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// `errcode -1` 系统繁忙.
    Busy,
    /// HTTP 503.
    Refuse,
    /// No answer for 30 seconds.
    Timeout,
    /// Every user has turned the messages off (43101).
    Revoked,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::None,
        Fault::Busy,
        Fault::Refuse,
        Fault::Timeout,
        Fault::Revoked,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Busy => "busy",
            Fault::Refuse => "refuse",
            Fault::Timeout => "timeout",
            Fault::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.as_str() == s)
    }
    pub fn label(self) -> &'static str {
        match self {
            Fault::None => "正常",
            Fault::Busy => "系统繁忙（errcode -1）",
            Fault::Refuse => "拒绝服务（HTTP 503）",
            Fault::Timeout => "不应答（超时）",
            Fault::Revoked => "用户均已关闭提醒（43101）",
        }
    }
}

/// The app secret the simulator accepts (derived from the data keys, never used live).
pub fn secret(keys: &Keys) -> String {
    hex::encode(&keys.pii.blind_index("wxmsg.sim", "app-secret")[..16])
}

fn token_sig(keys: &Keys, payload: &str) -> String {
    hex::encode(&keys.pii.blind_index("wxmsg.sim.token", payload)[..12])
}

/// A token for `appid`, valid for two hours.
pub fn issue_token(keys: &Keys, appid: &str, now: DateTime<Utc>) -> (String, i64) {
    let payload = format!("{appid}.{}", now.timestamp() + TOKEN_SECS);
    (
        format!("SIMAT.{payload}.{}", token_sig(keys, &payload)),
        TOKEN_SECS,
    )
}

/// Whether `token` is one the simulator issued for `appid` and still valid.
pub fn token_ok(keys: &Keys, appid: &str, token: &str, now: DateTime<Utc>) -> bool {
    let Some(rest) = token.strip_prefix("SIMAT.") else {
        return false;
    };
    let Some((payload, sig)) = rest.rsplit_once('.') else {
        return false;
    };
    let Some((app, exp)) = payload.rsplit_once('.') else {
        return false;
    };
    app == appid
        && sig == token_sig(keys, payload)
        && exp.parse::<i64>().is_ok_and(|e| e > now.timestamp())
}

/// The kind of a template the simulator knows.
pub fn template(template_id: &str) -> Option<Kind> {
    TEMPLATES
        .iter()
        .find(|t| t.sim_id == template_id)
        .map(|t| t.kind)
}

fn openid_ok(openid: &str) -> bool {
    openid.len() == 28
        && openid.starts_with('o')
        && openid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Checks a bizsend body and keeps the message; the msgid, or WeChat's errcode and errmsg.
pub async fn send(pool: &PgPool, keys: &Keys, body: &Value) -> Result<String, (i64, String)> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    let (openid, template_id) = (s("touser"), s("template_id"));
    let Some(kind) = template(template_id) else {
        return Err((40037, "invalid template_id".into()));
    };
    if !openid_ok(openid) {
        return Err((40003, "invalid openid".into()));
    }
    let mut data = BTreeMap::new();
    let given = body.get("data").and_then(Value::as_object);
    for (key, _) in kind.template().fields {
        let v = given
            .and_then(|d| d.get(*key))
            .and_then(|f| f.get("value"))
            .and_then(Value::as_str);
        let ok = match (v, FieldType::of_key(key)) {
            (Some(v), Some(t)) => t.accepts(v),
            _ => false,
        };
        if !ok {
            return Err((47003, format!("argument invalid! data.{key}.value invalid")));
        }
        data.insert(key.to_string(), v.unwrap_or_default().to_string());
    }
    let mut conn = pool.acquire().await.map_err(internal)?;
    if repo::fault(&mut conn).await.map_err(internal)? == Fault::Revoked
        || repo::grant(&mut conn, openid, template_id)
            .await
            .map_err(internal)?
            .as_deref()
            != Some("accept")
    {
        repo::count(&mut conn, "rejected").await.map_err(internal)?;
        return Err((43101, "user refuse to accept the msg".into()));
    }
    let msgid = format!("{}", rand::random::<u64>() >> 11);
    let sealed = keys
        .pii
        .encrypt(&serde_json::to_vec(&data).unwrap_or_default(), DATA_AAD);
    repo::keep(&mut conn, &msgid, openid, template_id, &sealed, s("page"))
        .await
        .map_err(internal)?;
    Ok(msgid)
}

fn internal(e: sqlx::Error) -> (i64, String) {
    tracing::error!(error = %e, "wechat message simulator");
    (-1, "system error".into())
}

/// A message in the inbox, its fields decrypted.
pub struct InboxMessage {
    pub msgid: String,
    pub openid: String,
    pub kind: Option<Kind>,
    pub template_id: String,
    pub fields: BTreeMap<String, String>,
    pub page: Option<String>,
    pub received_at: DateTime<Utc>,
}

pub async fn inbox(
    pool: &PgPool,
    keys: &Keys,
    openid: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<InboxMessage>> {
    let mut conn = pool.acquire().await?;
    let rows = repo::inbox(&mut conn, openid, limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| InboxMessage {
            kind: template(&r.template_id),
            fields: keys
                .pii
                .decrypt(&r.data_enc, DATA_AAD)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
            msgid: r.msgid,
            openid: r.openid,
            template_id: r.template_id,
            page: r.page,
            received_at: r.received_at,
        })
        .collect())
}

pub use repo::{counters, Counters};

/// Records the user's answer in the popup.
pub async fn set_grant(
    pool: &PgPool,
    openid: &str,
    template_id: &str,
    accept: bool,
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    repo::set_grant(&mut conn, openid, template_id, accept).await
}

pub async fn fault(pool: &PgPool) -> sqlx::Result<Fault> {
    let mut conn = pool.acquire().await?;
    repo::fault(&mut conn).await
}

pub async fn set_fault(pool: &PgPool, f: Fault) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    repo::set_fault(&mut conn, f).await
}

/// Counts a request refused by the fault control.
pub async fn count_refused(pool: &PgPool) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    repo::count(&mut conn, "refused").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked() {
        let keys = Keys::ephemeral();
        let now = Utc::now();
        let (t, life) = issue_token(&keys, "wx1", now);
        assert_eq!(life, 7200);
        assert!(token_ok(&keys, "wx1", &t, now));
        assert!(!token_ok(&keys, "wx2", &t, now));
        assert!(!token_ok(
            &keys,
            "wx1",
            &t,
            now + chrono::Duration::seconds(7201)
        ));
        assert!(!token_ok(
            &keys,
            "wx1",
            &t.replace("SIMAT.", "SIMAT.x"),
            now
        ));
        assert!(!openid_ok("not-an-openid"));
        assert!(openid_ok(&crate::wechatpay::sim_user::openid(
            "wx1",
            "0123456789abcdef0123456789abcdef"
        )));
    }
}
