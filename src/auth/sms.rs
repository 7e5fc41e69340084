//! Sending text messages. The embedded default is a simulator that writes to
//! `platform.sms_outbox` (phone encrypted), which the operator console and the tests read.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::PgPool;

use crate::pii::{Keyring, Phone};

pub const PHONE_AAD: &[u8] = b"platform.sms_outbox.phone";

#[async_trait]
pub trait SmsSender: Send + Sync {
    async fn send(&self, phone: &Phone, body: &str) -> anyhow::Result<()>;
}

/// The built-in simulator: nothing leaves the machine.
pub struct SimulatedSms {
    pub pool: PgPool,
    pub keys: Arc<Keyring>,
}

#[async_trait]
impl SmsSender for SimulatedSms {
    async fn send(&self, phone: &Phone, body: &str) -> anyhow::Result<()> {
        sqlx::query(
            "insert into platform.sms_outbox (phone_hash, phone_enc, body) values ($1, $2, $3)",
        )
        .bind(self.keys.blind_index("phone", phone.as_str()))
        .bind(self.keys.encrypt(phone.as_str().as_bytes(), PHONE_AAD))
        .bind(body)
        .execute(&self.pool)
        .await?;
        tracing::info!(phone = %phone.masked(), "sms (simulated) queued");
        Ok(())
    }
}

/// A message in the simulator's outbox, for the operator console.
#[derive(Debug, Clone, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OutboxMessage {
    pub id: i64,
    /// 脱敏手机号
    pub phone_masked: String,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn outbox(
    pool: &PgPool,
    keys: &Keyring,
    limit: i64,
) -> anyhow::Result<Vec<OutboxMessage>> {
    let rows: Vec<(i64, Vec<u8>, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select id, phone_enc, body, created_at from platform.sms_outbox order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, enc, body, created_at) in rows {
        let clear = keys.decrypt_str(&enc, PHONE_AAD)?;
        let phone_masked = Phone::parse(&clear).map(|p| p.masked()).unwrap_or_default();
        out.push(OutboxMessage {
            id,
            phone_masked,
            body,
            created_at,
        });
    }
    Ok(out)
}

/// The newest message sent to `phone` (tests read their one-time codes this way).
pub async fn latest_for(
    pool: &PgPool,
    keys: &Keyring,
    phone: &Phone,
) -> anyhow::Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "select body from platform.sms_outbox where phone_hash = $1 order by id desc limit 1",
    )
    .bind(keys.blind_index("phone", phone.as_str()))
    .fetch_optional(pool)
    .await?)
}
