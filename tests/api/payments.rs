//! Payments end to end (issue #6; R-P06, R-P05's refund, R-S08): a parent pays a hold at
//! the WeChat Pay simulator's cashier, the callback confirms the booking exactly once,
//! unpaid orders close with their holds, a lost callback is recovered by query, refunds
//! give back the unreleased part and never more.

use std::time::Duration;

use afterschool::clock::Clock;
use afterschool::payments::service as pay;
use afterschool::wechatpay::{TradeState, Transaction};
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::SQSF_API;
use crate::fixtures::{relogin, school_with_families};

#[tokio::test]
async fn r_p06_a_parent_pays_a_hold_at_the_cashier_and_the_booking_is_confirmed() {
    // Arrange
    let (app, fam, course) = school_with_families(1, 5).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let e = app.booked(&token, child, course).await;

    // Act: order, then the cashier
    let (s, o) = app.order(&token, &[e], "pay-first-0001").await;
    assert_eq!(s, 200, "{o}");
    assert_eq!(
        (o["status"].as_str(), o["amount"].as_str()),
        (Some("created"), Some("300.00"))
    );
    assert_eq!(
        app.enrollment_status(e).await,
        "held",
        "not confirmed on the client's word"
    );
    let url = o["pay"]["h5_url"].as_str().unwrap();
    app.pay_at_cashier(url).await;
    let id = o["id"].as_i64().unwrap();
    app.until_order(id, "paid").await;

    // Assert
    assert_eq!(app.enrollment_status(e).await, "confirmed");
    let mine = app.my_orders(&token).await;
    assert_eq!(mine[0]["status_label"], "已支付");
    assert!(mine[0]["transaction_id"]
        .as_str()
        .unwrap()
        .starts_with("4200"));
    let paid_in: rust_decimal::Decimal =
        sqlx::query_scalar("select paid from platform.ledger_lines where line_id = $1")
            .bind(o["lines"][0]["id"].as_i64().unwrap())
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(paid_in.to_string(), "300.00");
    assert_eq!(
        app.count("select count(*) from platform.audit_log where action = 'payment.order.paid'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_retried_order_request_returns_the_same_order_and_nothing_is_ordered_twice() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let e = app.booked(&token, child, course).await;

    let (s1, a) = app.order(&token, &[e], "retry-key-0001").await;
    let (s2, b) = app.order(&token, &[e], "retry-key-0001").await;
    let (s3, c) = app.order(&token, &[e], "another-key-02").await;
    let (s4, d) = app.order(&token, &[e, e], "another-key-03").await;

    assert_eq!((s1, s2), (200, 200), "{a} {b}");
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["out_trade_no"], b["out_trade_no"]);
    // A new key for the same held places (the parent left the cashier and pays again) is
    // the open order again, not a refusal (issue 13).
    assert_eq!((s3, &c["id"]), (200, &a["id"]), "{c}");
    assert_eq!(
        (s4, d["code"].as_str()),
        (422, Some("ORDER_LINES_INVALID")),
        "{d}"
    );
    assert_eq!(
        app.count("select count(*) from platform.payment_orders")
            .await,
        1
    );
}

#[tokio::test]
async fn bad_order_requests_are_refused_with_their_own_codes_and_change_nothing() {
    let (app, fam, course) = school_with_families(2, 5).await;
    let e = app.booked(&fam[0].1, fam[0].0, course).await;
    let other = app.booked(&fam[1].1, fam[1].0, course).await;

    let (s_key, key) = app.order(&fam[0].1, &[e], "short").await;
    let (s_empty, empty) = app.order(&fam[0].1, &[], "empty-list-01").await;
    let (s_theirs, theirs) = app.order(&fam[0].1, &[other], "not-mine-0001").await;
    let (s_jsapi, jsapi) = app
        .school_post(&fam[0].1, "/payments/orders", json!({ "enrollment_ids": [e], "channel": "jsapi", "idempotency_key": "jsapi-no-openid" }))
        .await;
    app.clock.advance(chrono::Duration::minutes(31));
    let token = relogin(&app, 0).await;
    let (s_late, late) = app.order(&token, &[e], "too-late-0001").await;

    assert_eq!(
        (s_key, key["code"].as_str()),
        (422, Some("IDEMPOTENCY_KEY_INVALID"))
    );
    assert_eq!(
        (s_empty, empty["code"].as_str()),
        (422, Some("ORDER_LINES_INVALID"))
    );
    assert_eq!(
        (s_theirs, theirs["code"].as_str()),
        (404, Some("ENROLLMENT_NOT_FOUND"))
    );
    assert_eq!(
        (s_jsapi, jsapi["code"].as_str()),
        (409, Some("WX_OPENID_REQUIRED")),
        "{jsapi}"
    );
    assert_eq!(
        (s_late, late["code"].as_str()),
        (409, Some("HOLD_EXPIRED")),
        "{late}"
    );
    // Only the JSAPI order got as far as a row (it waits for the openid); no H5 order.
    assert_eq!(
        app.count("select count(*) from platform.payment_orders where channel = 'h5'")
            .await,
        0
    );
}

#[tokio::test]
async fn five_copies_of_one_callback_at_once_confirm_the_booking_once() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let (s, _) = app.sim_control(json!({ "duplicate_callbacks": 5 })).await;
    assert_eq!(s, 200);

    let (e, id, line) = app
        .paid(&fam[0].1, fam[0].0, course, "dup-callbacks-1")
        .await;
    // Let every copy arrive.
    for _ in 0..10 {
        let _ = app.sim_control(json!({ "deliver_due": true })).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(app.order_status(id).await, "paid");
    assert_eq!(app.enrollment_status(e).await, "confirmed");
    assert_eq!(
        app.count("select count(*) from platform.payment_callbacks")
            .await,
        1,
        "one notification id, recorded once"
    );
    assert_eq!(
        app.count("select count(*) from platform.ledger_journals where kind = 'payment'")
            .await,
        1
    );
    let paid_in: rust_decimal::Decimal =
        sqlx::query_scalar("select paid from platform.ledger_lines where line_id = $1")
            .bind(line)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(paid_in.to_string(), "300.00");
}

#[tokio::test]
async fn a_forged_callback_is_refused_audited_and_changes_nothing() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let e = app.booked(&fam[0].1, fam[0].0, course).await;
    let (_, o) = app.order(&fam[0].1, &[e], "forged-cb-0001").await;

    let r = app
        .client
        .post(format!("{}/api/v1/payments/wechatpay/notify", app.address))
        .header(
            "Wechatpay-Timestamp",
            chrono::Utc::now().timestamp().to_string(),
        )
        .header("Wechatpay-Nonce", "abc123")
        .header(
            "Wechatpay-Serial",
            "PUB_KEY_ID_0000000000000000000000000000",
        )
        .header("Wechatpay-Signature", "Zm9yZ2Vk")
        .header("content-type", "application/json")
        .body(r#"{"id":"x","event_type":"TRANSACTION.SUCCESS","resource":{}}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "FAIL");
    assert_eq!(app.order_status(o["id"].as_i64().unwrap()).await, "created");
    assert_eq!(app.enrollment_status(e).await, "held");
    assert_eq!(
        app.count(
            "select count(*) from platform.audit_log where action = 'payment.callback.rejected'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_transaction_whose_amount_is_not_the_orders_is_rejected_and_audited() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let e = app.booked(&fam[0].1, fam[0].0, course).await;
    let (_, o) = app.order(&fam[0].1, &[e], "mismatch-0001").await;
    let tr: Transaction = serde_json::from_value(json!({
        "appid": app.state.wechatpay.appid(), "mchid": app.state.wechatpay.mchid(),
        "out_trade_no": o["out_trade_no"], "transaction_id": "4200000000000000000001",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "amount": { "total": 1, "payer_total": 1, "currency": "CNY", "payer_currency": "CNY" }
    }))
    .unwrap();
    assert_eq!(tr.trade_state, TradeState::Success);

    let r = pay::settle_transaction(&app.state, &tr, Some("notif-mismatch")).await;

    assert!(
        matches!(
            r,
            Err(pay::SettleError::Rejected {
                code: "WXPAY_AMOUNT_MISMATCH",
                ..
            })
        ),
        "{r:?}"
    );
    assert_eq!(app.order_status(o["id"].as_i64().unwrap()).await, "created");
    assert_eq!(app.enrollment_status(e).await, "held");
    assert_eq!(
        app.count("select count(*) from platform.payment_callbacks")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from platform.ledger_journals")
            .await,
        0
    );
}

#[tokio::test]
async fn a_payment_whose_callback_was_lost_is_settled_by_query_on_restart() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let e = app.booked(&fam[0].1, fam[0].0, course).await;
    let (_, o) = app.order(&fam[0].1, &[e], "lost-callback-1").await;
    let prepay = o["pay"]["h5_url"]
        .as_str()
        .unwrap()
        .split("prepay_id=")
        .nth(1)
        .unwrap()
        .to_string();
    // The parent pays; the server is down, so the callback is never delivered.
    let sim = app.state.wxpay_sim.clone().unwrap();
    sim.pay(&prepay).await.unwrap();
    assert_eq!(app.order_status(o["id"].as_i64().unwrap()).await, "created");

    // Act: the server starts again.
    let found = pay::recover(&app.state).await.unwrap();

    assert_eq!(found, 1);
    assert_eq!(app.order_status(o["id"].as_i64().unwrap()).await, "paid");
    assert_eq!(app.enrollment_status(e).await, "confirmed");
}

#[tokio::test]
async fn an_unpaid_order_closes_with_its_hold_and_the_place_goes_to_the_next_parent() {
    // Arrange: one place, held and ordered by family 0, never paid.
    let (app, fam, course) = school_with_families(2, 1).await;
    let e = app.booked(&fam[0].1, fam[0].0, course).await;
    let (_, o) = app.order(&fam[0].1, &[e], "never-paid-0001").await;
    let id = o["id"].as_i64().unwrap();

    // Act: the hold runs out; the sweeper closes the order; family 1 books.
    app.clock.advance(chrono::Duration::minutes(31));
    let closed = pay::close_expired(&app.state).await.unwrap();
    let token = relogin(&app, 1).await;
    let e1 = app.booked(&token, fam[1].0, course).await;

    // Assert
    assert_eq!(closed, 1);
    assert_eq!(app.order_status(id).await, "closed");
    assert_ne!(e1, e);
    let prepay = o["pay"]["h5_url"]
        .as_str()
        .unwrap()
        .split("prepay_id=")
        .nth(1)
        .unwrap()
        .to_string();
    let late = app
        .client
        .post(format!("{}/sim/wxpay/cashier", app.address))
        .form(&[("prepay_id", prepay.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !late.contains("支付成功"),
        "a closed order cannot be paid: {late}"
    );
    assert_eq!(app.order_status(id).await, "closed");
}

#[tokio::test]
async fn r_p05_an_approved_withdrawal_refunds_the_paid_amount_and_the_parent_sees_it_arrive() {
    // Arrange: a paid booking, a withdrawal request.
    let (app, fam, course) = school_with_families(1, 5).await;
    let (e, id, line) = app
        .paid(&fam[0].1, fam[0].0, course, "withdraw-paid-1")
        .await;
    let (s, req) = app
        .school_post(
            &fam[0].1,
            "/requests",
            json!({ "enrollment_id": e, "kind": "withdraw", "reason": "孩子生病" }),
        )
        .await;
    assert_eq!(s, 200, "{req}");
    let admin = app.admin_token("sqsf").await;

    // Act: approved; the simulator completes the refund and calls back.
    let (s, approved) = app
        .school_post(
            &admin,
            &format!("/requests/{}/approve", req["id"]),
            json!({ "comment": "同意" }),
        )
        .await;
    assert_eq!(s, 200, "{approved}");
    let status = app.until_refund(line, "succeeded").await;

    // Assert
    assert_eq!(status, "succeeded");
    let token = relogin(&app, 0).await;
    let mine = app.my_orders(&token).await;
    let o = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == id)
        .unwrap();
    assert_eq!(o["refunds"][0]["status_label"], "已到账", "{o}");
    assert_eq!(o["refunds"][0]["amount"], "300.00");
    let rr: String = sqlx::query_scalar(
        "select status from school_sqsf.refund_requests where enrollment_id = $1",
    )
    .bind(e)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(rr, "refunded");
    let refunded: rust_decimal::Decimal =
        sqlx::query_scalar("select refunded from platform.ledger_lines where line_id = $1")
            .bind(line)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(refunded.to_string(), "300.00");
}

#[tokio::test]
async fn r_s08_two_refunds_racing_for_one_line_never_return_more_than_was_paid() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let (_, _, line) = app
        .paid(&fam[0].1, fam[0].0, course, "race-refund-01")
        .await;
    let admin = app.admin_token("sqsf").await;

    let mut tasks = Vec::new();
    for i in 0..6 {
        let (client, url, admin) = (
            app.client.clone(),
            format!("{}{SQSF_API}/school/payments/refunds", app.address),
            admin.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(admin)
                .json(&json!({ "line_id": line, "amount": "200.00", "reason": format!("退款{i}") }))
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }));
    }
    let mut ok = 0;
    let mut refused = Vec::new();
    for t in tasks {
        let (s, b) = t.await.unwrap();
        if s == 200 {
            ok += 1;
        } else {
            refused.push((s, b["code"].as_str().unwrap_or_default().to_string()));
        }
    }

    assert_eq!(ok, 1, "{refused:?}");
    assert!(
        refused
            .iter()
            .all(|(s, c)| *s == 409 && c == "LEDGER_EXCEEDS_HELD"),
        "{refused:?}"
    );
    let reserved: rust_decimal::Decimal = sqlx::query_scalar(
        "select refund_reserved + refunded from platform.ledger_lines where line_id = $1",
    )
    .bind(line)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(reserved.to_string(), "200.00");
    let (s, bad) = app.refund(&admin, line, Some("-1"), "x").await;
    assert_eq!(
        (s, bad["code"].as_str()),
        (422, Some("REFUND_AMOUNT_INVALID")),
        "{bad}"
    );
    let (s, orders) = app.school_get(&admin, "/payments/orders?status=paid").await;
    assert_eq!(s, 200, "{orders}");
    assert_eq!(orders.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn r_s10_the_settlement_statement_adds_up_to_the_ledger_and_downloads_as_xlsx_and_csv() {
    // Arrange: two paid bookings, one of them refunded 100.00.
    let (app, fam, course) = school_with_families(2, 5).await;
    let (_, _, line) = app
        .paid(&fam[0].1, fam[0].0, course, "report-paid-01")
        .await;
    app.paid(&fam[1].1, fam[1].0, course, "report-paid-02")
        .await;
    let admin = app.admin_token("sqsf").await;
    let (s, r) = app.refund(&admin, line, Some("100.00"), "部分退费").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(app.until_refund(line, "succeeded").await, "succeeded");
    let admin = app.admin_token("sqsf").await;
    let q = "from=2026-10-01&to=2026-10-31";

    // Act
    let (s, by_course) = app
        .school_get(&admin, &format!("/payments/settlement?{q}"))
        .await;
    let (_, by_item) = app
        .school_get(&admin, &format!("/payments/settlement?{q}&group=item"))
        .await;
    let (bad, err) = app
        .school_get(&admin, "/payments/settlement?from=2026-10-31&to=2026-10-01")
        .await;
    let xlsx = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/payments/settlement/download?{q}"),
        )
        .await;
    let xlsx_status = xlsx.status().as_u16();
    let xlsx_bytes = xlsx.bytes().await.unwrap();
    let csv = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/payments/settlement/download?{q}&format=csv"),
        )
        .await
        .text()
        .await
        .unwrap();

    // Assert
    assert_eq!(s, 200, "{by_course}");
    let t = &by_course["total"];
    assert_eq!(
        (t["paid"].as_str(), t["refunded"].as_str()),
        (Some("600.00"), Some("100.00")),
        "{t}"
    );
    assert_eq!(
        t["held"], "500.00",
        "paid = released + refunded + held: {t}"
    );
    assert_eq!(by_course["rows"].as_array().unwrap().len(), 1);
    assert_eq!(by_course["rows"][0]["name"], "游泳");
    assert_eq!(by_course["rows"][0]["orders"], 2);
    assert_eq!(by_item["rows"].as_array().unwrap().len(), 2);
    // The ledger itself: what is held for the school equals the statement's held total.
    let held: rust_decimal::Decimal = sqlx::query_scalar(
        "select coalesce(sum(credit) - sum(debit), 0) from platform.ledger_entries where account like 'held:%'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(held.round_dp(2).to_string(), "500.00");
    assert_eq!(
        (bad, err["code"].as_str()),
        (422, Some("REPORT_PERIOD_INVALID"))
    );
    assert_eq!(xlsx_status, 200);
    assert!(xlsx_bytes.starts_with(b"PK"), "an xlsx is a zip");
    assert!(csv.starts_with('\u{feff}'), "CSV with BOM for Excel");
    assert!(
        csv.contains("游泳") && csv.contains("合计") && csv.contains("600.00"),
        "{csv}"
    );
}

#[tokio::test]
async fn r_p06_inside_wechat_a_parent_binds_an_openid_silently_and_pays_with_jsapi() {
    let (app, fam, course) = school_with_families(1, 5).await;
    let token = fam[0].1.clone();
    let e = app.booked(&token, fam[0].0, course).await;
    let back_url = format!("{}/t/sqsf/m/records", app.address);
    let back = back_url.as_str();

    // Issue 13.15: only pages of this platform may be returned to, and the addresses the
    // server builds come from its configuration, not from the request's Host header.
    let (foreign, fe) = app
        .send_json(
            Method::GET,
            Some(&token),
            "/api/v1/payments/wechatpay/oauth-url?redirect_uri=https://evil.example/steal",
            None,
        )
        .await;
    assert_eq!(
        (foreign, fe["code"].as_str()),
        (422, Some("OAUTH_REDIRECT_INVALID")),
        "{fe}"
    );
    let spoofed: serde_json::Value = app
        .client
        .get(format!(
            "{}/api/v1/payments/wechatpay/oauth-url?redirect_uri={back}",
            app.address
        ))
        .bearer_auth(&token)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spoofed = spoofed["url"].as_str().unwrap_or_default();
    assert!(
        spoofed.starts_with(&app.address) && !spoofed.contains("evil.example"),
        "{spoofed}"
    );
    let open_redirect = app
        .client
        .get(format!(
            "{}/sim/wechat/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state=x",
            app.address,
            app.state.wechatpay.appid(),
            urlencoding::encode("https://evil.example/steal")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(open_redirect.status(), 400);
    assert!(open_redirect.headers().get("location").is_none());

    // Act: the page asks where to send the browser; WeChat (simulated) redirects back.
    let (s, u) = app
        .send_json(
            Method::GET,
            Some(&token),
            &format!(
                "/api/v1/payments/wechatpay/oauth-url?redirect_uri={}",
                urlencoding::encode(back)
            ),
            None,
        )
        .await;
    assert_eq!(s, 200, "{u}");
    let url = u["url"].as_str().unwrap();
    assert!(
        url.contains("scope=snsapi_base") && url.ends_with("#wechat_redirect"),
        "{url}"
    );
    let r = app
        .client
        .get(url.replace("#wechat_redirect", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(back));
    let q: std::collections::HashMap<String, String> =
        location.query_pairs().into_owned().collect();
    let (bad_state, bs) = app
        .send_json(
            Method::POST,
            Some(&token),
            "/api/v1/payments/wechatpay/openid",
            Some(json!({ "code": q["code"], "state": "0000" })),
        )
        .await;
    let (bad_code, bc) = app
        .send_json(
            Method::POST,
            Some(&token),
            "/api/v1/payments/wechatpay/openid",
            Some(json!({ "code": "forged.code.1.abc", "state": q["state"] })),
        )
        .await;
    let (s, bound) = app
        .send_json(
            Method::POST,
            Some(&token),
            "/api/v1/payments/wechatpay/openid",
            Some(json!({ "code": q["code"], "state": q["state"] })),
        )
        .await;
    let (so, o) = app
        .school_post(&token, "/payments/orders", json!({ "enrollment_ids": [e], "channel": "jsapi", "idempotency_key": "jsapi-bound-01" }))
        .await;

    // Assert
    assert_eq!(
        (bad_state, bs["code"].as_str()),
        (403, Some("OAUTH_STATE_MISMATCH"))
    );
    assert_eq!(
        (bad_code, bc["code"].as_str()),
        (422, Some("WX_OAUTH_CODE_INVALID")),
        "{bc}"
    );
    assert_eq!((s, bound["bound"].as_bool()), (200, Some(true)), "{bound}");
    assert_eq!(so, 200, "{o}");
    let p = &o["pay"]["jsapi"];
    assert!(
        p["package"].as_str().unwrap().starts_with("prepay_id="),
        "{o}"
    );
    assert_eq!(p["signType"], "RSA");
    assert!(
        o["pay"]["cashier_url"].as_str().is_some(),
        "the demo's stand-in for WeixinJSBridge"
    );
}

#[tokio::test]
async fn r_x02_the_day_close_releases_delivered_lessons_settles_into_escrow_and_reconciles() {
    // Arrange: a paid course (Mondays and Wednesdays) booked on Monday 2026-10-12.
    let (app, fam, course) = school_with_families(1, 5).await;
    let (_, _, line) = app
        .paid(&fam[0].1, fam[0].0, course, "day-close-0001")
        .await;
    let units: i32 = sqlx::query_scalar("select units from platform.order_lines where id = $1")
        .bind(line)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();
    let early = afterschool::payments::daily::close_day(&app.state, monday).await;
    // The lesson is delivered: its teacher checks in at 16:20 (issue #17).
    crate::attendance::teacher_of(&app, &[course], "T601", 601, "13800138601").await;
    app.clock.advance(chrono::Duration::minutes(380));
    let teacher = app
        .sign_in_as(
            "13800138601",
            afterschool::auth::model::Role::Teacher,
            Some("sqsf"),
        )
        .await
        .1;
    let (s, k) = crate::attendance::check_in(&app, &teacher, course, "2026-10-12", json!({})).await;
    assert_eq!(s, 200, "{k}");
    app.clock.advance(chrono::Duration::minutes(580)); // Tuesday 02:00 Beijing time

    // Act
    let first = afterschool::payments::daily::close_day(&app.state, monday)
        .await
        .unwrap();
    let again = afterschool::payments::daily::close_day(&app.state, monday)
        .await
        .unwrap();

    // Assert
    assert!(early.is_err(), "a day is closed only once it is over");
    assert_eq!(first.released_lines, 1);
    let share = rust_decimal::Decimal::new(30000, 2) / rust_decimal::Decimal::from(units);
    assert_eq!(
        first.released,
        format!(
            "{:.2}",
            share.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero)
        )
    );
    assert_eq!(first.settled_to_bank, "300.00");
    assert_eq!(
        (first.matched, first.differences.len()),
        (1, 0),
        "{:?}",
        first.differences
    );
    assert_eq!(
        again.released_lines, 0,
        "closing twice releases nothing more"
    );
    assert!(again.differences.is_empty());
    let escrow: rust_decimal::Decimal = sqlx::query_scalar(
        "select coalesce(sum(debit) - sum(credit), 0) from platform.ledger_entries where account = 'bank:escrow'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(escrow.round_dp(2).to_string(), "300.00");

    // A line on the bank statement the ledger does not know is reported, not swallowed.
    let mut conn = app.db.admin.acquire().await.unwrap();
    afterschool::bank::sim::add_unknown_line(
        &mut conn,
        afterschool::bank::sim::ESCROW_ACCOUNT_NO,
        monday,
        afterschool::bank::Direction::Credit,
        afterschool::ledger::Money::parse("12.34").unwrap(),
        "UNKNOWN-0001",
        app.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    let third = afterschool::payments::daily::close_day(&app.state, monday)
        .await
        .unwrap();
    assert_eq!(third.differences.len(), 1, "{:?}", third.differences);
    assert_eq!(third.differences[0].kind, "missing_in_ledger");

    // Parents may not close the escrow's day.
    let (s, b) = app
        .send_json(
            Method::POST,
            Some(&relogin(&app, 0).await),
            "/api/v1/platform/escrow/days/2026-10-12/close",
            None,
        )
        .await;
    assert_eq!(s, 403, "{b}");
}

#[tokio::test]
async fn a_callback_that_arrives_before_our_order_commits_is_answered_retry_and_changes_nothing() {
    let (app, _, _) = school_with_families(1, 5).await;
    let tr: Transaction = serde_json::from_value(json!({
        "appid": app.state.wechatpay.appid(), "mchid": app.state.wechatpay.mchid(),
        "out_trade_no": "AS20261012999999notyet00", "transaction_id": "4200000000000000000002",
        "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
        "amount": { "total": 30000, "payer_total": 30000, "currency": "CNY", "payer_currency": "CNY" }
    }))
    .unwrap();

    let r = pay::settle_transaction(&app.state, &tr, Some("notif-early")).await;

    assert!(matches!(r, Err(pay::SettleError::Retry(_))), "{r:?}");
    assert_eq!(
        app.count("select count(*) from platform.payment_callbacks")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from platform.ledger_journals")
            .await,
        0
    );
}

#[tokio::test]
async fn a_refund_callback_with_another_amount_is_refused_and_the_refund_stays_as_it_was() {
    use afterschool::wechatpay::model::{RefundNotice, RefundNoticeAmount, WxTime};
    use afterschool::wechatpay::{EventType, Notification, NotificationResource, RefundStatus};
    let (app, fam, course) = school_with_families(1, 5).await;
    let (_, _, line) = app
        .paid(&fam[0].1, fam[0].0, course, "refund-amount-1")
        .await;
    let admin = app.admin_token("sqsf").await;
    let (s, r) = app.refund(&admin, line, Some("100.00"), "部分退费").await;
    assert_eq!(s, 200, "{r}");
    // The outbox sends the refund to WeChat on its own: wait until it has, so that the
    // status compared below is the one the forged callback finds.
    let mut before = app.refund_status(line).await;
    for _ in 0..200 {
        if before != "requested" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        before = app.refund_status(line).await;
    }
    assert_eq!(before, "processing");
    let n = Notification {
        id: "notif-refund-forged".into(),
        create_time: WxTime::from_utc(app.clock.now()),
        event_type: EventType::RefundSuccess,
        summary: "退款成功".into(),
        resource: NotificationResource::Refund(RefundNotice {
            mchid: app.state.wechatpay.mchid().into(),
            transaction_id: "4200000000000000000003".into(),
            out_trade_no: "whatever".into(),
            refund_id: "50000000000000000001".into(),
            out_refund_no: r["out_refund_no"].as_str().unwrap().into(),
            refund_status: RefundStatus::Success,
            success_time: None,
            user_received_account: "支付用户零钱".into(),
            amount: RefundNoticeAmount {
                total: 30000,
                refund: 30000,
                payer_total: 30000,
                payer_refund: 30000,
            },
        }),
    };

    let outcome = pay::handle_notification(&app.state, &n).await;

    assert!(
        matches!(outcome, Err(pay::SettleError::Rejected { .. })),
        "{outcome:?}"
    );
    let after: String =
        sqlx::query_scalar("select status from platform.refunds where line_id = $1")
            .bind(line)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(after, before);
    assert_ne!(after, "succeeded");
    assert_eq!(
        app.count(
            "select count(*) from platform.audit_log where action = 'payment.callback.rejected'"
        )
        .await,
        1
    );
}
