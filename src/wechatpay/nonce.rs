//! Replay protection: every nonce of a verified signature is remembered for
//! [`NONCE_TTL_SECS`] (twice the ±5 minute timestamp window, so a message whose nonce has
//! been forgotten is already rejected as stale).
//!
//! Two stores: in memory (one process, tests) and PostgreSQL (`platform.wxpay_nonces`), so
//! protection survives restarts and holds across app servers. Nonces are namespaced by a
//! scope (`platform` for what WeChat Pay sends us, `sim-merchant` for what the simulator
//! receives). Must never forget a nonce early.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::error::WechatPayError;

pub const NONCE_TTL_SECS: i64 = 600;

/// Longest nonce accepted; real ones are 32 characters.
pub const MAX_NONCE_LEN: usize = 128;

#[async_trait]
pub trait NonceStore: Send + Sync {
    /// Records `nonce` as seen at `now`. `Ok(true)` when it was not seen within the last
    /// [`NONCE_TTL_SECS`], `Ok(false)` when this is a replay.
    async fn first_use(
        &self,
        scope: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, WechatPayError>;
}

/// In-process store; entries expire after [`NONCE_TTL_SECS`].
#[derive(Default)]
pub struct MemoryNonceStore {
    inner: Mutex<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    seen: HashMap<(String, String), DateTime<Utc>>,
    last_prune: Option<DateTime<Utc>>,
}

impl MemoryNonceStore {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl NonceStore for MemoryNonceStore {
    async fn first_use(
        &self,
        scope: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, WechatPayError> {
        let ttl = Duration::seconds(NONCE_TTL_SECS);
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| WechatPayError::Storage("nonce store lock poisoned".into()))?;
        // Pruning at most once a minute keeps the map bounded without a scan per message.
        if inner
            .last_prune
            .is_none_or(|t| now - t > Duration::seconds(60))
        {
            inner.seen.retain(|_, seen| now - *seen <= ttl);
            inner.last_prune = Some(now);
        }
        let key = (scope.to_string(), nonce.to_string());
        match inner.seen.get(&key) {
            Some(seen) if now - *seen <= ttl => Ok(false),
            _ => {
                inner.seen.insert(key, now);
                Ok(true)
            }
        }
    }
}

/// `platform.wxpay_nonces` (migration `0005_wechatpay_sim.sql`).
#[derive(Clone)]
pub struct PgNonceStore {
    pool: PgPool,
}

impl PgNonceStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Deletes nonces past their time; run now and then (the simulator's background task
    /// does). Correctness does not depend on it: an expired row is overwritten on reuse.
    pub async fn prune(&self, now: DateTime<Utc>) -> Result<u64, WechatPayError> {
        let done = sqlx::query("delete from platform.wxpay_nonces where seen_at < $1")
            .bind(now - Duration::seconds(NONCE_TTL_SECS))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl NonceStore for PgNonceStore {
    async fn first_use(
        &self,
        scope: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, WechatPayError> {
        // One statement, so two servers receiving the same message race on the primary key:
        // exactly one of them gets a row back.
        let fresh: Option<i32> = sqlx::query_scalar(
            "insert into platform.wxpay_nonces (scope, nonce, seen_at) values ($1, $2, $3)
             on conflict (scope, nonce) do update set seen_at = excluded.seen_at
                 where platform.wxpay_nonces.seen_at < $4
             returning 1",
        )
        .bind(scope)
        .bind(nonce)
        .bind(now)
        .bind(now - Duration::seconds(NONCE_TTL_SECS))
        .fetch_optional(&self.pool)
        .await?;
        Ok(fresh.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn a_nonce_is_refused_within_ten_minutes_and_accepted_after() {
        let store = MemoryNonceStore::new();
        let t0 = Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0).unwrap();
        assert!(store.first_use("platform", "N1", t0).await.unwrap());
        assert!(!store
            .first_use("platform", "N1", t0 + Duration::seconds(599))
            .await
            .unwrap());
        assert!(store.first_use("other", "N1", t0).await.unwrap());
        assert!(store
            .first_use("platform", "N1", t0 + Duration::seconds(1300))
            .await
            .unwrap());
    }
}
