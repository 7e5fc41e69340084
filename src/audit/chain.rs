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
use sqlx::{Connection, PgConnection, PgPool, Row};

use super::{AuditError, AuditEvent, AuditKey, AuditRecord, Outcome};

type HmacSha256 = Hmac<Sha256>;

/// `prev_mac` of the first record.
pub const GENESIS_MAC: [u8; 32] = [0u8; 32];

/// Tags the encoding so a future format can never be confused with this one.
const FORMAT_TAG: &[u8] = b"afterschool.audit.v1\n";

/// Columns read back by `verify` and `search`, in [`record_from_row`] order.
pub(crate) const RECORD_COLUMNS: &str = "id, at, actor_account_id, actor_role, tenant_id, \
     source_ip, action, object, outcome, details, prev_mac, mac";

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
/// caller built. Numbers are the other trap (jsonb stores `numeric`, so `-0.0` comes back as
/// `0.0`); `append` therefore round-trips the details through `::jsonb` first and both
/// `append` and `verify` encode a value PostgreSQL has already normalised.
pub(crate) fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            // Sorted explicitly: serde_json's map order depends on the `preserve_order`
            // feature, which any crate in the build can switch on.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, val)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(val, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

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

/// Appends `ev` to the trail on the caller's connection and returns the new record's id.
///
/// Inside a transaction the record commits or rolls back with the caller's work (use this
/// for "every change to personal data or money": no change without its record and no record
/// of a change that did not happen). Outside one, it runs in a transaction of its own.
///
/// The chain's head row stays locked until the caller's transaction ends, which serialises
/// all auditing transactions of the platform from this call on: call it as the *last*
/// statement before commit and keep those transactions short. Under `REPEATABLE READ` or
/// `SERIALIZABLE` a concurrent append makes this fail with a serialisation error; retry the
/// transaction as for any other.
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
    // A savepoint inside the caller's transaction (so a failure here leaves it usable), or
    // a transaction of its own on a bare connection (so the head lock lasts to the insert).
    let mut tx = conn.begin().await?;

    let head: Option<(Vec<u8>,)> =
        sqlx::query_as("select last_mac from platform.audit_head where id = 1 for update")
            .fetch_optional(&mut *tx)
            .await?;
    let Some((prev_mac,)) = head else {
        return Err(AuditError::Corrupt("缺少链头记录 audit_head".into()));
    };
    if prev_mac.len() != 32 {
        return Err(AuditError::Corrupt("链头 MAC 长度错误".into()));
    }

    // The id is drawn only now, under the head lock, so id order is chain order; it is
    // drawn before the insert because it is part of the MAC and the row cannot be updated.
    // The same round trip normalises the details exactly as jsonb will store them.
    let (id, Json(details)): (i64, Json<Value>) = sqlx::query_as(
        "select nextval(pg_get_serial_sequence('platform.audit_log', 'id')), $1::jsonb",
    )
    .bind(Json(&ev.details))
    .fetch_one(&mut *tx)
    .await?;

    let content = Content {
        id,
        at,
        actor_account_id: ev.actor_account_id,
        actor_role: ev.actor_role.as_deref(),
        tenant_id: ev.tenant_id,
        source_ip: ev.source_ip.as_deref(),
        action: &ev.action,
        object: &ev.object,
        outcome: ev.outcome,
        details: &details,
    };
    let mac = mac_of(key, &prev_mac, &content)?
        .finalize()
        .into_bytes()
        .to_vec();

    sqlx::query(
        "insert into platform.audit_log
             (id, at, actor_account_id, actor_role, tenant_id, source_ip,
              action, object, outcome, details, prev_mac, mac)
         overriding system value
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(at)
    .bind(ev.actor_account_id)
    .bind(ev.actor_role.as_deref())
    .bind(ev.tenant_id)
    .bind(ev.source_ip.as_deref())
    .bind(&ev.action)
    .bind(&ev.object)
    .bind(ev.outcome.as_str())
    .bind(Json(&details))
    .bind(&prev_mac)
    .bind(&mac)
    .execute(&mut *tx)
    .await?;

    sqlx::query("update platform.audit_head set last_id = $1, last_mac = $2 where id = 1")
        .bind(id)
        .bind(&mac)
        .execute(&mut *tx)
        .await?;

    tx.commit().await?;
    Ok(id)
}

/// Appends in a short transaction of its own, committed before returning. For events that
/// must be kept even when the request's own transaction rolls back: failed logins,
/// lockouts, permission denials.
pub async fn append_standalone(
    pool: &PgPool,
    key: &AuditKey,
    ev: &AuditEvent,
    at: DateTime<Utc>,
) -> Result<i64, AuditError> {
    let mut tx = pool.begin().await?;
    let id = append(&mut tx, key, ev, at).await?;
    tx.commit().await?;
    Ok(id)
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
        }
    }
}

/// Walks the whole trail in id order and recomputes every MAC.
///
/// Checks that each record's `prev_mac` is the previous record's `mac` (genesis: 32 zero
/// bytes), that its own `mac` matches its content, and that the head names the last record.
/// Gaps in the ids are not breaks: a rolled-back append consumes an id, and the chain links
/// MACs, not ids. A deleted record shows up as the next record's broken link; an edited one
/// as its own MAC mismatch; records cut off at the end as a head mismatch.
///
/// Runs in one read-only `REPEATABLE READ` snapshot, so appends made meanwhile neither
/// block it nor make it see a head ahead of the records. Stops at the first break.
pub async fn verify(pool: &PgPool, key: &AuditKey) -> Result<VerifyReport, AuditError> {
    let mut tx = pool.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let head: Option<(Option<i64>, Vec<u8>)> =
        sqlx::query_as("select last_id, last_mac from platform.audit_head where id = 1")
            .fetch_optional(&mut *tx)
            .await?;
    let Some((head_id, head_mac)) = head else {
        return Ok(VerifyReport::broken(0, None, "缺少链头记录 audit_head"));
    };

    let mut checked = 0u64;
    let mut prev_mac: Vec<u8> = GENESIS_MAC.to_vec();
    let mut last_id: Option<i64> = None;
    let sql = format!("select {RECORD_COLUMNS} from platform.audit_log order by id");
    {
        let mut rows = sqlx::query(&sql).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await? {
            let rec = record_from_row(&row)?;
            if rec.prev_mac != prev_mac {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "与上一条记录的链接断开（其前的记录被删除、插入或修改）",
                ));
            }
            let content = Content {
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
            };
            // Constant-time comparison: cheap, and no timing oracle for forged MACs.
            if mac_of(key, &rec.prev_mac, &content)?
                .verify_slice(&rec.mac)
                .is_err()
            {
                return Ok(VerifyReport::broken(
                    checked,
                    Some(rec.id),
                    "记录内容与 MAC 不符（记录被修改，或密钥不对）",
                ));
            }
            checked += 1;
            prev_mac = rec.mac;
            last_id = Some(rec.id);
        }
    }
    tx.commit().await?;

    if head_id != last_id || head_mac != prev_mac {
        // Records after the last one read were removed (or the head was edited).
        let at = head_id.or(last_id);
        return Ok(VerifyReport::broken(
            checked,
            at,
            "链头与最后一条记录不符（末尾记录被删除，或链头被修改）",
        ));
    }
    Ok(VerifyReport {
        checked,
        first_broken: None,
        reason: None,
    })
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
        prev_mac: row.try_get("prev_mac")?,
        mac: row.try_get("mac")?,
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
