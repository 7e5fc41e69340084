//! The outbox (issue #15; design.md "Outbox and integrations"): how anything leaves the
//! platform for an outside party. A feature writes an event in the transaction of the
//! change that causes it ([`emit`], or `TenantTx::emit`), so a rolled-back change leaves no
//! event; the worker ([`Worker`], run by `serve`/`demo` and by `afterschool worker`)
//! delivers it through the handler its feature registered (`Feature::handlers`), in order
//! per entity, again after a failure (exponential backoff with jitter), until it is
//! delivered or dead after `max_attempts`; an operator retries or discards a dead event.
//!
//! Owns `platform.outbox` (migration `0008_outbox.sql`). Must never call an outside party
//! itself: handlers do, and each is safe to run twice (a killed worker's events are
//! delivered again).

pub mod api;
pub mod error;
pub mod feature;
pub mod model;
pub mod pages;
pub mod perms;
mod repo;
mod service;
pub mod settings;

pub use error::OutboxError;
pub use model::{Delivery, Event, EventRow, EventState, Handler, NewEvent, Outcome, QueueStats};
pub use service::{
    backoff_ms, emit, emit_many, event, handle_dead, list, one_by_one, stats, DeadAction, Worker,
    CHANNEL,
};
pub use settings::{OutboxSettings, WorkerCounters};

/// Privileges on the outbox, for the role bootstrap: the app role does everything the
/// worker and the console need; tenant roles (`{group}`) may only append, inside their
/// transactions. Replace `{app}` and `{group}`.
pub const APP_GRANTS: &str = "\
grant select, insert, update, delete on platform.outbox to {app};
grant select, update on platform.outbox_wake to {app};
grant insert on platform.outbox to {group};
";
