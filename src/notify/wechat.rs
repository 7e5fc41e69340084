//! The WeChat official account's message API as the notify service uses it: the access
//! token (`GET /cgi-bin/token`, cached until shortly before it expires) and the
//! subscription message (`POST /cgi-bin/message/subscribe/bizsend`). The simulator under
//! `/sim/wechat` answers the same calls with the same `errcode`s.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// How a send ended when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The user does not take this message by WeChat (43101 not subscribed or revoked,
    /// 40003 openid unknown): nothing was sent, the message goes by SMS.
    Refused(i64, String),
    /// WeChat says our request is wrong (47003 field, 40037 template): never retried.
    Invalid(i64, String),
    /// Nothing was sent (busy, 5xx, no connection): tried again later.
    Failed(String),
    /// No answer: it may have been sent, so it is not sent again.
    Unknown(String),
}

impl SendError {
    /// WeChat's error codes, sorted into the four outcomes.
    pub fn of_errcode(errcode: i64, errmsg: &str) -> SendError {
        let msg = format!("微信返回 {errcode}：{errmsg}");
        match errcode {
            43101 | 40003 | 43004 => SendError::Refused(errcode, msg),
            47003 | 40037 | 41030 => SendError::Invalid(errcode, msg),
            _ => SendError::Failed(msg),
        }
    }
}

/// A token and when to stop using it.
type Cached = Option<(String, Instant)>;

/// The client: where WeChat is, the account's credentials, and the token cache.
pub struct WxMessages {
    http: reqwest::Client,
    token: Mutex<Cached>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

#[derive(Deserialize)]
struct SendAnswer {
    errcode: Option<i64>,
    errmsg: Option<String>,
    msgid: Option<Value>,
}

/// One subscription message.
pub struct Outgoing<'a> {
    pub openid: &'a str,
    pub template_id: &'a str,
    /// The page of ours it opens.
    pub page: &'a str,
    pub fields: &'a BTreeMap<String, String>,
}

fn failed(e: reqwest::Error) -> SendError {
    if (e.is_connect() || e.is_builder()) && !e.is_timeout() {
        SendError::Failed(format!("连接微信失败：{e}"))
    } else {
        SendError::Unknown(format!("微信未应答：{e}"))
    }
}

impl WxMessages {
    pub fn new(timeout: Duration) -> anyhow::Result<Self> {
        Ok(WxMessages {
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .timeout(timeout)
                .build()?,
            token: Mutex::new(None),
        })
    }

    async fn token(&self, base: &str, appid: &str, secret: &str) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let a: TokenAnswer = self
            .http
            .get(format!("{base}/cgi-bin/token"))
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", appid),
                ("secret", secret),
            ])
            .send()
            .await
            .map_err(|e| SendError::Failed(format!("获取 access_token 失败：{e}")))?
            .json()
            .await
            .map_err(|e| SendError::Failed(format!("access_token 应答无法解析：{e}")))?;
        match a.access_token {
            Some(t) => {
                let life = a.expires_in.unwrap_or(7200).saturating_sub(300).max(60);
                *cached = Some((t.clone(), Instant::now() + Duration::from_secs(life)));
                Ok(t)
            }
            None => Err(SendError::Failed(format!(
                "获取 access_token 失败：{} {}",
                a.errcode.unwrap_or(-1),
                a.errmsg.unwrap_or_default()
            ))),
        }
    }

    /// Sends one subscription message; WeChat's message id when it took it.
    pub async fn send(
        &self,
        base: &str,
        appid: &str,
        secret: &str,
        m: &Outgoing<'_>,
    ) -> Result<String, SendError> {
        let token = self.token(base, appid, secret).await?;
        let data: serde_json::Map<String, Value> = m
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), json!({ "value": v })))
            .collect();
        let body = json!({
            "touser": m.openid, "template_id": m.template_id, "page": m.page, "data": data,
        });
        let r = self
            .http
            .post(format!("{base}/cgi-bin/message/subscribe/bizsend"))
            .query(&[("access_token", token.as_str())])
            .json(&body)
            .send()
            .await
            .map_err(failed)?;
        if r.status().is_server_error() {
            return Err(SendError::Failed(format!("微信返回 HTTP {}", r.status())));
        }
        let a: SendAnswer = r.json().await.map_err(failed)?;
        match a.errcode.unwrap_or(0) {
            0 => Ok(a
                .msgid
                .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
                .unwrap_or_default()),
            40001 | 42001 => {
                *self.token.lock().await = None;
                Err(SendError::Failed("access_token 失效，已重新获取".into()))
            }
            code => Err(SendError::of_errcode(code, &a.errmsg.unwrap_or_default())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SendError;

    #[test]
    fn errcodes_sort_into_outcomes() {
        assert!(matches!(
            SendError::of_errcode(43101, "user refuse to accept the msg"),
            SendError::Refused(43101, _)
        ));
        assert!(matches!(
            SendError::of_errcode(47003, "argument invalid!"),
            SendError::Invalid(47003, _)
        ));
        assert!(matches!(
            SendError::of_errcode(-1, "system error"),
            SendError::Failed(_)
        ));
        assert!(matches!(
            SendError::of_errcode(45009, "reach max api daily quota limit"),
            SendError::Failed(_)
        ));
    }
}
