//! The SQL of `platform.outbox`, and nothing else.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row};

use super::model::{Event, EventRow, EventState, NewEvent, QueueStats};

/// Writes `ev`; `false` when an event with its key exists already. No `RETURNING`: tenant
/// roles may append to the outbox but not read it.
pub async fn insert(
    conn: &mut PgConnection,
    tenant_id: Option<i64>,
    ev: &NewEvent,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into platform.outbox (tenant_id, kind, entity, payload, idem_key)
         values ($1, $2, $3, $4, $5)
         on conflict (idem_key) where idem_key is not null do nothing",
    )
    .bind(tenant_id)
    .bind(ev.kind)
    .bind(&ev.entity)
    .bind(&ev.payload)
    .bind(&ev.key)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Writes many events in one statement (a re-sync's snapshot); returns how many were new.
pub async fn insert_many(
    conn: &mut PgConnection,
    tenant_id: Option<i64>,
    events: &[NewEvent],
) -> Result<u64, sqlx::Error> {
    if events.is_empty() {
        return Ok(0);
    }
    let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
    let entities: Vec<&str> = events.iter().map(|e| e.entity.as_str()).collect();
    let payloads: Vec<&serde_json::Value> = events.iter().map(|e| &e.payload).collect();
    let keys: Vec<Option<&str>> = events.iter().map(|e| e.key.as_deref()).collect();
    let done = sqlx::query(
        "insert into platform.outbox (tenant_id, kind, entity, payload, idem_key)
         select $1, k, e, p, i
         from unnest($2::text[], $3::text[], $4::jsonb[], $5::text[]) with ordinality as t(k, e, p, i, n)
         order by n
         on conflict (idem_key) where idem_key is not null do nothing",
    )
    .bind(tenant_id)
    .bind(&kinds)
    .bind(&entities)
    .bind(&payloads)
    .bind(&keys)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Locks up to `limit` due events, each the oldest pending one of its entity, skipping
/// those another lane holds. The locks last until the caller's transaction ends.
pub async fn claim(conn: &mut PgConnection, limit: i64) -> Result<Vec<Event>, sqlx::Error> {
    sqlx::query_as::<_, Event>(
        "select o.id, o.tenant_id, o.kind, o.entity, o.payload, o.attempts, o.created_at
         from platform.outbox o
         where o.state = 'pending' and o.next_at <= now()
           and not exists (select 1 from platform.outbox p
                           where p.state = 'pending' and p.entity = o.entity and p.id < o.id)
         order by o.id
         limit $1
         for update of o skip locked",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Marks delivered events done.
pub async fn mark_done(conn: &mut PgConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "update platform.outbox
         set state = 'done', attempts = attempts + 1, done_at = now(), last_error = null
         where id = any($1)",
    )
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// A failed delivery of each event: tried again after its delay, or dead.
pub struct Failure {
    pub id: i64,
    pub error: String,
    pub dead: bool,
    pub delay_ms: i64,
}

pub async fn mark_failed(conn: &mut PgConnection, failures: &[Failure]) -> Result<(), sqlx::Error> {
    if failures.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = failures.iter().map(|f| f.id).collect();
    let errors: Vec<String> = failures
        .iter()
        .map(|f| f.error.chars().take(500).collect())
        .collect();
    let dead: Vec<bool> = failures.iter().map(|f| f.dead).collect();
    let delays: Vec<i64> = failures.iter().map(|f| f.delay_ms).collect();
    sqlx::query(
        "update platform.outbox o
         set attempts = o.attempts + 1,
             last_error = f.error,
             state = case when f.dead then 'dead' else 'pending' end,
             next_at = now() + make_interval(secs => f.delay_ms / 1000.0)
         from unnest($1::bigint[], $2::text[], $3::bool[], $4::bigint[]) as f(id, error, dead, delay_ms)
         where o.id = f.id",
    )
    .bind(&ids)
    .bind(&errors)
    .bind(&dead)
    .bind(&delays)
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether an event is due now.
pub async fn due(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "select exists (select 1 from platform.outbox where state = 'pending' and next_at <= now())",
    )
    .fetch_one(conn)
    .await
}

/// Tells event writers the worker is idle: the next event notifies it.
pub async fn mark_idle(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("update platform.outbox_wake set idle = true where id = 1 and not idle")
        .execute(conn)
        .await?;
    Ok(())
}

/// Puts events back for later without counting an attempt (a recipient's rate limit).
pub async fn postpone(conn: &mut PgConnection, later: &[Failure]) -> Result<(), sqlx::Error> {
    if later.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = later.iter().map(|f| f.id).collect();
    let why: Vec<String> = later.iter().map(|f| f.error.clone()).collect();
    let delays: Vec<i64> = later.iter().map(|f| f.delay_ms).collect();
    sqlx::query(
        "update platform.outbox o
         set state = 'pending', last_error = f.why,
             next_at = now() + make_interval(secs => f.delay_ms / 1000.0)
         from unnest($1::bigint[], $2::text[], $3::bigint[]) as f(id, why, delay_ms)
         where o.id = f.id",
    )
    .bind(&ids)
    .bind(&why)
    .bind(&delays)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn stats(conn: &mut PgConnection) -> Result<QueueStats, sqlx::Error> {
    let row = sqlx::query(
        "select count(*) filter (where state = 'pending') as pending,
                count(*) filter (where state = 'pending' and attempts > 0) as failing,
                coalesce(extract(epoch from now() - min(created_at) filter (where state = 'pending')), 0)::float8 as oldest
         from platform.outbox where state = 'pending'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let dead: i64 = sqlx::query_scalar("select count(*) from platform.outbox where state = 'dead'")
        .fetch_one(&mut *conn)
        .await?;
    let by_kind = sqlx::query(
        "select kind, count(*) as n from platform.outbox where state = 'pending'
         group by kind order by kind",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("kind")?, r.try_get("n")?)))
    .collect::<Result<Vec<(String, i64)>, sqlx::Error>>()?;
    Ok(QueueStats {
        pending: row.try_get("pending")?,
        failing: row.try_get("failing")?,
        dead,
        oldest_pending_secs: row.try_get("oldest")?,
        by_kind,
    })
}

/// Events in `state` (newest first), or the failing pending ones when `state` is pending.
pub async fn list(
    conn: &mut PgConnection,
    state: EventState,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    sqlx::query_as::<_, EventRow>(
        "select id, tenant_id, kind, entity, state, attempts, next_at, last_error, created_at
         from platform.outbox
         where state = $1 and ($1 <> 'pending' or attempts > 0)
         order by id desc limit $2",
    )
    .bind(state)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Locks one event (the operator's retry or discard).
pub async fn lock(conn: &mut PgConnection, id: i64) -> Result<Option<EventRow>, sqlx::Error> {
    row(conn, id, true).await
}

/// One event as it is now, without locking it.
pub async fn get(conn: &mut PgConnection, id: i64) -> Result<Option<EventRow>, sqlx::Error> {
    row(conn, id, false).await
}

async fn row(
    conn: &mut PgConnection,
    id: i64,
    for_update: bool,
) -> Result<Option<EventRow>, sqlx::Error> {
    let sql = if for_update {
        "select id, tenant_id, kind, entity, state, attempts, next_at, last_error, created_at
         from platform.outbox where id = $1 for update"
    } else {
        "select id, tenant_id, kind, entity, state, attempts, next_at, last_error, created_at
         from platform.outbox where id = $1"
    };
    sqlx::query_as::<_, EventRow>(sql)
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// Sends a dead event back to the queue with its attempts reset.
pub async fn revive(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update platform.outbox set state = 'pending', attempts = 0, next_at = now()
         where id = $1 and state = 'dead'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn discard(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update platform.outbox set state = 'discarded', done_at = now()
         where id = $1 and state = 'dead'",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Removes delivered and discarded events older than `before`; returns how many.
pub async fn purge(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "delete from platform.outbox where state in ('done', 'discarded') and done_at < $1",
    )
    .bind(before)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}
