//! Callback delivery and refund completion, driven by an injectable clock:
//! [`Simulator::deliver_due`] does everything due at `now` (tests call it directly and move
//! their clock), [`run`] calls it every tick in a served process.
//!
//! Each attempt is signed afresh (its own timestamp and nonce) over the stored envelope.
//! A 200 or 204 answer is success; anything else or a timeout is retried on the platform's
//! schedule ([`RETRY_SCHEDULE_SECS`]: 15s, 15s, 30s, 3m, 10m, 20m, 30m, 30m, 30m, 60m, 3h,
//! 3h, 3h, 6h, 6h), after which the callback is marked failed. Must never hold a database
//! transaction open across an HTTP call.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::control::SignWith;
use super::repo::{self, DueNotification};
use super::{SimError, Simulator};
use crate::wechatpay::model::EventType;
use crate::wechatpay::sign::{new_nonce, SCHEMA};
use crate::wechatpay::verify::{
    HEADER_NONCE, HEADER_SERIAL, HEADER_SIGNATURE, HEADER_SIGNATURE_TYPE, HEADER_TIMESTAMP,
};

/// Waits before the 2nd, 3rd ... 16th attempt, in seconds.
pub const RETRY_SCHEDULE_SECS: [i64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// How long a claimed callback stays invisible to other servers while it is delivered.
const LEASE_SECS: i64 = 300;

const BATCH: i64 = 50;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Refunds that reached their final state (and queued their callback).
    pub refunds_completed: u32,
    pub delivered: u32,
    /// Failed attempts that will be retried.
    pub retrying: u32,
    /// Failed attempts after which no retry is left.
    pub failed: u32,
}

impl Simulator {
    /// Completes refunds due at `now`, then delivers callbacks due at `now`.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<DeliveryReport, SimError> {
        let mut report = DeliveryReport {
            refunds_completed: self.complete_due_refunds(now).await?,
            ..DeliveryReport::default()
        };
        let lease = now + chrono::Duration::seconds(LEASE_SECS);
        let due = repo::claim_due_notifications(&self.pool, now, lease, BATCH).await?;
        let outcomes = futures::future::join_all(due.iter().map(|n| self.attempt(n, now))).await;
        for (n, outcome) in due.iter().zip(outcomes) {
            let (delivered, status, error) = outcome;
            let next = if delivered {
                None
            } else {
                usize::try_from(n.attempts)
                    .ok()
                    .and_then(|i| RETRY_SCHEDULE_SECS.get(i))
                    .map(|secs| now + chrono::Duration::seconds(*secs))
            };
            match (delivered, next) {
                (true, _) => report.delivered += 1,
                (false, Some(_)) => report.retrying += 1,
                (false, None) => report.failed += 1,
            }
            repo::record_attempt(
                &self.pool,
                n.id,
                delivered,
                next,
                status,
                error.as_deref(),
                now,
            )
            .await?;
        }
        Ok(report)
    }

    /// One attempt: all copies at once; delivered when any copy got 200 or 204.
    async fn attempt(
        &self,
        n: &DueNotification,
        now: DateTime<Utc>,
    ) -> (bool, Option<i32>, Option<String>) {
        let copies = usize::try_from(n.copies.max(1)).unwrap_or(1);
        let results = futures::future::join_all((0..copies).map(|_| self.post_once(n, now))).await;
        let delivered = results
            .iter()
            .any(|r| matches!(r, Ok(s) if *s == 200 || *s == 204));
        let status = results.iter().find_map(|r| r.as_ref().ok().copied());
        let error = results.iter().find_map(|r| r.as_ref().err().cloned());
        (delivered, status.map(i32::from), error)
    }

    async fn post_once(&self, n: &DueNotification, now: DateTime<Utc>) -> Result<u16, String> {
        let platform = self.platform().await.map_err(|e| e.to_string())?;
        let ts = now.timestamp();
        let nonce = new_nonce();
        let signature = platform.signer.sign_response(ts, &nonce, n.body.as_bytes());
        let serial = match self.faults().sign_with {
            SignWith::PublicKey => platform.material.public_key_id.clone(),
            SignWith::Certificate => platform.material.cert_serial.clone(),
        };
        let resp = self
            .http
            .post(&n.url)
            .header("Content-Type", "application/json")
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, signature)
            .header(HEADER_SERIAL, serial)
            .header(HEADER_SIGNATURE_TYPE, SCHEMA)
            .body(n.body.clone())
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timeout".to_string()
                } else {
                    format!("connect: {e}")
                }
            })?;
        Ok(resp.status().as_u16())
    }

    async fn complete_due_refunds(&self, now: DateTime<Utc>) -> Result<u32, SimError> {
        let mut tx = self.pool.begin().await?;
        let due = repo::claim_due_refunds(&mut tx, now, BATCH).await?;
        let mut done = 0;
        for r in due {
            let outcome = crate::wechatpay::model::RefundStatus::parse(&r.outcome)
                .unwrap_or(crate::wechatpay::model::RefundStatus::Success);
            repo::complete_refund(&mut tx, r.id, outcome, now).await?;
            done += 1;
            let (Some(url), Some(event)) = (&r.notify_url, EventType::for_refund(outcome)) else {
                continue;
            };
            let Some(merchant) = self.merchant_via(&mut *tx, &r.mchid).await? else {
                continue;
            };
            let mut completed = r.clone();
            completed.status = outcome.as_str().into();
            completed.success_time =
                (outcome == crate::wechatpay::model::RefundStatus::Success).then_some(now);
            let plain = serde_json::to_vec(&completed.to_notice()).map_err(SimError::internal)?;
            self.queue_notification(&mut tx, &merchant, event, url, &plain, now)
                .await?;
        }
        tx.commit().await?;
        Ok(done)
    }
}

/// The background task of a served simulator: delivers due callbacks, completes refunds and
/// prunes old request nonces every `tick`. Errors are logged and the loop goes on.
pub async fn run(sim: Arc<Simulator>, tick: Duration) {
    let mut interval = tokio::time::interval(tick.max(Duration::from_millis(100)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        interval.tick().await;
        let now = sim.clock().now();
        if let Err(e) = sim.deliver_due(now).await {
            tracing::warn!(code = e.code, message = %e.message, "wechatpay simulator delivery failed");
        }
        ticks = ticks.wrapping_add(1);
        if ticks.is_multiple_of(60) {
            if let Err(e) = sim.prune_nonces().await {
                tracing::warn!(error = %e, "wechatpay simulator nonce pruning failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_the_platforms_24_hours_4_minutes() {
        let total: i64 = RETRY_SCHEDULE_SECS.iter().sum();
        assert_eq!(total, 24 * 3600 + 4 * 60);
        assert_eq!(RETRY_SCHEDULE_SECS.len(), 15);
    }
}
