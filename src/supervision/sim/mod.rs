//! The receiver simulator: the city platform as our protocol describes it, served by this
//! binary under `/sim/supervision` (demo, development, tests). It checks each request in
//! the receiver's order (fields, app id, signature, timestamp window, nonce, batch size),
//! then each record (field set, op, required fields, personal fields that decrypt), takes
//! each message id once (a redelivery is answered `DUPLICATE`), keeps the newest version of
//! each record, and counts what arrived out of order. Its answers are signed with its own
//! key. Fault control (refuse, time out, answer slowly, drop the connection) is stored in
//! the database so every process serving it obeys the operator.
//!
//! Stores personal fields as received (SM4 ciphertext); the inbox decrypts them only to
//! show them masked.

mod repo;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::PgPool;

use super::crypto::{Sm4Key, SmSigner, SmVerifier};
use super::model::{FieldSet, MAX_BATCH, PERSONAL};
use super::protocol::{self, Refusal, DUPLICATE, OK};

/// The simulator's fault modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Answer 503 to everything.
    Refuse,
    /// Take the request, answer after `delay_ms` (longer than the client waits).
    Timeout,
    /// Answer after `delay_ms`.
    Slow,
    /// Close the connection without an answer.
    Drop,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::None,
        Fault::Refuse,
        Fault::Timeout,
        Fault::Slow,
        Fault::Drop,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Refuse => "refuse",
            Fault::Timeout => "timeout",
            Fault::Slow => "slow",
            Fault::Drop => "drop",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Fault::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Fault::None => "正常接收",
            Fault::Refuse => "拒绝服务（HTTP 503）",
            Fault::Timeout => "超时（接收后迟迟不应答）",
            Fault::Slow => "应答缓慢",
            Fault::Drop => "断开连接",
        }
    }
}

/// One record of a request, as the simulator stores it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub message_id: String,
    pub field_set: String,
    pub record_id: String,
    pub op: String,
    pub version: i64,
    pub body: Value,
}

/// A stored record (newest state).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    pub field_set: String,
    pub record_id: String,
    pub op: String,
    pub version: i64,
    pub body: Value,
    pub updated_at: DateTime<Utc>,
}

/// What the simulator holds, for the inbox and the tests.
#[derive(Debug, Clone)]
pub struct Counters {
    pub fault: Fault,
    pub delay_ms: u64,
    /// Distinct messages taken.
    pub messages: i64,
    /// Requests refused by fault control.
    pub refused: i64,
    /// Messages received again (answered DUPLICATE, stored nowhere).
    pub duplicates: i64,
    /// Messages older than the stored version of their record.
    pub out_of_order: i64,
    /// Requests or records refused by the protocol checks.
    pub rejected: i64,
    /// (field set, records, of which deleted).
    pub by_set: Vec<(String, i64, i64)>,
}

/// The simulator's answer: an HTTP status and a signed envelope.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

pub struct Receiver {
    key: SmSigner,
    app_id: String,
    client: SmVerifier,
    sm4: Sm4Key,
    /// When expired nonces were last forgotten (seconds since the epoch): once a minute.
    swept: std::sync::atomic::AtomicI64,
}

impl Receiver {
    pub fn new(key: SmSigner, app_id: String, client: SmVerifier, sm4: Sm4Key) -> Self {
        Receiver {
            key,
            app_id,
            client,
            sm4,
            swept: std::sync::atomic::AtomicI64::new(0),
        }
    }

    /// The simulator's public key (what a platform configures as `receiver_public_hex`).
    pub fn public_hex(&self) -> String {
        self.key.public_hex()
    }

    fn answer(
        &self,
        status: u16,
        code: &str,
        message: &str,
        results: Vec<Value>,
        now: DateTime<Utc>,
    ) -> Answer {
        let data = json!({ "code": code, "message": message, "results": results });
        Answer {
            status,
            body: protocol::envelope(&self.key, &self.app_id, now, data),
        }
    }

    fn refuse(&self, r: Refusal, now: DateTime<Utc>) -> Answer {
        self.answer(r.status(), r.code(), r.message(), Vec::new(), now)
    }

    /// Decrypts the personal fields of a record (to prove they were sent as agreed).
    pub fn decrypt(&self, b64: &str) -> Option<String> {
        self.sm4.decrypt(b64).ok()
    }

    fn check_record(&self, r: &Value) -> Result<Incoming, Refusal> {
        let text = |k: &str| {
            r.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty() && s.len() <= 128)
        };
        let (Some(message_id), Some(set), Some(op), Some(record_id)) = (
            text("messageId"),
            text("fieldSet"),
            text("op"),
            text("recordId"),
        ) else {
            return Err(Refusal::RecordInvalid);
        };
        let set = FieldSet::parse(set).ok_or(Refusal::RecordInvalid)?;
        if op != "upsert" && op != "delete" {
            return Err(Refusal::RecordInvalid);
        }
        let version = r
            .get("version")
            .and_then(Value::as_i64)
            .ok_or(Refusal::RecordInvalid)?;
        let body = r
            .get("body")
            .and_then(Value::as_object)
            .ok_or(Refusal::RecordInvalid)?;
        if op == "upsert"
            && set
                .required()
                .iter()
                .any(|f| body.get(*f).is_none_or(Value::is_null))
        {
            return Err(Refusal::RecordInvalid);
        }
        for f in PERSONAL {
            if let Some(v) = body.get(*f) {
                if v.as_str().and_then(|s| self.decrypt(s)).is_none() {
                    return Err(Refusal::DecryptFailed);
                }
            }
        }
        Ok(Incoming {
            message_id: message_id.to_string(),
            field_set: set.as_str().to_string(),
            record_id: record_id.to_string(),
            op: op.to_string(),
            version,
            body: Value::Object(body.clone()),
        })
    }

    /// Handles one request body (after fault control).
    pub async fn receive(
        &self,
        pool: &PgPool,
        raw: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Answer, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        let Ok(env) = serde_json::from_slice::<Value>(raw) else {
            repo::count(&mut conn, "rejected", 1).await?;
            return Ok(self.refuse(Refusal::BadRequest, now));
        };
        let opened = protocol::open(
            &env,
            |id| (id == self.app_id).then(|| self.client.clone()),
            now,
        );
        let (_, nonce, data) = match opened {
            Ok(v) => v,
            Err(r) => {
                repo::count(&mut conn, "rejected", 1).await?;
                return Ok(self.refuse(r, now));
            }
        };
        let Some(list) = data.get("records").and_then(Value::as_array) else {
            repo::count(&mut conn, "rejected", 1).await?;
            return Ok(self.refuse(Refusal::BadRequest, now));
        };
        if list.len() > MAX_BATCH {
            repo::count(&mut conn, "rejected", 1).await?;
            return Ok(self.refuse(Refusal::BatchTooLarge, now));
        }
        let secs = chrono::Utc::now().timestamp();
        let last = self.swept.load(std::sync::atomic::Ordering::Relaxed);
        if secs - last >= 60
            && self
                .swept
                .compare_exchange(
                    last,
                    secs,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            repo::forget_old_nonces(&mut conn).await?;
        }
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        if !repo::take_nonce(&mut tx, nonce).await? {
            drop(tx);
            repo::count(&mut conn, "rejected", 1).await?;
            return Ok(self.refuse(Refusal::NonceReplayed, now));
        }
        let mut results = Vec::with_capacity(list.len());
        let mut good = Vec::new();
        let mut bad = 0;
        for r in list {
            match self.check_record(r) {
                Ok(m) => good.push(m),
                Err(refusal) => {
                    bad += 1;
                    results.push(json!({
                        "messageId": r.get("messageId").cloned().unwrap_or(Value::Null),
                        "code": refusal.code(), "message": refusal.message(),
                    }));
                }
            }
        }
        if !good.is_empty() {
            let fresh = repo::take_messages(&mut tx, &good).await?;
            let fresh: std::collections::HashSet<String> = fresh.into_iter().collect();
            let new: Vec<&Incoming> = good
                .iter()
                .filter(|m| fresh.contains(&m.message_id))
                .collect();
            let stale = if new.is_empty() {
                0
            } else {
                repo::apply(&mut tx, &new).await?
            };
            repo::count(&mut tx, "out_of_order", stale).await?;
            repo::count(&mut tx, "duplicates", (good.len() - new.len()) as i64).await?;
            for m in &good {
                let code = if fresh.contains(&m.message_id) {
                    OK
                } else {
                    DUPLICATE
                };
                results.push(json!({ "messageId": m.message_id, "code": code }));
            }
        }
        repo::count(&mut tx, "rejected", bad).await?;
        tx.commit().await?;
        Ok(self.answer(200, OK, "成功", results, now))
    }
}

/// The fault in force and its delay.
pub async fn fault(pool: &PgPool) -> Result<(Fault, u64), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    repo::fault(&mut conn).await
}

pub async fn set_fault(pool: &PgPool, f: Fault, delay_ms: u64) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    repo::set_fault(&mut conn, f, delay_ms).await
}

/// Counts a request refused by fault control.
pub async fn count_refused(pool: &PgPool) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    repo::count(&mut conn, "refused", 1).await
}

pub async fn counters(pool: &PgPool) -> Result<Counters, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    repo::counters(&mut conn).await
}

pub async fn records(
    pool: &PgPool,
    set: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredRecord>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    repo::records(&mut conn, set, limit).await
}
