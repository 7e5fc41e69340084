//! The outbox handler of [`super::push::EVENT`]: a batch of records, personal fields
//! SM4-encrypted, in one signed envelope POSTed to the receiver; the receiver's signed
//! answer says per record whether it was taken (or taken before: a redelivery is
//! harmless). Every delivered batch with personal data is audited with its destination and
//! field set (R-X01; personal data leaves a tenant only here).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::model::FieldSet;
use super::protocol::{self, DUPLICATE, OK};
use super::push;
use crate::audit::{AuditEvent, Outcome as AuditOutcome};
use crate::kernel::ctx::Ctx;
use crate::outbox::{Delivery, Event, Outcome};

/// The message id of an event at the receiver: stable across redeliveries.
pub fn message_id(platform_no: &str, event_id: i64) -> String {
    format!("{platform_no}-{event_id}")
}

pub fn deliver(st: Arc<Ctx>, events: Vec<Event>) -> Delivery {
    Box::pin(async move {
        let mut out = Vec::with_capacity(events.len());
        for chunk in events.chunks(st.supervision.settings.batch.max(1)) {
            out.extend(deliver_batch(&st, chunk).await);
        }
        out
    })
}

async fn deliver_batch(st: &Ctx, events: &[Event]) -> Vec<Outcome> {
    let sup = &st.supervision;
    let cfg = &sup.settings;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; events.len()];
    let mut records = Vec::new();
    let mut index = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match push::open(&st.keys.pii, &ev.payload) {
            Ok(s) => {
                let mut body = s.body;
                body.insert("platformNo".into(), json!(cfg.platform_no));
                if s.set == FieldSet::F5 {
                    body.insert("bankName".into(), json!(cfg.escrow_bank_name));
                }
                for (k, clear) in &s.personal {
                    body.insert(k.clone(), json!(sup.sm4.encrypt(clear)));
                }
                records.push(json!({
                    "messageId": message_id(&cfg.platform_no, ev.id),
                    "fieldSet": s.set.as_str(),
                    "op": s.op.as_str(),
                    "recordId": s.record_id,
                    "version": ev.id,
                    "body": body,
                }));
                index.push((i, s.set, !s.personal.is_empty(), s.op));
            }
            Err(e) => outcomes[i] = Some(Outcome::Dead(e)),
        }
    }
    if !records.is_empty() {
        let data = json!({ "platformNo": cfg.platform_no, "records": records });
        let env = protocol::envelope(&sup.signer, &cfg.app_id, st.clock.now(), data);
        let url = format!("{}/push", sup.endpoint(&st.local_base()));
        match post(st, &url, &env).await {
            Ok(results) => {
                let mut audited: BTreeMap<&'static str, (usize, Vec<String>)> = BTreeMap::new();
                for (n, (i, set, personal, _op)) in index.iter().enumerate() {
                    let id = message_id(&cfg.platform_no, events[*i].id);
                    let code = results.get(&id).map(String::as_str);
                    outcomes[*i] = Some(match code {
                        Some(c) if c == OK || c == DUPLICATE => {
                            if *personal {
                                let e = audited.entry(set.as_str()).or_default();
                                e.0 += 1;
                                if e.1.len() < 20 {
                                    e.1.push(
                                        records[n]["recordId"].as_str().unwrap_or("").to_string(),
                                    );
                                }
                            }
                            Outcome::Done
                        }
                        Some(c) => Outcome::Retry(format!("接收方拒收该记录: {c}")),
                        None => Outcome::Retry("接收方应答中没有该记录".into()),
                    });
                }
                audit_batch(st, &url, audited).await;
            }
            Err(e) => {
                for (i, ..) in &index {
                    outcomes[*i] = Some(Outcome::Retry(e.clone()));
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Retry("未处理".into())))
        .collect()
}

/// POSTs the envelope; on a signed 200 answer, the result code per message id.
async fn post(
    st: &Ctx,
    url: &str,
    env: &Value,
) -> Result<std::collections::HashMap<String, String>, String> {
    let sup = &st.supervision;
    let answer = sup
        .http
        .post(url)
        .timeout(Duration::from_millis(sup.settings.timeout_ms.max(1)))
        .json(env)
        .send()
        .await
        .map_err(|e| format!("无法连接接收方: {}", without_url(&e)))?;
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .map_err(|e| format!("接收方应答无法读取 (HTTP {status}): {}", without_url(&e)))?;
    if !status.is_success() {
        let code = body["data"]["code"].as_str().unwrap_or("");
        return Err(format!("接收方拒绝 (HTTP {}): {code}", status.as_u16()));
    }
    let (_, _, data) = protocol::open(&body, |_| Some(sup.receiver.clone()), st.clock.now())
        .map_err(|r| format!("接收方应答验签失败: {}", r.code()))?;
    let mut out = std::collections::HashMap::new();
    for r in data["results"].as_array().into_iter().flatten() {
        if let (Some(id), Some(code)) = (r["messageId"].as_str(), r["code"].as_str()) {
            out.insert(id.to_string(), code.to_string());
        }
    }
    Ok(out)
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "接收方");
    }
    s
}

/// One audit record per field set of personal records delivered in this batch.
async fn audit_batch(st: &Ctx, url: &str, sets: BTreeMap<&'static str, (usize, Vec<String>)>) {
    let dest = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| format!("{}://{h}{}", u.scheme(), u.path()))
        })
        .unwrap_or_else(|| url.to_string());
    for (set, (count, sample)) in sets {
        let label = FieldSet::parse(set).map(FieldSet::label).unwrap_or("");
        let ev = AuditEvent::new(
            "supervision.push.personal",
            format!("supervision:{set}"),
            AuditOutcome::Success,
        )
        .details(json!({
            "destination": dest, "field_set": set, "field_set_label": label,
            "records": count, "record_ids": sample,
        }));
        st.audit_event(ev).await;
    }
}
