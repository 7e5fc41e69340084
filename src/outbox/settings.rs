//! The worker's settings and counters: what configuration and the shared context name of
//! the outbox, kept apart from everything that knows the context (no import circle).

use std::sync::atomic::AtomicU64;

use serde::{Deserialize, Serialize};

/// `[outbox]`: the worker's settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// `serve` and `demo` run a worker inside the server (`--no-worker` turns it off; then
    /// `afterschool worker` delivers).
    pub embedded: bool,
    /// Claims delivered in parallel (each a transaction holding its events' locks).
    pub lanes: usize,
    /// Events claimed at once by a lane.
    pub claim: i64,
    /// Failed deliveries after which an event is dead (an operator may retry it).
    pub max_attempts: i32,
    /// Backoff after the first failure, doubling up to `backoff_max_ms`, with jitter.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// An idle lane looks again after this long even without a notification (events whose
    /// backoff ran out wake nobody).
    pub poll_ms: u64,
    /// A handler that takes longer has failed (its events are tried again).
    pub handler_timeout_ms: u64,
    /// Delivered events are kept this long for audit and re-sending, then removed.
    pub keep_done_days: i64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            embedded: true,
            lanes: 4,
            claim: 100,
            max_attempts: 20,
            backoff_base_ms: 500,
            backoff_max_ms: 300_000,
            poll_ms: 500,
            handler_timeout_ms: 30_000,
            keep_done_days: 7,
        }
    }
}

/// What this process's worker did since it started (counters for `/metrics`).
#[derive(Debug, Default)]
pub struct WorkerCounters {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub dead: AtomicU64,
    pub claims: AtomicU64,
}
