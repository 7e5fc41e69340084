//! Writing events and delivering them.
//!
//! - [`emit`] writes an event in the caller's transaction (a tenant's or the platform's).
//! - [`run`] is the worker: `lanes` loops, each claiming the due head events of their
//!   entities (`FOR UPDATE SKIP LOCKED`), handing them to their kinds' handlers and writing
//!   the outcomes in the claim's transaction. A lane that finds nothing waits for the
//!   commit notification (`LISTEN afterschool_outbox`) or `poll_ms`. Writers notify only
//!   after the worker said it is idle (`platform.outbox_wake`, set when it found nothing
//!   for [`IDLE_GRACE`]): a NOTIFY serialises commits, so while the worker drains, nobody
//!   sends one (migration `0011_outbox_wake.sql`). A worker killed
//!   mid-delivery leaves its events pending (the transaction dies with it), so they are
//!   delivered again: every handler is safe to run twice.
//! - The operator's retry and discard of a dead event, audited.
//!
//! Must never deliver two events of one entity at once or out of order, hold a claim
//! beyond `handler_timeout_ms` plus the write of the outcomes, or lose an event whose
//! handler failed (it stays pending, or dead for the operator).

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;
use sqlx::PgConnection;
use tokio::sync::Notify;

use super::error::OutboxError;
use super::model::*;
use super::repo;
use super::settings::OutboxSettings;
use crate::audit::{AuditEvent, Outcome as AuditOutcome};
use crate::kernel::ctx::Ctx;

/// The channel the insert trigger notifies on commit.
pub const CHANNEL: &str = "afterschool_outbox";

/// Writes `ev` in the caller's transaction; `false` when its key was written before.
pub async fn emit(
    conn: &mut PgConnection,
    tenant_id: Option<i64>,
    ev: &NewEvent,
) -> Result<bool, sqlx::Error> {
    repo::insert(conn, tenant_id, ev).await
}

/// Writes many events in order in one statement; returns how many were new.
pub async fn emit_many(
    conn: &mut PgConnection,
    tenant_id: Option<i64>,
    events: &[NewEvent],
) -> Result<u64, sqlx::Error> {
    repo::insert_many(conn, tenant_id, events).await
}

/// The outcomes of a handler that takes its events one by one: `Done` for `Ok`, `Retry`
/// with the error otherwise.
pub async fn one_by_one<'a, Fut>(events: &'a [Event], f: impl Fn(&'a Event) -> Fut) -> Vec<Outcome>
where
    Fut: Future<Output = Result<(), String>> + 'a,
{
    let mut out = Vec::with_capacity(events.len());
    for ev in events {
        out.push(match f(ev).await {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Retry(e),
        });
    }
    out
}

/// The delay before the next try after `attempts` failures: `base · 2^(attempts-1)`,
/// capped at `max`, then drawn uniformly from its upper half (jitter spreads the retries
/// of a receiver's outage).
pub fn backoff_ms(settings: &OutboxSettings, attempts: i32) -> i64 {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as u32;
    let full = settings
        .backoff_base_ms
        .saturating_mul(1u64 << exp)
        .min(settings.backoff_max_ms)
        .max(1);
    let low = full / 2;
    rand::thread_rng().gen_range(low..=full) as i64
}

/// How long the worker must find nothing before it asks event writers to notify it.
const IDLE_GRACE: Duration = Duration::from_millis(50);

/// The worker of one process.
pub struct Worker {
    st: Arc<Ctx>,
    /// The worker's own connections (one per lane), so deliveries never take the
    /// connections requests are served with, nor the reverse.
    pool: sqlx::PgPool,
    handlers: HashMap<&'static str, &'static Handler>,
    settings: OutboxSettings,
    wake: Arc<Notify>,
    /// Lanes not waiting: the last one to run dry sets the idle flag.
    busy: std::sync::atomic::AtomicUsize,
}

impl Worker {
    pub fn new(st: Arc<Ctx>, handlers: Vec<&'static Handler>, settings: OutboxSettings) -> Self {
        let lanes = settings.lanes.max(1);
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(settings.lanes.max(1) as u32)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with((*st.db_app.connect_options()).clone());
        Worker {
            st,
            pool,
            handlers: handlers.into_iter().map(|h| (h.kind, h)).collect(),
            settings,
            wake: Arc::new(Notify::new()),
            busy: std::sync::atomic::AtomicUsize::new(lanes),
        }
    }

    /// Claims once and delivers what it got; returns how many events it claimed.
    pub async fn deliver_once(&self) -> Result<usize, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let events = repo::claim(&mut tx, self.settings.claim.max(1)).await?;
        if events.is_empty() {
            tx.commit().await?;
            return Ok(0);
        }
        let n = events.len();
        let counters = &self.st.outbox;
        counters.claims.fetch_add(1, Ordering::Relaxed);
        let mut by_kind: Vec<(String, Vec<Event>)> = Vec::new();
        for ev in events {
            match by_kind.iter_mut().find(|(k, _)| *k == ev.kind) {
                Some((_, list)) => list.push(ev),
                None => by_kind.push((ev.kind.clone(), vec![ev])),
            }
        }
        let mut done = Vec::new();
        let mut failed = Vec::new();
        let mut later = Vec::new();
        for (kind, events) in by_kind {
            let Some(handler) = self.handlers.get(kind.as_str()) else {
                for ev in events {
                    failed.push(self.failure(&ev, format!("没有处理程序: {kind}"), false));
                }
                continue;
            };
            for chunk in events.chunks(handler.batch.max(1)) {
                let outcomes = self.run_handler(handler, chunk.to_vec()).await;
                for (ev, outcome) in chunk.iter().zip(outcomes) {
                    match outcome {
                        Outcome::Done => done.push(ev.id),
                        Outcome::Retry(e) => failed.push(self.failure(ev, e, false)),
                        Outcome::Dead(e) => failed.push(self.failure(ev, e, true)),
                        Outcome::Later(why, ms) => later.push(repo::Failure {
                            id: ev.id,
                            error: why,
                            dead: false,
                            delay_ms: ms.min(i64::MAX as u64) as i64,
                        }),
                    }
                }
            }
        }
        repo::mark_done(&mut tx, &done).await?;
        repo::mark_failed(&mut tx, &failed).await?;
        repo::postpone(&mut tx, &later).await?;
        tx.commit().await?;
        counters
            .delivered
            .fetch_add(done.len() as u64, Ordering::Relaxed);
        counters
            .failed
            .fetch_add(failed.len() as u64, Ordering::Relaxed);
        let dead = failed.iter().filter(|f| f.dead).count() as u64;
        counters.dead.fetch_add(dead, Ordering::Relaxed);
        for f in failed.iter().filter(|f| f.dead) {
            tracing::warn!(event = f.id, error = %f.error, "outbox event dead after its last try");
        }
        Ok(n)
    }

    /// One outcome per event, whatever the handler does: a handler that overruns its time
    /// or answers the wrong number of outcomes has failed for every event it was given.
    async fn run_handler(&self, handler: &Handler, events: Vec<Event>) -> Vec<Outcome> {
        let n = events.len();
        let timeout = Duration::from_millis(self.settings.handler_timeout_ms.max(1));
        match tokio::time::timeout(timeout, (handler.run)(self.st.clone(), events)).await {
            Ok(outcomes) if outcomes.len() == n => outcomes,
            Ok(outcomes) => {
                let e = format!("处理程序返回 {} 个结果，应为 {n} 个", outcomes.len());
                vec![Outcome::Retry(e); n]
            }
            Err(_) => vec![Outcome::Retry("处理超时".into()); n],
        }
    }

    fn failure(&self, ev: &Event, error: String, dead: bool) -> repo::Failure {
        let attempts = ev.attempts + 1;
        repo::Failure {
            id: ev.id,
            dead: dead || attempts >= self.settings.max_attempts.max(1),
            delay_ms: backoff_ms(&self.settings, attempts),
            error,
        }
    }

    /// Delivers until nothing is due (tests and the re-sync command).
    pub async fn drain(&self) -> Result<usize, sqlx::Error> {
        let mut total = 0;
        loop {
            let n = self.deliver_once().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    async fn lane(self: Arc<Self>) {
        let poll = Duration::from_millis(self.settings.poll_ms.max(10));
        loop {
            // Registered before the claim, so a commit that lands while this lane finds
            // nothing still wakes it.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.deliver_once().await {
                Ok(0) => {
                    // The last lane to run dry waits a moment (while events keep coming,
                    // the worker never says it is idle, so writers never notify), then
                    // asks writers to notify and looks once more: an event committed
                    // before the flag was set is taken now.
                    if self.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
                        tokio::time::sleep(IDLE_GRACE).await;
                        if self.say_idle().await {
                            self.busy.fetch_add(1, Ordering::AcqRel);
                            continue;
                        }
                    }
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(poll) => {}
                    }
                    self.busy.fetch_add(1, Ordering::AcqRel);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "outbox claim failed; trying again");
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// Sets the idle flag unless events are due; `true` when events are due (deliver them
    /// first).
    async fn say_idle(&self) -> bool {
        let Ok(mut conn) = self.pool.acquire().await else {
            return false;
        };
        if repo::due(&mut conn).await.unwrap_or(false) {
            return true;
        }
        if let Err(e) = repo::mark_idle(&mut conn).await {
            tracing::warn!(error = %e, "outbox idle flag not set; the poll wakes the worker");
            return false;
        }
        repo::due(&mut conn).await.unwrap_or(false)
    }

    async fn listen(self: Arc<Self>) {
        loop {
            match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen(CHANNEL).await {
                        tracing::warn!(error = %e, "outbox LISTEN failed");
                    } else {
                        // Events written while nobody listened.
                        self.wake.notify_waiters();
                        while listener.recv().await.is_ok() {
                            self.wake.notify_waiters();
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox listener cannot connect"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn purge_loop(self: Arc<Self>) {
        loop {
            let before = self.st.clock.now() - chrono::Duration::days(self.settings.keep_done_days);
            match self.pool.acquire().await {
                Ok(mut conn) => match repo::purge(&mut conn, before).await {
                    Ok(n) if n > 0 => tracing::info!(removed = n, "delivered outbox events purged"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox purge failed"),
                },
                Err(e) => tracing::warn!(error = %e, "outbox purge cannot connect"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }

    /// Runs the worker until `shutdown` completes. In-flight deliveries are abandoned with
    /// their transactions (their events stay pending and go out again).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let me = Arc::new(self);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(me.clone().listen());
        tasks.spawn(me.clone().purge_loop());
        for _ in 0..me.settings.lanes.max(1) {
            tasks.spawn(me.clone().lane());
        }
        shutdown.await;
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
}

/// The queue's figures now.
pub async fn stats(st: &Ctx) -> Result<QueueStats, OutboxError> {
    let mut conn = st.db_app.acquire().await?;
    Ok(repo::stats(&mut conn).await?)
}

/// Dead events (or failing pending ones), newest first.
pub async fn list(st: &Ctx, state: EventState, limit: i64) -> Result<Vec<EventRow>, OutboxError> {
    let mut conn = st.db_app.acquire().await?;
    Ok(repo::list(&mut conn, state, limit).await?)
}

/// One event as the console lists it.
pub async fn event(st: &Ctx, id: i64) -> Result<EventRow, OutboxError> {
    let mut conn = st.db_app.acquire().await?;
    repo::get(&mut conn, id)
        .await?
        .ok_or(OutboxError::NotFound { id })
}

/// What an operator does with a dead event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadAction {
    /// Back to the queue, attempts reset.
    Retry,
    /// Never delivered; kept for the record until purged.
    Discard,
}

/// An operator's retry or discard of dead event `id`, audited in the same transaction.
pub async fn handle_dead(
    st: &Ctx,
    account_id: i64,
    source_ip: Option<String>,
    id: i64,
    action: DeadAction,
) -> Result<EventRow, OutboxError> {
    let mut tx = st.db_app.begin().await?;
    let Some(row) = repo::lock(&mut tx, id).await? else {
        return Err(OutboxError::NotFound { id });
    };
    if row.state != EventState::Dead {
        return Err(OutboxError::NotDead {
            id,
            state: row.state,
        });
    }
    let verb = match action {
        DeadAction::Retry => {
            repo::revive(&mut tx, id).await?;
            "retry"
        }
        DeadAction::Discard => {
            repo::discard(&mut tx, id).await?;
            "discard"
        }
    };
    let ev = AuditEvent::new(
        format!("outbox.dead.{verb}"),
        format!("outbox:{id}"),
        AuditOutcome::Success,
    )
    .who(Some(account_id), None)
    .with_ip(source_ip)
    .at_tenant(row.tenant_id)
    .details(json!({ "kind": row.kind, "entity": row.entity, "attempts": row.attempts, "last_error": row.last_error }));
    crate::audit::append(&mut tx, &st.keys.audit, &ev, st.clock.now()).await?;
    tx.commit().await?;
    Ok(row)
}
