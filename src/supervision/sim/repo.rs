//! The SQL of the receiver simulator's tables, and nothing else.

use serde_json::Value;
use sqlx::{PgConnection, Row};

use super::{Counters, Fault, Incoming, StoredRecord};

pub async fn fault(conn: &mut PgConnection) -> Result<(Fault, u64), sqlx::Error> {
    let row = sqlx::query("select fault, delay_ms from platform.supsim_control where id = 1")
        .fetch_one(conn)
        .await?;
    let f: String = row.try_get("fault")?;
    let d: i32 = row.try_get("delay_ms")?;
    Ok((Fault::parse(&f).unwrap_or(Fault::None), d.max(0) as u64))
}

pub async fn set_fault(
    conn: &mut PgConnection,
    f: Fault,
    delay_ms: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("update platform.supsim_control set fault = $1, delay_ms = $2 where id = 1")
        .bind(f.as_str())
        .bind(delay_ms.min(120_000) as i32)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds to one counter (`refused`, `duplicates`, `out_of_order`, `rejected`).
pub async fn count(
    conn: &mut PgConnection,
    column: &'static str,
    n: i64,
) -> Result<(), sqlx::Error> {
    if n == 0 {
        return Ok(());
    }
    let sql = match column {
        "refused" => "update platform.supsim_control set refused = refused + $1 where id = 1",
        "duplicates" => {
            "update platform.supsim_control set duplicates = duplicates + $1 where id = 1"
        }
        "out_of_order" => {
            "update platform.supsim_control set out_of_order = out_of_order + $1 where id = 1"
        }
        _ => "update platform.supsim_control set rejected = rejected + $1 where id = 1",
    };
    sqlx::query(sql).bind(n).execute(conn).await?;
    Ok(())
}

/// Forgets nonces older than 10 minutes (twice the timestamp window: they can no longer
/// be replayed within it).
pub async fn forget_old_nonces(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("delete from platform.supsim_nonces where seen_at < now() - interval '10 minutes'")
        .execute(conn)
        .await?;
    Ok(())
}

/// `true` when the nonce is new (and now taken).
pub async fn take_nonce(conn: &mut PgConnection, nonce: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "insert into platform.supsim_nonces (nonce) values ($1) on conflict do nothing",
    )
    .bind(nonce)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes the messages not seen before; returns their ids.
pub async fn take_messages(
    conn: &mut PgConnection,
    list: &[Incoming],
) -> Result<Vec<String>, sqlx::Error> {
    let ids: Vec<&str> = list.iter().map(|m| m.message_id.as_str()).collect();
    let sets: Vec<&str> = list.iter().map(|m| m.field_set.as_str()).collect();
    let recs: Vec<&str> = list.iter().map(|m| m.record_id.as_str()).collect();
    let ops: Vec<&str> = list.iter().map(|m| m.op.as_str()).collect();
    let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
    sqlx::query_scalar(
        "insert into platform.supsim_messages (message_id, field_set, record_id, op, version)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])
         on conflict do nothing
         returning message_id",
    )
    .bind(&ids)
    .bind(&sets)
    .bind(&recs)
    .bind(&ops)
    .bind(&versions)
    .fetch_all(conn)
    .await
}

/// Applies new messages to the records (the newest version wins); returns how many were
/// older than what is stored (arrived out of order).
pub async fn apply(conn: &mut PgConnection, list: &[&Incoming]) -> Result<i64, sqlx::Error> {
    let sets: Vec<&str> = list.iter().map(|m| m.field_set.as_str()).collect();
    let recs: Vec<&str> = list.iter().map(|m| m.record_id.as_str()).collect();
    let ops: Vec<&str> = list.iter().map(|m| m.op.as_str()).collect();
    let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
    let bodies: Vec<&Value> = list.iter().map(|m| &m.body).collect();
    let stale: i64 = sqlx::query_scalar(
        "select count(*) from unnest($1::text[], $2::text[], $3::bigint[]) as i(s, r, v)
         join platform.supsim_records x on x.field_set = i.s and x.record_id = i.r
         where x.version > i.v",
    )
    .bind(&sets)
    .bind(&recs)
    .bind(&versions)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "insert into platform.supsim_records (field_set, record_id, op, version, body)
         select distinct on (s, r) s, r, o, v, b
         from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::jsonb[]) as i(s, r, o, v, b)
         order by s, r, v desc
         on conflict (field_set, record_id) do update
         set op = excluded.op, version = excluded.version, body = excluded.body, updated_at = now()
         where platform.supsim_records.version < excluded.version",
    )
    .bind(&sets)
    .bind(&recs)
    .bind(&ops)
    .bind(&versions)
    .bind(&bodies)
    .execute(conn)
    .await?;
    Ok(stale)
}

pub async fn counters(conn: &mut PgConnection) -> Result<Counters, sqlx::Error> {
    let row = sqlx::query(
        "select c.fault, c.delay_ms, c.refused, c.duplicates, c.out_of_order, c.rejected,
                (select count(*) from platform.supsim_messages) as messages
         from platform.supsim_control c where id = 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    let by_set = sqlx::query(
        "select field_set, count(*) as n, count(*) filter (where op = 'delete') as deleted
         from platform.supsim_records group by field_set order by field_set",
    )
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("field_set")?,
            r.try_get("n")?,
            r.try_get("deleted")?,
        ))
    })
    .collect::<Result<Vec<(String, i64, i64)>, sqlx::Error>>()?;
    let f: String = row.try_get("fault")?;
    Ok(Counters {
        fault: Fault::parse(&f).unwrap_or(Fault::None),
        delay_ms: row.try_get::<i32, _>("delay_ms")?.max(0) as u64,
        messages: row.try_get("messages")?,
        refused: row.try_get("refused")?,
        duplicates: row.try_get("duplicates")?,
        out_of_order: row.try_get("out_of_order")?,
        rejected: row.try_get("rejected")?,
        by_set,
    })
}

/// The newest records, optionally of one field set.
pub async fn records(
    conn: &mut PgConnection,
    set: Option<&str>,
    limit: i64,
) -> Result<Vec<StoredRecord>, sqlx::Error> {
    sqlx::query_as::<_, StoredRecord>(
        "select field_set, record_id, op, version, body, updated_at from platform.supsim_records
         where ($1::text is null or field_set = $1)
         order by updated_at desc, version desc limit $2",
    )
    .bind(set)
    .bind(limit)
    .fetch_all(conn)
    .await
}
