//! The city supervision push (R-X01, issue #15) end to end: changes in a school become F2,
//! F3 and F4 records at the receiver simulator through the outbox (personal fields SM4
//! encrypted, every delivery with personal data audited), F5 follows the escrow account,
//! the receiver's faults delay but never lose or double a record, a poison event dies
//! without blocking others and an operator retries or discards it, the receiver refuses
//! forged, stale, replayed and unknown requests, and an independent SM2/SM4 implementation
//! (Python `gmssl`) talks to our simulator.

use std::time::Duration;

use afterschool::clock::Clock;
use afterschool::supervision::crypto::canonical_string;
use afterschool::supervision::model::{FieldSet, Op, Record};
use afterschool::supervision::sim::{self, Counters, StoredRecord};
use afterschool::supervision::{protocol, push};
use chrono::NaiveDate;
use serde_json::{json, Value};

use crate::client::refused;
use crate::fixtures::{demo_with_families, published_course, Course};
use crate::helpers::{spawn_app, TestApp};
use crate::supervision_crypto::{gm, gmssl_available};

async fn counters(app: &TestApp) -> Counters {
    sim::counters(&app.state.db_app).await.expect("counters")
}

async fn stored(app: &TestApp, set: FieldSet, id: &str) -> Option<StoredRecord> {
    sim::records(&app.state.db_app, Some(set.as_str()), 1000)
        .await
        .expect("records")
        .into_iter()
        .find(|r| r.record_id == id)
}

/// Waits (real time, up to 30 s) until `set`/`id` is stored and `ok` holds for it.
async fn until_record(
    app: &TestApp,
    set: FieldSet,
    id: &str,
    ok: impl Fn(&StoredRecord) -> bool,
) -> StoredRecord {
    for _ in 0..600 {
        if let Some(r) = stored(app, set, id).await.filter(|r| ok(r)) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let queue: Vec<(String, String, i32, Option<String>)> = sqlx::query_as(
        "select kind, entity, attempts, last_error from platform.outbox where state <> 'done' order by id",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    panic!(
        "{} {id} never arrived as expected: {:?}; undelivered: {queue:?}",
        set.as_str(),
        stored(app, set, id).await.map(|r| r.body)
    );
}

/// Waits until no event is pending or failing.
async fn until_drained(app: &TestApp) {
    for _ in 0..600 {
        let s = afterschool::outbox::stats(&app.state).await.expect("stats");
        if s.pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the outbox never drained");
}

fn decrypt(app: &TestApp, r: &StoredRecord, field: &str) -> String {
    let cipher = r.body[field].as_str().expect(field);
    app.state
        .supervision
        .sim
        .as_ref()
        .expect("simulator")
        .decrypt(cipher)
        .unwrap_or_else(|| panic!("{field} does not decrypt"))
}

async fn pushed_audits(app: &TestApp, set: &str) -> Vec<Value> {
    sqlx::query_scalar(
        "select details from platform.audit_log
         where action = 'supervision.push.personal' and details->>'field_set' = $1 order by id",
    )
    .bind(set)
    .fetch_all(&app.db.admin)
    .await
    .expect("audit")
}

#[tokio::test]
async fn r_x01_a_course_its_teacher_and_a_confirmed_place_reach_the_city_encrypted_and_audited() {
    let (app, fam) = demo_with_families(1).await;
    let admin = app.admin_token("sqsf").await;
    let idn = afterschool::people::sample::id_number(
        "442000",
        NaiveDate::from_ymd_opt(1986, 3, 14).unwrap(),
        71,
    );
    let teacher = app
        .create_staff(
            &admin,
            json!({ "staff_no": "T901", "name": "周老师", "id_number": idn, "phone": "13912340901" }),
        )
        .await;
    let course = published_course(&app, &Course::new(&app, "swim", "游泳")).await;
    app.set_teachers(&admin, course, &[teacher]).await;

    // F2: the published course, as it is after the teacher joined.
    let f2 = until_record(&app, FieldSet::F2, "sqsf-swim", |r| {
        r.body["status"] == "开班中"
    })
    .await;
    assert_eq!(f2.body["className"], "游泳");
    assert_eq!(f2.body["classType"], "培训");
    assert_eq!(f2.body["timeSlot"], "课后");
    assert_eq!(
        f2.body["platformNo"],
        app.state.supervision.settings.platform_no
    );
    // F3: the teacher, ID number and phone encrypted on the wire.
    let f3 = until_record(&app, FieldSet::F3, "sqsf-swim-T901", |_| true).await;
    assert_eq!(f3.body["teacherName"], "周老师");
    assert_ne!(f3.body["idNo"], json!(idn), "ID number sent in clear");
    assert_eq!(decrypt(&app, &f3, "idNo"), idn);
    assert_eq!(decrypt(&app, &f3, "phone"), "13912340901");

    // The teacher's phone changes: F3 follows.
    let (s, b) = app
        .school_put(
            &admin,
            &format!("/staff/{teacher}"),
            json!({ "staff_no": "T901", "name": "周老师", "id_number": idn, "phone": "13912340999" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let f3 = until_record(&app, FieldSet::F3, "sqsf-swim-T901", |r| {
        r.body["phone"]
            .as_str()
            .and_then(|c| app.state.supervision.sim.as_ref().unwrap().decrypt(c))
            .as_deref()
            == Some("13912340999")
    })
    .await;
    assert_eq!(f3.body["teacherName"], "周老师");

    // F4: a paid booking confirms the place.
    let (student, parent) = &fam[0];
    let (e, _, _) = app.paid(parent, *student, course, "sup-key-0001").await;
    let f4_id = format!("sqsf-E{e}");
    let f4 = until_record(&app, FieldSet::F4, &f4_id, |r| r.op == "upsert").await;
    assert_eq!(f4.body["classNo"], "sqsf-swim");
    assert_eq!(f4.body["schoolName"], app.tenant("sqsf").await.name);
    let masked: String =
        sqlx::query_scalar("select id_number_masked from school_sqsf.students where id = $1")
            .bind(student)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    let clear = decrypt(&app, &f4, "idNo");
    assert_eq!(clear.len(), 18);
    assert_eq!(&clear[14..], &masked[masked.len() - 4..]);

    // The place ends: a deletion; the course closes: an update.
    let (s, b) = app
        .school_post(
            &admin,
            &format!("/enrollments/{e}/cancel-by-school"),
            json!({ "reason": "家长电话申请退出" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    until_record(&app, FieldSet::F4, &f4_id, |r| r.op == Op::Delete.as_str()).await;
    let (s, b) = app
        .school_post(&admin, &format!("/courses/{course}/close"), json!({}))
        .await;
    assert_eq!(s, 200, "{b}");
    until_record(&app, FieldSet::F2, "sqsf-swim", |r| {
        r.body["status"] == "已结束"
    })
    .await;
    until_drained(&app).await;

    // Personal data left the tenant only with an audit record naming where and what.
    for set in ["F3", "F4"] {
        let audits = pushed_audits(&app, set).await;
        assert!(!audits.is_empty(), "no audit record for {set}");
        assert!(audits.iter().all(|d| d["destination"]
            .as_str()
            .unwrap()
            .ends_with("/sim/supervision/push")));
    }
    let c = counters(&app).await;
    assert_eq!(c.out_of_order, 0);
    // The outbox holds no ID number or phone in clear.
    let leaked = app
        .count_with(
            "select count(*) from platform.outbox where payload::text like '%' || $1 || '%'",
            &idn,
        )
        .await;
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn r_x02_every_movement_of_the_escrow_account_is_pushed_as_f5() {
    let (app, fam, course) = crate::fixtures::school_with_families(1, 5).await;
    app.paid(&fam[0].1, fam[0].0, course, "sup-f5-0001").await;
    app.clock.advance(chrono::Duration::hours(16)); // Tuesday 02:00 Beijing time
    let monday = NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();
    let close = afterschool::payments::daily::close_day(&app.state, monday)
        .await
        .unwrap();
    assert_eq!(close.settled_to_bank, "300.00");
    let journal: i64 = sqlx::query_scalar(
        "select id from platform.ledger_journals where kind = 'bank_settlement' order by id desc limit 1",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    let f5 = until_record(&app, FieldSet::F5, &format!("J{journal}"), |_| true).await;
    assert_eq!(f5.body["amount"], "300.00");
    assert_eq!(f5.body["direction"], "收入");
    assert_eq!(
        f5.body["bankName"],
        app.state.supervision.settings.escrow_bank_name
    );
    assert_eq!(f5.body["content"], "微信支付结算至存管账户");
    // A refused posting (more than WeChat Pay holds) leaves no event.
    let before = app
        .count("select count(*) from platform.outbox where entity like 'sup:F5:%'")
        .await;
    let mut conn = app.state.db_app.acquire().await.unwrap();
    let refused_post = afterschool::ledger::settle_to_bank(
        &mut conn,
        None,
        "BANK-REF-TOO-MUCH",
        afterschool::ledger::Money::parse("99999.00").unwrap(),
        app.clock.now(),
    )
    .await;
    assert!(refused_post.is_err());
    let after = app
        .count("select count(*) from platform.outbox where entity like 'sup:F5:%'")
        .await;
    assert_eq!(before, after, "a refused posting left an event");
}

#[tokio::test]
async fn a_rolled_back_change_leaves_no_event_and_a_committed_one_wakes_the_worker() {
    let app = spawn_app().await;
    let before = app.count("select count(*) from platform.outbox").await;
    let mut tx = app.state.db_app.begin().await.unwrap();
    let r = Record::new(FieldSet::F6, Op::Upsert, "ev-rolled-back")
        .with("studentNo", "S1")
        .with("classNo", "C1")
        .with("score", 5)
        .with("content", "好");
    push::record(&mut tx, &app.keys.pii, None, r).await.unwrap();
    drop(tx);
    assert_eq!(
        app.count("select count(*) from platform.outbox").await,
        before
    );

    let r = push::evaluation_record("ev-kept", "S1", "C1", 4, "老师很耐心");
    let mut conn = app.state.db_app.acquire().await.unwrap();
    push::record(&mut conn, &app.keys.pii, None, r)
        .await
        .unwrap();
    let f6 = until_record(&app, FieldSet::F6, "ev-kept", |_| true).await;
    assert_eq!(f6.body["content"], "老师很耐心");
}

/// `n` versions each of `entities` records, written in turn.
async fn write_versions(app: &TestApp, entities: usize, n: usize, tag: &str) {
    let mut conn = app.state.db_app.acquire().await.unwrap();
    for v in 0..n {
        let rs: Vec<Record> = (0..entities)
            .map(|e| {
                push::evaluation_record(&format!("{tag}-{e}"), "S1", "C1", 3, &format!("第{v}版"))
            })
            .collect();
        push::records(&mut conn, &app.keys.pii, None, rs)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_receiver_that_refuses_drops_and_stalls_gets_everything_afterwards_once_and_in_order() {
    let app = spawn_app().await;
    let operator = app.operator_token().await;
    let set_fault = |fault: &'static str, delay: u64| {
        let app = &app;
        let operator = operator.clone();
        async move {
            let (s, b) = app
                .send_json(
                    reqwest::Method::PUT,
                    Some(&operator),
                    "/api/v1/platform/simulators/supervision/fault",
                    Some(json!({ "fault": fault, "delay_ms": delay })),
                )
                .await;
            assert_eq!(s, 200, "{b}");
        }
    };
    set_fault("refuse", 0).await;
    write_versions(&app, 5, 4, "r").await;
    // Refused: the events stay, failing, and nothing is stored.
    for _ in 0..600 {
        if counters(&app).await.refused >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, q) = app
        .send_json(
            reqwest::Method::GET,
            Some(&operator),
            "/api/v1/platform/outbox",
            None,
        )
        .await;
    assert_eq!(s, 200, "{q}");
    assert!(q["failing"].as_i64().unwrap() >= 1, "{q}");
    assert_eq!(counters(&app).await.messages, 0);
    // The connection drops mid-answer.
    let refused_so_far = counters(&app).await.refused;
    set_fault("drop", 0).await;
    write_versions(&app, 5, 2, "d").await;
    for _ in 0..600 {
        if counters(&app).await.refused > refused_so_far {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        counters(&app).await.refused > refused_so_far,
        "no connection was dropped"
    );
    set_fault("none", 0).await;
    until_drained(&app).await;
    // The receiver takes the request but answers after the client gave up (5 s): it is
    // delivered again, answered DUPLICATE, and stored once.
    set_fault("timeout", 5500).await;
    write_versions(&app, 1, 1, "t").await;
    until_record(&app, FieldSet::F6, "t-0", |_| true).await;
    set_fault("none", 0).await;
    until_drained(&app).await;
    for e in 0..5 {
        let r = until_record(&app, FieldSet::F6, &format!("r-{e}"), |_| true).await;
        assert_eq!(r.body["content"], "第3版", "the last version wins");
        let d = until_record(&app, FieldSet::F6, &format!("d-{e}"), |_| true).await;
        assert_eq!(d.body["content"], "第1版");
    }
    let c = counters(&app).await;
    assert_eq!(c.messages, 31, "every event taken exactly once");
    assert!(
        c.duplicates >= 1,
        "the timed-out batch was not delivered again"
    );
    assert_eq!(c.out_of_order, 0, "an entity's versions arrived swapped");
    assert!(c.refused >= 2);
}

#[tokio::test]
async fn a_poison_event_dies_without_blocking_others_and_an_operator_retries_or_discards_it() {
    let app = spawn_app().await;
    let operator = app.operator_token().await;
    let mut conn = app.state.db_app.acquire().await.unwrap();
    // An F3 record without its required fields: the receiver refuses it every time.
    let poison = Record::new(FieldSet::F3, Op::Upsert, "poison").with("teacherName", "无证件");
    push::record(&mut conn, &app.keys.pii, None, poison)
        .await
        .unwrap();
    write_versions(&app, 3, 1, "fine").await;
    for e in 0..3 {
        until_record(&app, FieldSet::F6, &format!("fine-{e}"), |_| true).await;
    }
    let mut dead = Value::Null;
    for _ in 0..600 {
        let (_, q) = app
            .send_json(
                reqwest::Method::GET,
                Some(&operator),
                "/api/v1/platform/outbox",
                None,
            )
            .await;
        if q["dead"] == 1 {
            dead = q["dead_events"][0].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dead["entity"], "sup:F3:poison", "{dead}");
    assert_eq!(dead["attempts"], 5);
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("RECORD_INVALID"),
        "{dead}"
    );
    let id = dead["id"].as_i64().unwrap();
    // A pending (not dead) event cannot be discarded; an unknown one is not found.
    let unknown = outbox_post(&app, &operator, 999999, "discard").await;
    refused(&unknown, 404, "OUTBOX_EVENT_NOT_FOUND");
    // Retried: tried again (and dies again), audited.
    let (s, b) = outbox_post(&app, &operator, id, "retry").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["state"], "pending");
    let again = outbox_post(&app, &operator, id, "retry").await;
    refused(&again, 409, "OUTBOX_EVENT_NOT_DEAD");
    for _ in 0..600 {
        let st: String = sqlx::query_scalar("select state from platform.outbox where id = $1")
            .bind(id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
        if st == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (s, b) = outbox_post(&app, &operator, id, "discard").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["state"], "discarded");
    let audited = app
        .count("select count(*) from platform.audit_log where action in ('outbox.dead.retry', 'outbox.dead.discard')")
        .await;
    assert_eq!(audited, 2);
    // Prometheus text carries the same figures.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("afterschool_outbox_dead 0"), "{metrics}");
    assert!(metrics.contains("afterschool_outbox_pending "), "{metrics}");
}

/// POSTs `env` to the simulator: (status, answer).
/// The operator's retry or discard of a dead event, through the API.
async fn outbox_post(app: &TestApp, operator: &str, id: i64, verb: &str) -> (u16, Value) {
    app.send_json(
        reqwest::Method::POST,
        Some(operator),
        &format!("/api/v1/platform/outbox/{id}/{verb}"),
        None,
    )
    .await
}

async fn post_sim(app: &TestApp, env: &Value) -> (u16, Value) {
    let r = app
        .client
        .post(format!("{}/sim/supervision/push", app.address))
        .json(env)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap())
}

fn one_record(id: &str) -> Value {
    json!({ "platformNo": "4420001001", "records": [{
        "messageId": id, "fieldSet": "F6", "op": "upsert", "recordId": id, "version": 1,
        "body": { "platformNo": "4420001001", "studentNo": "S1", "classNo": "C1", "score": 5, "content": "好" },
    }]})
}

#[tokio::test]
async fn the_receiver_refuses_forged_stale_replayed_and_unknown_requests_and_stores_nothing() {
    let app = spawn_app().await;
    let sup = &app.state.supervision;
    let now = app.clock.now();
    let app_id = sup.settings.app_id.clone();
    let good = protocol::envelope(&sup.signer, &app_id, now, one_record("m-1"));
    let mut forged = good.clone();
    forged["data"]["records"][0]["body"]["score"] = json!(1);
    let stale = protocol::envelope(
        &sup.signer,
        &app_id,
        now - chrono::Duration::minutes(6),
        one_record("m-2"),
    );
    let stranger = protocol::envelope(&sup.signer, "SOMEONE-ELSE", now, one_record("m-3"));
    let other_key = afterschool::supervision::crypto::SmSigner::generate();
    let wrong_key = protocol::envelope(&other_key, &app_id, now, one_record("m-4"));
    let too_many = protocol::envelope(
        &sup.signer,
        &app_id,
        now,
        json!({ "records": (0..101).map(|i| one_record(&format!("b-{i}"))["records"][0].clone()).collect::<Vec<_>>() }),
    );
    for (env, status, code) in [
        (&forged, 401, "SIGN_INVALID"),
        (&stale, 401, "TIMESTAMP_EXPIRED"),
        (&stranger, 401, "APP_UNKNOWN"),
        (&wrong_key, 401, "SIGN_INVALID"),
        (&too_many, 413, "BATCH_TOO_LARGE"),
        (&json!({ "appId": app_id }), 400, "BAD_REQUEST"),
    ] {
        let (s, b) = post_sim(&app, env).await;
        assert_eq!(
            (s, b["data"]["code"].as_str().unwrap()),
            (status, code),
            "{b}"
        );
    }
    assert_eq!(
        counters(&app).await.messages,
        0,
        "a refused request stored something"
    );
    let (s, b) = post_sim(&app, &good).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["results"][0]["code"], "0");
    // The answer is signed by the simulator.
    protocol::open(&b, |_| Some(sup.receiver.clone()), now).expect("signed answer");
    // The same request again: its nonce is a replay.
    let (s, b) = post_sim(&app, &good).await;
    assert_eq!(
        (s, b["data"]["code"].as_str().unwrap()),
        (409, "NONCE_REPLAYED")
    );
    // The same message in a new request: taken before, stored once.
    let again = protocol::envelope(&sup.signer, &app_id, now, one_record("m-1"));
    let (s, b) = post_sim(&app, &again).await;
    assert_eq!(s, 200);
    assert_eq!(b["data"]["results"][0]["code"], "DUPLICATE");
    let c = counters(&app).await;
    assert_eq!((c.messages, c.duplicates), (1, 1));
}

#[tokio::test]
async fn gmssl_signs_and_encrypts_requests_our_simulator_takes_and_verifies_its_answers() {
    if !gmssl_available() {
        return;
    }
    let app = spawn_app().await;
    let sup = &app.state.supervision;
    let now = app.clock.now();
    // Python encrypts the ID number with the agreed SM4 key and signs the envelope with our
    // platform's SM2 key (as a city integrator's test client would).
    let id_cipher = gm(
        json!({ "cmd": "sm4_encrypt", "key_hex": sup.sm4.to_hex(), "plain": "440101198001011234" }),
    )
    .await["b64"]
        .as_str()
        .unwrap()
        .to_string();
    let mut env = json!({
        "appId": sup.settings.app_id, "version": "1.0", "timestamp": protocol::timestamp(now),
        "nonce": "0123456789abcdef0123456789abcdef", "signType": "SM2", "encType": "SM4",
        "data": { "platformNo": "4420001001", "records": [{
            "messageId": "py-1", "fieldSet": "F3", "op": "upsert", "recordId": "py-T1", "version": 1,
            "body": { "platformNo": "4420001001", "teacherNo": "T1", "classNo": "C1",
                      "teacherName": "黄老师", "idNo": id_cipher, "phone": id_cipher },
        }]},
    });
    let signed = gm(json!({
        "cmd": "sign", "secret_hex": sup.signer.secret_hex(), "public_hex": sup.signer.public_hex(),
        "msg": canonical_string(&env),
    }))
    .await;
    env["signData"] = signed["sig_b64"].clone();
    let (s, b) = post_sim(&app, &env).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["data"]["results"][0]["code"], "0", "{b}");
    let r = stored(&app, FieldSet::F3, "py-T1").await.expect("stored");
    assert_eq!(decrypt(&app, &r, "idNo"), "440101198001011234");
    // Python verifies the simulator's answer with the simulator's public key.
    let receiver = sup.sim.as_ref().unwrap().public_hex();
    let ok = gm(json!({
        "cmd": "verify", "public_hex": receiver, "msg": canonical_string(&b),
        "sig_b64": b["signData"],
    }))
    .await;
    assert_eq!(
        ok["ok"], true,
        "gmssl does not verify the simulator's answer"
    );
    // And our client's envelopes.
    let ours = protocol::envelope(
        &sup.signer,
        &sup.settings.app_id,
        now,
        json!({ "records": [] }),
    );
    let ok = gm(json!({
        "cmd": "verify", "public_hex": sup.signer.public_hex(), "msg": canonical_string(&ours),
        "sig_b64": ours["signData"],
    }))
    .await;
    assert_eq!(
        ok["ok"], true,
        "gmssl does not verify our client's envelope"
    );
}
