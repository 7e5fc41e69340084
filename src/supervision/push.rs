//! Writing records to push: a feature hands [`record`] a [`Record`] inside the
//! transaction of the change, and it becomes one outbox event (kind [`EVENT`], entity
//! `sup:<set>:<record id>`, so the changes of one record arrive in order). Personal fields
//! are sealed with the platform's data key before the event is stored: the outbox holds no
//! ID number or phone in clear.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sqlx::PgConnection;

use super::model::{FieldSet, Op, Record, PERSONAL};
use crate::outbox::{self, NewEvent};
use crate::pii::Keyring;

/// The outbox event kind of a record to push.
pub const EVENT: &str = "supervision.push";

/// Binds sealed personal fields to the outbox (a blob copied elsewhere does not decrypt).
pub(super) const SEAL_AAD: &[u8] = b"platform/outbox.supervision";

fn event(keys: &Keyring, r: Record) -> NewEvent {
    let mut body = r.body;
    let mut sealed = Map::new();
    for name in PERSONAL {
        if let Some(Value::String(clear)) = body.remove(*name) {
            let blob = keys.encrypt_str(&clear, SEAL_AAD);
            sealed.insert((*name).to_string(), Value::String(STANDARD.encode(blob)));
        }
    }
    NewEvent::new(
        EVENT,
        format!("sup:{}:{}", r.set.as_str(), r.record_id),
        json!({
            "set": r.set.as_str(),
            "op": r.op.as_str(),
            "recordId": r.record_id,
            "body": body,
            "sealed": sealed,
        }),
    )
}

/// Writes `r` for the push in the caller's transaction.
pub async fn record(
    conn: &mut PgConnection,
    keys: &Keyring,
    tenant_id: Option<i64>,
    r: Record,
) -> Result<(), sqlx::Error> {
    outbox::emit(conn, tenant_id, &event(keys, r))
        .await
        .map(|_| ())
}

/// Writes many records in order (one statement).
pub async fn records(
    conn: &mut PgConnection,
    keys: &Keyring,
    tenant_id: Option<i64>,
    rs: Vec<Record>,
) -> Result<u64, sqlx::Error> {
    let events: Vec<NewEvent> = rs.into_iter().map(|r| event(keys, r)).collect();
    outbox::emit_many(conn, tenant_id, &events).await
}

/// Writes the records a handler derived from outbox event `source`, keyed by it: the
/// handler run twice (a worker killed after its commit) writes them once.
pub async fn records_from(
    conn: &mut PgConnection,
    keys: &Keyring,
    tenant_id: Option<i64>,
    rs: Vec<Record>,
    source: i64,
) -> Result<u64, sqlx::Error> {
    let events: Vec<NewEvent> = rs
        .into_iter()
        .map(|r| {
            let key = format!("{source}:{}:{}", r.set.as_str(), r.record_id);
            event(keys, r).keyed(key)
        })
        .collect();
    outbox::emit_many(conn, tenant_id, &events).await
}

/// Writes a record without personal fields (the ledger's F5), which needs no key.
pub async fn record_without_personal(
    conn: &mut PgConnection,
    tenant_id: Option<i64>,
    r: Record,
) -> Result<(), sqlx::Error> {
    debug_assert!(PERSONAL.iter().all(|p| !r.body.contains_key(*p)));
    let mut r = r;
    r.body.retain(|k, _| !PERSONAL.contains(&k.as_str()));
    let ev = NewEvent::new(
        EVENT,
        format!("sup:{}:{}", r.set.as_str(), r.record_id),
        json!({ "set": r.set.as_str(), "op": r.op.as_str(), "recordId": r.record_id, "body": r.body, "sealed": {} }),
    );
    outbox::emit(conn, tenant_id, &ev).await.map(|_| ())
}

/// A record as the outbox holds it, personal fields opened again (for the wire).
pub(super) struct Stored {
    pub set: FieldSet,
    pub op: Op,
    pub record_id: String,
    pub body: Map<String, Value>,
    /// Personal fields in clear, to be SM4-encrypted into the body.
    pub personal: Vec<(String, String)>,
}

pub(super) fn open(keys: &Keyring, payload: &Value) -> Result<Stored, String> {
    let set = payload["set"]
        .as_str()
        .and_then(FieldSet::parse)
        .ok_or("字段集无效")?;
    let op = match payload["op"].as_str() {
        Some("upsert") => Op::Upsert,
        Some("delete") => Op::Delete,
        _ => return Err("操作类型无效".into()),
    };
    let record_id = payload["recordId"]
        .as_str()
        .ok_or("缺少记录编号")?
        .to_string();
    let body = payload["body"].as_object().cloned().unwrap_or_default();
    let mut personal = Vec::new();
    if let Some(sealed) = payload["sealed"].as_object() {
        for (k, v) in sealed {
            let blob = v
                .as_str()
                .and_then(|s| STANDARD.decode(s).ok())
                .ok_or("加密字段格式无效")?;
            let clear = keys
                .decrypt_str(&blob, SEAL_AAD)
                .map_err(|_| "加密字段无法解密".to_string())?;
            personal.push((k.clone(), clear));
        }
    }
    Ok(Stored {
        set,
        op,
        record_id,
        body,
        personal,
    })
}

/// F1: the platform itself, from configuration.
pub fn platform_record(s: &super::model::SupervisionSettings) -> Record {
    Record::new(FieldSet::F1, Op::Upsert, s.platform_no.clone())
        .with("platformName", s.platform_name.clone())
        .with("platformUrl", s.platform_url.clone())
        .with("ownerName", s.owner_name.clone())
        .with("ownerPhone", s.owner_phone.clone())
        .with("techName", s.tech_name.clone())
        .with("techPhone", s.tech_phone.clone())
}

/// Writes F1 (the platform, from configuration) unless this very content was written
/// before: called at every start of `serve` and `worker`, it pushes F1 once per change of
/// the configuration.
pub async fn announce_platform(st: &crate::kernel::ctx::Ctx) -> Result<bool, sqlx::Error> {
    let r = platform_record(&st.supervision.settings);
    let digest = super::crypto::sm3_hex(
        super::crypto::canonical_json(&Value::Object(r.body.clone())).as_bytes(),
    );
    let ev = event(&st.keys.pii, r).keyed(format!("F1:{digest}"));
    let mut conn = st.db_app.acquire().await?;
    outbox::emit(&mut conn, None, &ev).await
}

/// F6: a parent's evaluation of a course (issue 17 calls this when evaluations exist).
pub fn evaluation_record(
    evaluation_id: &str,
    student_no: &str,
    class_no: &str,
    score: u8,
    content: &str,
) -> Record {
    Record::new(FieldSet::F6, Op::Upsert, evaluation_id)
        .with("studentNo", student_no)
        .with("classNo", class_no)
        .with("score", score)
        .with("content", content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_fields_are_sealed_in_the_event_and_open_again() {
        let keys = Keyring::generate();
        let r = Record::new(FieldSet::F3, Op::Upsert, "sqsf-12-3")
            .with("teacherName", "王老师")
            .with("idNo", "440101198001011234")
            .with("phone", "13800138000");
        let ev = event(&keys, r);
        assert_eq!(ev.entity, "sup:F3:sqsf-12-3");
        let text = ev.payload.to_string();
        assert!(
            !text.contains("440101198001011234"),
            "ID number in clear: {text}"
        );
        assert!(!text.contains("13800138000"));
        let s = open(&keys, &ev.payload).unwrap();
        assert_eq!(s.set, FieldSet::F3);
        assert_eq!(s.body["teacherName"], "王老师");
        assert!(s
            .personal
            .contains(&("idNo".into(), "440101198001011234".into())));
        let other = Keyring::generate();
        assert!(open(&other, &ev.payload).is_err());
    }

    #[test]
    fn an_evaluation_maps_to_f6() {
        let r = evaluation_record("ev-1", "G440101201501011234", "sqsf-KC1", 5, "孩子很喜欢");
        assert_eq!(r.set, FieldSet::F6);
        for f in FieldSet::F6.required() {
            assert!(*f == "platformNo" || r.body.contains_key(*f), "{f} missing");
        }
    }
}
