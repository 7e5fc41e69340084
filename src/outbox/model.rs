//! The outbox's types: an event as written and as claimed, what a handler answers for each
//! event it was given, the handler registration, the worker's settings and the figures the
//! operator console and `/metrics` show.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::kernel::ctx::Ctx;

/// `outbox.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    Pending,
    Done,
    Dead,
    Discarded,
}

crate::text_column!(EventState {
    Pending => "pending",
    Done => "done",
    Dead => "dead",
    Discarded => "discarded",
});

impl EventState {
    pub fn label(self) -> &'static str {
        match self {
            EventState::Pending => "待发送",
            EventState::Done => "已送达",
            EventState::Dead => "已停止重试",
            EventState::Discarded => "已丢弃",
        }
    }
}

/// An event to write, in the transaction of the change that causes it.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The handler that delivers it (`supervision.push`, `notify.message`, `payments.refund`).
    pub kind: &'static str,
    /// The ordering key: events of one entity are delivered one after the other, in order.
    pub entity: String,
    pub payload: Value,
    /// A second event with the same key is not written (one message per event).
    pub key: Option<String>,
}

impl NewEvent {
    pub fn new(kind: &'static str, entity: impl Into<String>, payload: Value) -> Self {
        NewEvent {
            kind,
            entity: entity.into(),
            payload,
            key: None,
        }
    }

    pub fn keyed(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

/// An event claimed for delivery.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Event {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub kind: String,
    pub entity: String,
    pub payload: Value,
    /// Deliveries tried before this one.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What became of one event a handler was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered (or found delivered before: handlers are safe to run twice).
    Done,
    /// Not delivered; tried again after a backoff, until `max_attempts`.
    Retry(String),
    /// Can never be delivered (an unreadable payload): dead at once.
    Dead(String),
    /// Not now, and not a failure (a recipient's rate limit): tried again after the given
    /// milliseconds without counting an attempt.
    Later(String, u64),
}

/// A running delivery: one outcome per event given, in the same order.
pub type Delivery = Pin<Box<dyn Future<Output = Vec<Outcome>> + Send>>;

/// A feature's handler of one event kind, registered through `Feature::handlers`.
pub struct Handler {
    pub kind: &'static str,
    /// Events handed over at once (a push batch); 1 for one-by-one handlers.
    pub batch: usize,
    pub run: fn(Arc<Ctx>, Vec<Event>) -> Delivery,
}

/// The queue as the database has it now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueStats {
    pub pending: i64,
    /// Pending events that failed at least once.
    pub failing: i64,
    pub dead: i64,
    /// Age of the oldest pending event, seconds.
    pub oldest_pending_secs: f64,
    /// Pending events per kind.
    pub by_kind: Vec<(String, i64)>,
}

/// A dead (or failing) event as the operator console lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub kind: String,
    pub entity: String,
    pub state: EventState,
    pub attempts: i32,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}
