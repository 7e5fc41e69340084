//! Messages to parents (issue #15, item 5): a paid booking, a refund that arrives and a
//! withdrawal decision each send the parent one message, by SMS until the parent accepts
//! the kind in WeChat's subscription popup and by WeChat after; WeChat's refusals fall
//! back to SMS, its failures are retried, a timeout is never sent twice; a recipient's
//! rate limit delays without losing; bad answers and requests are refused and store
//! nothing.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::refused;
use crate::fixtures::{demo_with_families, published_course, Course};
use crate::helpers::TestApp;

/// The signed-in account's id.
async fn account_of(app: &TestApp, token: &str) -> i64 {
    let (s, me) = app
        .send_json(Method::GET, Some(token), "/api/v1/me", None)
        .await;
    assert_eq!(s, 200, "{me}");
    me["account_id"].as_i64().expect("account id")
}

/// (kind, channel, status, detail) of the account's messages, oldest first.
async fn log_of(app: &TestApp, account: i64) -> Vec<(String, Option<String>, String)> {
    sqlx::query_as(
        "select kind, channel, status from platform.notify_messages where account_id = $1 order by id",
    )
    .bind(account)
    .fetch_all(&app.state.db_app)
    .await
    .expect("log")
}

/// A log entry as [`log_of`] answers it.
fn entry(kind: &str, channel: &str, status: &str) -> (String, Option<String>, String) {
    (kind.into(), Some(channel.into()), status.into())
}

/// Waits until the account has `n` settled messages (sent or unknown) and nothing of the
/// kind is pending in the outbox.
async fn until_settled(
    app: &TestApp,
    account: i64,
    n: usize,
) -> Vec<(String, Option<String>, String)> {
    for _ in 0..400 {
        let log = log_of(app, account).await;
        let settled = log
            .iter()
            .filter(|(_, _, s)| s == "sent" || s == "unknown")
            .count();
        if settled >= n {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("messages never settled: {:?}", log_of(app, account).await);
}

/// SMS bodies the simulator holds, newest first.
async fn texts(app: &TestApp) -> Vec<String> {
    afterschool::auth::sms::outbox(&app.state.db_app, &app.state.keys.pii, 500)
        .await
        .expect("sms outbox")
        .into_iter()
        .map(|m| m.body)
        .collect()
}

/// What the WeChat simulator holds (as an operator reads it).
async fn wx_inbox(app: &TestApp) -> Value {
    let op = app.operator_token().await;
    let (s, v) = app
        .send_json(
            Method::GET,
            Some(&op),
            "/api/v1/platform/simulators/wechat-messages",
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn set_fault(app: &TestApp, fault: &str) {
    let op = app.operator_token().await;
    let (s, v) = app
        .send_json(
            Method::PUT,
            Some(&op),
            "/api/v1/platform/simulators/wechat-messages/fault",
            Some(json!({ "fault": fault })),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

const UID: &str = "00112233445566778899aabbccddeeff";

/// The parent accepts (or cancels) `kind` in WeChat's popup, as the phone does: our page's
/// address, the popup, the tap, and back. Returns WeChat's answer as it comes back.
async fn popup(app: &TestApp, token: &str, kind: &str, action: &str) -> Vec<(String, String)> {
    let back = format!("{}/m/messages/subscribed", app.address);
    let (s, u) = app
        .send_json(
            Method::GET,
            Some(token),
            &format!(
                "/api/v1/me/notify/subscribe-url?kind={kind}&redirect_uri={}",
                urlencoding::encode(&back)
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let url = u["url"].as_str().unwrap().replace("#wechat_redirect", "");
    let cookie = format!("sim_wx_uid={UID}");
    let page = app
        .client
        .get(&url)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("申请向你发送以下消息"), "{html}");
    let q: Vec<(String, String)> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != "action")
        .chain([("action".to_string(), action.to_string())])
        .collect();
    let r = app
        .client
        .post(url.split('?').next().unwrap())
        .header("cookie", &cookie)
        .form(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&back), "{location}");
    location.query_pairs().into_owned().collect()
}

/// Records the popup's answer through the API; the kind's view.
async fn answer(app: &TestApp, token: &str, a: &[(String, String)]) -> (u16, Value) {
    let get = |k: &str| {
        a.iter()
            .find(|(x, _)| x == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    app.send_json(
        Method::POST,
        Some(token),
        "/api/v1/me/notify/subscriptions",
        Some(json!({
            "openid": get("openid"), "template_id": get("template_id"),
            "action": get("action"), "reserved": get("reserved"),
        })),
    )
    .await
}

async fn subscribe(app: &TestApp, token: &str, kind: &str) -> String {
    let a = popup(app, token, kind, "confirm").await;
    let (s, v) = answer(app, token, &a).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["status"].as_str(), v["channel"].as_str()),
        (Some("accept"), Some("wechat"))
    );
    a.iter().find(|(k, _)| k == "openid").unwrap().1.clone()
}

/// A message written as a feature writes it, in its own transaction.
async fn emit(app: &TestApp, account: i64, source: &str, course: &str) -> bool {
    let m = afterschool::notify::Message::new(
        afterschool::notify::Kind::BookingConfirmed,
        account,
        source,
    )
    .field("name1", "测试学生")
    .field("thing2", course)
    .field("amount3", "¥10.00")
    .field("time4", "2026年10月12日 10:00");
    let mut tx = app.state.db_app.begin().await.unwrap();
    let new = afterschool::notify::emit(&mut tx, &app.state.keys, &m)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    new
}

#[tokio::test]
async fn a_paid_booking_a_refund_and_a_decision_reach_the_parent_once_by_sms_then_by_wechat() {
    let (app, fam) = demo_with_families(1).await;
    let (student, parent) = (fam[0].0, fam[0].1.clone());
    let admin = app.admin_token("sqsf").await;
    let account = account_of(&app, &parent).await;
    let course = published_course(
        &app,
        &Course::new(&app, "swim", "少儿游泳进阶提高训练营（冬季周末班第二期）"),
    )
    .await;

    // Not subscribed yet: the booking confirmed by its payment comes by SMS.
    let (_, _, line) = app.paid(&parent, student, course, "notify-key-0001").await;
    let log = until_settled(&app, account, 1).await;
    assert_eq!(log, vec![entry("booking_confirmed", "sms", "sent")]);
    let sms = texts(&app).await;
    let booking_sms: Vec<&String> = sms.iter().filter(|b| b.contains("已成功报名")).collect();
    assert_eq!(booking_sms.len(), 1, "{sms:?}");
    // The course name is cut to WeChat's 20-character `thing`, the amount is yuan.
    assert!(
        booking_sms[0].starts_with("【石岐课后服务】"),
        "{}",
        booking_sms[0]
    );
    assert!(
        booking_sms[0].contains("“少儿游泳进阶提高训练营（冬季周末班第二…”"),
        "{}",
        booking_sms[0]
    );
    assert!(booking_sms[0].contains("…"), "{}", booking_sms[0]);
    assert!(booking_sms[0].contains("¥300.00"), "{}", booking_sms[0]);

    // The parent accepts 退款到账 in WeChat's popup; the refund then comes by WeChat.
    let openid = subscribe(&app, &parent, "refund_arrived").await;
    let (s, r) = app.refund(&admin, line, None, "家长申请退课").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(app.until_refund(line, "succeeded").await, "succeeded");
    let log = until_settled(&app, account, 2).await;
    assert_eq!(log[1], entry("refund_arrived", "wechat", "sent"));
    let inbox = wx_inbox(&app).await;
    let msgs = inbox["inbox"].as_array().unwrap();
    assert_eq!(msgs.len(), 1, "{inbox}");
    assert_eq!(msgs[0]["openid"], json!(openid));
    assert_eq!(msgs[0]["title"], "退款到账通知");
    assert_eq!(msgs[0]["data"]["amount3"], "¥300.00");
    assert_eq!(
        msgs[0]["data"]["thing2"],
        "少儿游泳进阶提高训练营（冬季周末班第二…"
    );
    assert_eq!(
        msgs[0]["page"],
        json!(format!("{}/t/sqsf/m/records", app.address))
    );
    assert!(
        !texts(&app).await.iter().any(|b| b.contains("退款")),
        "refund also sent by SMS"
    );

    // The parent's own view: both messages, their channels and texts.
    let (s, mine) = app
        .send_json(Method::GET, Some(&parent), "/api/v1/me/notify", None)
        .await;
    assert_eq!(s, 200, "{mine}");
    let kinds = mine["kinds"].as_array().unwrap();
    let refund_kind = kinds
        .iter()
        .find(|k| k["kind"] == "refund_arrived")
        .unwrap();
    assert_eq!(refund_kind["channel"], "wechat");
    assert_eq!(refund_kind["status_label"], "已开启微信提醒");
    let booking_kind = kinds
        .iter()
        .find(|k| k["kind"] == "booking_confirmed")
        .unwrap();
    assert_eq!(booking_kind["channel"], "sms");
    let messages = mine["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{mine}");
    assert_eq!(messages[0]["channel_label"], "微信订阅消息");
    assert!(messages[0]["text"].as_str().unwrap().contains("¥300.00"));

    // A withdrawal rejected by the school: 审核结果 by SMS, with the comment.
    let mut art = Course::new(&app, "art", "美术");
    art.weekdays = &[2, 4];
    let e2 = app
        .booked(&parent, student, published_course(&app, &art).await)
        .await;
    app.confirm(&admin, e2).await;
    let (s, req) = app
        .school_post(
            &parent,
            "/requests",
            json!({ "enrollment_id": e2, "kind": "withdraw", "reason": "时间冲突" }),
        )
        .await;
    assert_eq!(s, 200, "{req}");
    let (s, b) = app
        .school_post(
            &admin,
            &format!("/requests/{}/reject", req["id"]),
            json!({ "comment": "学期中不能退课" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let log = until_settled(&app, account, 3).await;
    assert_eq!(log[2], entry("request_decided", "sms", "sent"));
    let sms = texts(&app).await;
    assert!(
        sms.iter()
            .any(|b| b.contains("退课：美术申请未通过，审核意见：学期中不能退课")),
        "{sms:?}"
    );

    // Delivered once: the events again through the handler change nothing.
    let events: Vec<afterschool::outbox::Event> = sqlx::query_as(
        "select id, tenant_id, kind, entity, payload, attempts, created_at from platform.outbox
         where kind = 'notify.message' order by id",
    )
    .fetch_all(&app.state.db_app)
    .await
    .unwrap();
    assert_eq!(events.len(), 3);
    let outcomes = afterschool::notify::service::deliver(app.state.clone(), events).await;
    assert!(
        outcomes
            .iter()
            .all(|o| *o == afterschool::outbox::Outcome::Done),
        "{outcomes:?}"
    );
    assert_eq!(log_of(&app, account).await.len(), 3);
    assert_eq!(wx_inbox(&app).await["messages"], 1);
    assert_eq!(
        texts(&app)
            .await
            .iter()
            .filter(|b| b.contains("已成功报名"))
            .count(),
        1
    );

    // The operator's log masks the child's name and the recipient.
    let op = app.operator_token().await;
    let (s, log) = app
        .send_json(
            Method::GET,
            Some(&op),
            "/api/v1/platform/notify/messages",
            None,
        )
        .await;
    assert_eq!(s, 200, "{log}");
    let child: String = sqlx::query_scalar("select name from school_sqsf.students where id = $1")
        .bind(student)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert!(
        !log.to_string().contains(&child),
        "child's name unmasked: {log}"
    );
    assert!(
        log.to_string()
            .contains(&afterschool::pii::mask_name(&child)),
        "{log}"
    );
}

#[tokio::test]
async fn wechat_refusals_fall_back_to_sms_failures_retry_and_a_timeout_is_not_sent_twice() {
    let (app, fam) = demo_with_families(1).await;
    let parent = fam[0].1.clone();
    let account = account_of(&app, &parent).await;
    subscribe(&app, &parent, "booking_confirmed").await;

    // Busy: retried, arrives once when WeChat recovers.
    let op = app.operator_token().await;
    set_fault(&app, "busy").await;
    assert!(emit(&app, account, "t:busy", "繁忙时的消息").await);
    let mut refused = 0;
    for _ in 0..400 {
        refused = wx_inbox(&app).await["refused"].as_i64().unwrap();
        if refused >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused >= 1, "WeChat was never asked");
    assert_ne!(log_of(&app, account).await[0].2, "sent");
    set_fault(&app, "none").await;
    // Tests give an event 5 tries 50 ms apart, doubling: on a slow machine it may have
    // used them all while busy, and then the operator's retry sends it, still once.
    let dead: Option<i64> = sqlx::query_scalar(
        "select id from platform.outbox where kind = 'notify.message' and state = 'dead'",
    )
    .fetch_optional(&app.state.db_app)
    .await
    .unwrap();
    if let Some(id) = dead {
        let (s, b) = app
            .send_json(
                Method::POST,
                Some(&op),
                &format!("/api/v1/platform/outbox/{id}/retry"),
                None,
            )
            .await;
        assert_eq!(s, 200, "{b}");
    }
    let log = until_settled(&app, account, 1).await;
    assert_eq!(log[0], entry("booking_confirmed", "wechat", "sent"));

    // No answer: recorded as unknown, neither resent nor sent by SMS.
    set_fault(&app, "timeout").await;
    assert!(emit(&app, account, "t:timeout", "超时时的消息").await);
    let log = until_settled(&app, account, 2).await;
    assert_eq!(log[1], entry("booking_confirmed", "wechat", "unknown"));
    set_fault(&app, "none").await;

    // The user turned messages off in WeChat (43101): SMS, and the subscription is off.
    set_fault(&app, "revoked").await;
    assert!(emit(&app, account, "t:revoked", "关闭后的消息").await);
    let log = until_settled(&app, account, 3).await;
    assert_eq!(log[2], entry("booking_confirmed", "sms", "sent"));
    let sms = texts(&app).await;
    assert!(sms.iter().any(|b| b.contains("关闭后的消息")), "{sms:?}");
    assert!(
        !sms.iter()
            .any(|b| b.contains("超时时的消息") || b.contains("繁忙时的消息")),
        "{sms:?}"
    );
    let (_, mine) = app
        .send_json(Method::GET, Some(&parent), "/api/v1/me/notify", None)
        .await;
    let k = mine["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "booking_confirmed")
        .unwrap()
        .clone();
    assert_eq!(
        (k["status"].as_str(), k["channel"].as_str()),
        (Some("off"), Some("sms")),
        "{k}"
    );
    set_fault(&app, "none").await;
    let inbox = wx_inbox(&app).await;
    assert_eq!(inbox["messages"], 1, "{inbox}");

    // The same message asked for twice is written once.
    assert!(!emit(&app, account, "t:revoked", "关闭后的消息").await);
}

#[tokio::test]
async fn a_recipients_rate_limit_delays_messages_without_losing_or_reordering_them() {
    let (app, fam) = demo_with_families(1).await;
    let account = account_of(&app, &fam[0].1).await;
    for i in 0..5 {
        assert!(emit(&app, account, &format!("t:rate{i}"), &format!("第{i}条")).await);
    }
    until_settled(&app, account, 5).await;
    let rows: Vec<(String, f64)> = sqlx::query_as(
        "select (select payload->>'source' from platform.outbox o where o.payload->>'key' = m.idem_key),
                extract(epoch from sent_at)::float8
         from platform.notify_messages m where account_id = $1 order by sent_at",
    )
    .bind(account)
    .fetch_all(&app.state.db_app)
    .await
    .unwrap();
    let order: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        order,
        vec!["t:rate0", "t:rate1", "t:rate2", "t:rate3", "t:rate4"]
    );
    // Three in the first two seconds; the fourth waited for the window.
    assert!(rows[3].1 - rows[0].1 >= 1.9, "{rows:?}");
    let sms = texts(&app).await;
    for i in 0..5 {
        assert_eq!(
            sms.iter()
                .filter(|b| b.contains(&format!("第{i}条")))
                .count(),
            1,
            "{sms:?}"
        );
    }
    // Waiting is not failing: no event used up its tries.
    let attempts: Vec<i32> = sqlx::query_scalar(
        "select attempts from platform.outbox where kind = 'notify.message' and state = 'done'",
    )
    .fetch_all(&app.state.db_app)
    .await
    .unwrap();
    assert_eq!(attempts, vec![1; 5]);
}

#[tokio::test]
async fn bad_subscription_answers_and_bad_sends_are_refused_and_change_nothing() {
    let (app, fam) = demo_with_families(1).await;
    let parent = fam[0].1.clone();
    let a = popup(&app, &parent, "request_decided", "confirm").await;
    let with = |k: &str, v: &str| -> Vec<(String, String)> {
        a.iter()
            .map(|(x, y)| (x.clone(), if x == k { v.to_string() } else { y.clone() }))
            .collect()
    };
    let (s, e) = answer(&app, &parent, &with("reserved", "forged")).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (403, Some("NOTIFY_STATE_MISMATCH")),
        "{e}"
    );
    let (s, e) = answer(&app, &parent, &with("template_id", "NOT-OURS")).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("NOTIFY_TEMPLATE_UNKNOWN")),
        "{e}"
    );
    let (s, e) = answer(&app, &parent, &with("action", "maybe")).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("NOTIFY_ACTION_INVALID")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("订阅"), "{e}");
    let ask = |method: Method, path: &'static str| {
        let (app, parent) = (&app, parent.clone());
        async move { app.send_json(method, Some(&parent), path, None).await }
    };
    refused(
        &ask(
            Method::GET,
            "/api/v1/me/notify/subscribe-url?kind=spam&redirect_uri=x",
        )
        .await,
        404,
        "NOTIFY_KIND_UNKNOWN",
    );
    refused(
        &ask(
            Method::GET,
            "/api/v1/me/notify/subscribe-url?kind=refund_arrived&redirect_uri=https%3A%2F%2Fevil.example%2F",
        )
        .await,
        422,
        "NOTIFY_REDIRECT_INVALID",
    );
    refused(
        &ask(Method::POST, "/api/v1/me/notify/kinds/spam/off").await,
        404,
        "NOTIFY_KIND_UNKNOWN",
    );
    let (s, e) = app
        .send_json(Method::GET, None, "/api/v1/me/notify", None)
        .await;
    assert_eq!(s, 401, "{e}");
    let subs: i64 = sqlx::query_scalar("select count(*) from platform.notify_subscriptions")
        .fetch_one(&app.state.db_app)
        .await
        .unwrap();
    assert_eq!(subs, 0, "a refused answer was stored");

    // The WeChat simulator refuses what WeChat refuses, and keeps nothing of it.
    let (s, ok) = answer(&app, &parent, &a).await;
    assert_eq!(s, 200, "{ok}");
    let openid = a.iter().find(|(k, _)| k == "openid").unwrap().1.clone();
    let token_for = |secret: String| {
        let url = format!(
            "{}/sim/wechat/cgi-bin/token?grant_type=client_credential&appid={}&secret={secret}",
            app.address,
            app.state.wechatpay.appid()
        );
        let c = app.client.clone();
        async move {
            c.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let token = token_for(afterschool::notify::sim::secret(&app.state.keys)).await;
    let token = token["access_token"].as_str().expect("token").to_string();
    let wrong_secret = token_for("guess".into()).await;
    assert_eq!(wrong_secret["errcode"], 40125);
    let good = |thing: &str| {
        json!({
            "touser": openid, "template_id": "SIM-TPL-REQUEST-DECIDED-0003", "page": "/m/records",
            "data": {
                "name1": { "value": "李华" }, "thing2": { "value": thing },
                "phrase3": { "value": "已通过" }, "thing4": { "value": "同意" },
                "time5": { "value": "2026年10月12日 10:00" },
            }
        })
    };
    let send = |t: String, body: Value| {
        let c = app.client.clone();
        let url = format!(
            "{}/sim/wechat/cgi-bin/message/subscribe/bizsend?access_token={t}",
            app.address
        );
        async move {
            c.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let too_long = send(token.clone(), good(&"退".repeat(21))).await;
    assert_eq!(too_long["errcode"], 47003, "{too_long}");
    let forged = send("SIMAT.forged".into(), good("退课：书法")).await;
    assert_eq!(forged["errcode"], 40001, "{forged}");
    let mut other = good("退课：书法");
    other["touser"] = json!("o_not_subscribed_00000000000");
    let not_subscribed = send(token.clone(), other).await;
    assert_eq!(not_subscribed["errcode"], 43101, "{not_subscribed}");
    let mut unknown = good("退课：书法");
    unknown["template_id"] = json!("NOPE");
    assert_eq!(send(token.clone(), unknown).await["errcode"], 40037);
    assert_eq!(wx_inbox(&app).await["messages"], 0);
    let fine = send(token, good("退课：书法")).await;
    assert_eq!(fine["errcode"], 0, "{fine}");
    assert_eq!(wx_inbox(&app).await["messages"], 1);
}
