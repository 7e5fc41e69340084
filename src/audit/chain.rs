//! The MAC chain: canonical encoding, `append` and `verify`.
//!
//! `mac(n) = HMAC-SHA256(key, mac(n-1) || canonical(n))`, with `mac(0)` = 32 zero bytes.
//! The canonical encoding is defined here, not by PostgreSQL's text output, so it survives
//! server upgrades; see [`canonical_bytes`].

use chrono::{DateTime, SubsecRound, Utc};
use futures::TryStreamExt;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use super::{AuditError, AuditEvent, AuditKey, AuditRecord, Outcome};

type HmacSha256 = Hmac<Sha256>;

/// `prev_mac` of the first record.
pub const GENESIS_MAC: [u8; 32] = [0u8; 32];

/// Tags the encoding so a future format can never be confused with this one.
const FORMAT_TAG: &[u8] = b"afterschool.audit.v1\n";

/// Columns read back by `verify` and `search`, in [`record_from_row`] order.
pub(crate) const RECORD_COLUMNS: &str = "id, at, actor_account_id, actor_role, tenant_id, \
     source_ip, action, object, outcome, details";

/// The MAC-relevant content of one record, borrowed from an event or a stored record.
struct Content<'a> {
    id: i64,
    at: DateTime<Utc>,
    actor_account_id: Option<i64>,
    actor_role: Option<&'a str>,
    tenant_id: Option<i64>,
    source_ip: Option<&'a str>,
    action: &'a str,
    object: &'a str,
    outcome: Outcome,
    details: &'a Value,
}

/// Deterministic, unambiguous bytes of a record: a format tag, then every field in a fixed
/// order. Strings are length-prefixed (u32 big-endian), integers are 8 bytes big-endian,
/// optional fields carry a presence byte, so no two different records encode alike (a field
/// boundary cannot be shifted by putting a separator inside a value). The id is included so
/// records cannot be swapped; `at` is RFC 3339 UTC with exactly six fractional digits, the
/// precision PostgreSQL stores.
fn canonical_bytes(c: &Content<'_>) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, v: i64) {
        out.extend_from_slice(&v.to_be_bytes());
    }
    fn text(out: &mut Vec<u8>, s: &str) {
        // Lengths beyond u32 cannot come from PostgreSQL (1 GB field limit); saturating
        // keeps this total without a panic path.
        let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn opt_int(out: &mut Vec<u8>, v: Option<i64>) {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                int(out, v);
            }
        }
    }
    fn opt_text(out: &mut Vec<u8>, v: Option<&str>) {
        match v {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                text(out, s);
            }
        }
    }

    let details = canonical_json(c.details);
    let mut out = Vec::with_capacity(128 + c.object.len() + details.len());
    out.extend_from_slice(FORMAT_TAG);
    int(&mut out, c.id);
    text(&mut out, &format_at(c.at));
    opt_int(&mut out, c.actor_account_id);
    opt_text(&mut out, c.actor_role);
    opt_int(&mut out, c.tenant_id);
    opt_text(&mut out, c.source_ip);
    text(&mut out, c.action);
    text(&mut out, c.object);
    text(&mut out, c.outcome.as_str());
    text(&mut out, &details);
    out
}

/// `2026-10-12T02:00:00.123456Z`.
pub(crate) fn format_at(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Compact JSON with object keys sorted by their UTF-8 bytes, at every depth.
///
/// jsonb does not keep key order or whitespace, so the MAC cannot be taken over the text the
/// caller built. Numbers are the other trap (jsonb stores `numeric`, so `1e2` comes back as
/// `100`): events with non-integer numbers are refused ([`AuditEvent`] validation), so the
/// value the writer MACs and the value the sealer reads back encode alike.
pub(crate) use crate::kernel::json::canonical_json;

fn mac_of(
    key: &AuditKey,
    prev_mac: &[u8],
    content: &Content<'_>,
) -> Result<HmacSha256, AuditError> {
    // HMAC takes keys of any length, so this never fails; the error keeps it panic-free.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key.bytes())
        .map_err(|_| AuditError::BadKey("HMAC 不接受该密钥".into()))?;
    mac.update(prev_mac);
    mac.update(&canonical_bytes(content));
    Ok(mac)
}

/// Tags the per-record MAC so it can never be confused with a chain MAC.
const ROW_TAG: &[u8] = b"afterschool.audit.row.v1\n";

/// `HMAC(key, ROW_TAG || uid || canonical(content with id 0))`: written with the record,
/// before its id is known, so nobody without the key can insert a record that verifies.
fn row_mac_of(key: &AuditKey, uid: &Uuid, content: &Content<'_>) -> Result<Vec<u8>, AuditError> {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key.bytes())
        .map_err(|_| AuditError::BadKey("HMAC 不接受该密钥".into()))?;
    mac.update(ROW_TAG);
    mac.update(uid.as_bytes());
    mac.update(&canonical_bytes(&Content { id: 0, ..*content }));
    Ok(mac.finalize().into_bytes().to_vec())
}

/// Appends `ev` to the trail on the caller's connection and returns the new record's id.
///
/// Inside a transaction the record commits or rolls back with the caller's work (use this
/// for "every change to personal data or money": no change without its record and no record
/// of a change that did not happen). It is one `INSERT` that takes no lock other writers
/// wait for: the record is chained later by [`seal`], in a transaction of its own. Until
/// then its row MAC protects it against forgery and its queue entry against silent removal
/// of the record alone.
///
/// `at` is truncated to microseconds (PostgreSQL's precision) before it is stored and MACed.
pub async fn append(
    conn: &mut PgConnection,
    key: &AuditKey,
    ev: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    ev.validate()?;
    let at = at.trunc_subsecs(6);
    let uid = Uuid::new_v4();
    let content = Content {
        id: 0,
        at,
        actor_account_id: ev.actor_account_id,
        actor_role: ev.actor_role.as_deref(),
        tenant_id: ev.tenant_id,
        source_ip: ev.source_ip.as_deref(),
        action: &ev.action,
        object: &ev.object,
        outcome: ev.outcome,
        details: &ev.details,
    };
    let row_mac = row_mac_of(key, &uid, &content)?;
    let id: i64 = sqlx::query_scalar(
        "insert into platform.audit_log
             (uid, at, actor_account_id, actor_role, tenant_id, source_ip,
              action, object, outcome, details, row_mac)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         returning id",
    )
    .bind(uid)
    .bind(at)
    .bind(ev.actor_account_id)
    .bind(ev.actor_role.as_deref())
    .bind(ev.tenant_id)
    .bind(ev.source_ip.as_deref())
    .bind(&ev.action)
    .bind(&ev.object)
    .bind(ev.outcome.as_str())
    .bind(Json(&ev.details))
    .bind(&row_mac)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Appends on its own, committed before returning. For events that must be kept even when
/// the request's own transaction rolls back: failed logins, lockouts, permission denials.
pub async fn append_standalone(
    pool: &PgPool,
    key: &AuditKey,
    ev: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    let mut conn = pool.acquire().await?;
    append(&mut conn, key, ev, at).await
}

/// Records sealed per transaction by [`seal`]: large enough to catch up quickly after a
/// burst, small enough to keep the head lock short.
const SEAL_BATCH: i64 = 2000;

/// Chains every queued record into `platform.audit_seal`, oldest id first, and returns how
/// many it sealed. Safe to run from any number of servers at once: each batch holds the
/// head row for the few statements it takes, so sealers take turns and never fork the
/// chain. A queued id whose record is gone (removed outside the product) is left queued
/// for [`verify`] to report.
pub async fn seal(pool: &PgPool, key: &AuditKey) -> Result<u64, AuditError> {
    let mut total = 0u64;
    loop {
        let mut tx = pool.begin().await?;
        let head: Option<(Option<i64>, Vec<u8>)> = sqlx::query_as(
            "select last_seq, last_mac from platform.audit_head where id = 1 for update",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some((last_seq, mut prev_mac)) = head else {
            return Err(AuditError::Corrupt("缺少链头记录 audit_head".into()));
        };
        if prev_mac.len() != 32 {
            return Err(AuditError::Corrupt("链头 MAC 长度错误".into()));
        }
        let sql = format!(
            "select {cols} from platform.audit_pending p
             join platform.audit_log l on l.id = p.log_id
             order by p.log_id limit $1",
            cols = prefixed_columns("l")
        );
        let rows = sqlx::query(&sql)
            .bind(SEAL_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            tx.commit().await?;
            return Ok(total);
        }
        let mut seq = last_seq.unwrap_or(0);
        let (mut seqs, mut ids, mut prevs, mut macs) = (vec![], vec![], vec![], vec![]);
        for row in &rows {
            let rec = record_from_row(row)?;
            seq += 1;
            let mac = mac_of(key, &prev_mac, &content_of(&rec))?
                .finalize()
                .into_bytes()
                .to_vec();
            seqs.push(seq);
            ids.push(rec.id);
            prevs.push(std::mem::replace(&mut prev_mac, mac.clone()));
            macs.push(mac);
        }
        sqlx::query(
            "insert into platform.audit_seal (seq, log_id, prev_mac, mac)
             select * from unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bytea[])",
        )
        .bind(&seqs)
        .bind(&ids)
        .bind(&prevs)
        .bind(&macs)
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from platform.audit_pending where log_id = any($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update platform.audit_head set last_seq = $1, last_mac = $2 where id = 1")
            .bind(seq)
            .bind(&prev_mac)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        total += rows.len() as u64;
        if (rows.len() as i64) < SEAL_BATCH {
            return Ok(total);
        }
    }
}

/// Runs [`seal`] every `every` for the life of the server, so records are chained within
/// about that long of their commit.
pub async fn run_sealer(pool: PgPool, key: std::sync::Arc<AuditKey>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = seal(&pool, &key).await {
            tracing::warn!(error = %e, "audit sealer: sealing failed");
        }
    }
}

/// Result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records found intact before the first break (all of them when nothing is broken).
    pub checked: u64,
    /// Id of the first record that does not verify; for a trail cut off at the end, the id
    /// the head still names.
    pub first_broken: Option<i64>,
    /// Why, in Chinese, for the operator.
    pub reason: Option<String>,
    /// Intact records committed after the sealing pass `verify` made, still queued.
    pub pending: u64,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.first_broken.is_none()
    }

    fn broken(checked: u64, id: Option<i64>, reason: &str) -> Self {
        Self {
            checked,
            first_broken: id,
            reason: Some(reason.to_owned()),
            pending: 0,
        }
    }
}

/// Seals what is queued, then walks the whole chain in seal order and recomputes every MAC.
///
/// Checks, stopping at the first break: each seal's `prev_mac` is the previous seal's `mac`
/// (genesis: 32 zero bytes) and its `mac` matches the record's content; the record a seal
/// names exists; each record written since the seal migration carries a valid row MAC;
/// the head names the last seal; every record is sealed or queued, and every queued id
/// names a record. Gaps in the ids are not breaks: a rolled-back append consumes an id.
/// An edited record shows up as its own MAC mismatch; a removed record at its id; a
/// removed seal as the next seal's broken link; seals cut off at the end as a head
/// mismatch; a record inserted without the key as a row MAC mismatch.
///
/// The checks run in one read-only `REPEATABLE READ` snapshot, so appends made meanwhile
/// neither block them nor make them see a head ahead of the seals.
pub async fn verify(pool: &PgPool, key: &AuditKey) -> Result<VerifyReport, AuditError> {
    seal(pool, key).await?;
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let head: Option<(Option<i64>, Vec<u8>, Option<i64>)> = sqlx::query_as(
        "select last_seq, last_mac, legacy_upto from platform.audit_head where id = 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((head_seq, head_mac, legacy_upto)) = head else {
        return Ok(VerifyReport::broken(0, None, "缺少链头记录 audit_head"));
    };
    let legacy_upto = legacy_upto.unwrap_or(0);

    let mut checked = 0u64;
    let mut prev_mac: Vec<u8> = GENESIS_MAC.to_vec();
    let mut last: Option<(i64, i64)> = None;
    let sql = format!(
        "select s.seq, s.log_id, s.prev_mac as seal_prev, s.mac as seal_mac,
                l.id is not null as present, l.uid, l.row_mac, {cols}
         from platform.audit_seal s left join platform.audit_log l on l.id = s.log_id
         order by s.seq",
        cols = prefixed_columns("l")
    );
    {
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let log_id: i64 = row.try_get("log_id")?;
            if !row.try_get::<bool, _>("present")? {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(log_id),
                    "已封存的记录不存在（被删除）",
                ));
            }
            let seal_prev: Vec<u8> = row.try_get("seal_prev")?;
            let seal_mac: Vec<u8> = row.try_get("seal_mac")?;
            if seal_prev != prev_mac {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(log_id),
                    "与上一条记录的链接断开（其前的记录被删除、插入或修改）",
                ));
            }
            let rec = record_from_row(&row)?;
            if mac_of(key, &seal_prev, &content_of(&rec))?
                .verify_slice(&seal_mac)
                .is_err()
            {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "记录内容与 MAC 不符（记录被修改，或密钥不对）",
                ));
            }
            if rec.id > legacy_upto && !row_mac_ok(key, &row, &rec)? {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "记录的写入 MAC 不符（记录不是由本系统写入）",
                ));
            }
            checked += 1;
            prev_mac = seal_mac;
            last = Some((row.try_get("seq")?, rec.id));
        }
    }

    if head_seq != last.map(|(seq, _)| seq) || head_mac != prev_mac {
        // Seals after the last one read were removed (or the head was edited).
        return Ok(VerifyReport::broken(
            checked,
            last.map(|(_, id)| id),
            "链头与最后一条记录不符（末尾记录被删除，或链头被修改）",
        ));
    }

    // Records not sealed: intact ones committed after the sealing pass are still queued.
    let sql = format!(
        "select p.log_id is not null as queued, l.uid, l.row_mac, {cols}
         from platform.audit_log l
         left join platform.audit_pending p on p.log_id = l.id
         where not exists (select 1 from platform.audit_seal s where s.log_id = l.id)
         order by l.id",
        cols = prefixed_columns("l")
    );
    let mut pending = 0u64;
    {
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let rec = record_from_row(&row)?;
            if !row.try_get::<bool, _>("queued")? {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "记录既未封存也不在待封存队列（队列被篡改）",
                ));
            }
            if !row_mac_ok(key, &row, &rec)? {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "记录的写入 MAC 不符（记录不是由本系统写入，或被修改）",
                ));
            }
            pending += 1;
        }
    }
    let orphan: Option<i64> = sqlx::query_scalar(
        "select min(p.log_id) from platform.audit_pending p
         where not exists (select 1 from platform.audit_log l where l.id = p.log_id)",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Some(id) = orphan {
        return Ok(VerifyReport::broken(
            checked,
            Some(id),
            "待封存的记录不存在（被删除）",
        ));
    }
    Ok(VerifyReport {
        checked,
        first_broken: None,
        reason: None,
        pending,
    })
}

/// Whether the row's `uid` and `row_mac` (selected next to the record) verify.
fn row_mac_ok(key: &AuditKey, row: &PgRow, rec: &AuditRecord) -> Result<bool, AuditError> {
    let uid: Option<Uuid> = row.try_get("uid")?;
    let stored: Option<Vec<u8>> = row.try_get("row_mac")?;
    let (Some(uid), Some(stored)) = (uid, stored) else {
        return Ok(false);
    };
    let expected = row_mac_of(key, &uid, &content_of(rec))?;
    Ok(bool::from(subtle::ConstantTimeEq::ct_eq(
        expected.as_slice(),
        stored.as_slice(),
    )))
}

fn content_of(rec: &AuditRecord) -> Content<'_> {
    Content {
        id: rec.id,
        at: rec.at,
        actor_account_id: rec.actor_account_id,
        actor_role: rec.actor_role.as_deref(),
        tenant_id: rec.tenant_id,
        source_ip: rec.source_ip.as_deref(),
        action: &rec.action,
        object: &rec.object,
        outcome: rec.outcome,
        details: &rec.details,
    }
}

/// [`RECORD_COLUMNS`] qualified with a table alias.
fn prefixed_columns(alias: &str) -> String {
    RECORD_COLUMNS
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a row selected with [`RECORD_COLUMNS`].
pub(crate) fn record_from_row(row: &PgRow) -> Result<AuditRecord, AuditError> {
    let outcome: String = row.try_get("outcome")?;
    let outcome = Outcome::parse(&outcome)
        .ok_or_else(|| AuditError::Corrupt(format!("未知的结果值 {outcome}")))?;
    let Json(details): Json<Value> = row.try_get("details")?;
    Ok(AuditRecord {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor_account_id: row.try_get("actor_account_id")?,
        actor_role: row.try_get("actor_role")?,
        tenant_id: row.try_get("tenant_id")?,
        source_ip: row.try_get("source_ip")?,
        action: row.try_get("action")?,
        object: row.try_get("object")?,
        outcome,
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn content(details: &Value) -> Content<'_> {
        Content {
            id: 7,
            at: Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0).unwrap(),
            actor_account_id: Some(42),
            actor_role: Some("school_admin"),
            tenant_id: None,
            source_ip: Some("10.0.0.1"),
            action: "student.update",
            object: "student:1",
            outcome: Outcome::Success,
            details,
        }
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v: Value =
            serde_json::from_str(r#"{ "b": 1, "a": { "z": [ {"y": 2, "x": 1} ], "c": null } }"#)
                .unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":null,"z":[{"x":1,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn at_has_exactly_six_fractional_digits() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_at(at), "2026-01-02T03:04:05.000000Z");
    }

    #[test]
    fn every_field_changes_the_mac() {
        let key = AuditKey::new([7; 32]);
        let d = json!({"k": "v"});
        let base = mac_of(&key, &GENESIS_MAC, &content(&d))
            .unwrap()
            .finalize()
            .into_bytes();
        let d2 = json!({"k": "w"});
        let variants: Vec<Content<'_>> = vec![
            Content {
                id: 8,
                ..content(&d)
            },
            Content {
                actor_account_id: None,
                ..content(&d)
            },
            Content {
                actor_role: Some("teacher"),
                ..content(&d)
            },
            Content {
                tenant_id: Some(0),
                ..content(&d)
            },
            Content {
                source_ip: None,
                ..content(&d)
            },
            Content {
                action: "student.read",
                ..content(&d)
            },
            Content {
                object: "student:2",
                ..content(&d)
            },
            Content {
                outcome: Outcome::Denied,
                ..content(&d)
            },
            content(&d2),
        ];
        for v in &variants {
            assert_ne!(
                mac_of(&key, &GENESIS_MAC, v)
                    .unwrap()
                    .finalize()
                    .into_bytes(),
                base
            );
        }
        assert_ne!(
            mac_of(&key, &[1; 32], &content(&d))
                .unwrap()
                .finalize()
                .into_bytes(),
            base
        );
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        // "ab" + "c" must not encode like "a" + "bc".
        let d = json!({});
        let a = canonical_bytes(&Content {
            action: "ab",
            object: "c",
            ..content(&d)
        });
        let b = canonical_bytes(&Content {
            action: "a",
            object: "bc",
            ..content(&d)
        });
        assert_ne!(a, b);
    }
}
