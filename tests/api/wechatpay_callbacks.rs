//! What WeChat Pay's messages must prove before they are trusted, and how callbacks are
//! delivered: unsigned, forged, stale and replayed requests refused; callbacks retried on the
//! platform's schedule, given up, duplicated; system errors, timeouts and corrupted
//! signatures reported; the platform-certificate trust mode.

use std::sync::Arc;
use std::time::Duration;

use afterschool::clock::Clock;
use afterschool::wechatpay::model::*;
use afterschool::wechatpay::sign::MerchantSigner;
use afterschool::wechatpay::sim::{SignWith, TrustMode};
use afterschool::wechatpay::{ApiV3Client, MemoryNonceStore, WechatPay, WechatPayError};
use serde_json::json;

use crate::wechatpay::*;

#[tokio::test]
async fn unsigned_forged_stale_and_replayed_requests_are_refused_with_401_sign_error() {
    let app = spawn_wxpay().await;
    let url = format!("{}/sim/wxpay/v3/pay/transactions/jsapi", app.address);
    let body = serde_json::to_vec(&json!({
        "appid": APPID, "mchid": MCHID, "description": "x", "out_trade_no": "AS2026101200008",
        "notify_url": app.receiver.url, "amount": { "total": 1 }, "payer": { "openid": "o1" }
    }))
    .unwrap();
    let send = |auth: Option<String>| {
        let mut req = app
            .http
            .post(&url)
            .header("Content-Type", "application/json")
            .body(body.clone());
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };

    let r = send(None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers().contains_key("wechatpay-signature"),
        "errors are signed too"
    );
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["code"], "SIGN_ERROR");

    let now = app.clock.now().timestamp();
    let path = "/v3/pay/transactions/jsapi";
    // Signed with a key that is not the merchant's (the platform's).
    let forged = MerchantSigner::new(
        MCHID,
        &app.creds.merchant.serial_no,
        test_keys().platform.clone(),
    );
    let r = send(Some(
        forged.authorization("POST", path, now, "NONCE1", &body),
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 401);

    let signer = MerchantSigner::new(
        MCHID,
        &app.creds.merchant.serial_no,
        test_keys().merchant.clone(),
    );
    // Signed over another URL (the path with the simulator's prefix).
    let r = send(Some(signer.authorization(
        "POST",
        "/sim/wxpay/v3/pay/transactions/jsapi",
        now,
        "NONCE2",
        &body,
    )))
    .await
    .unwrap();
    assert_eq!(r.status(), 401);
    for skew in [-301, 301] {
        let r = send(Some(signer.authorization(
            "POST",
            path,
            now + skew,
            &format!("NONCE-SKEW{skew}"),
            &body,
        )))
        .await
        .unwrap();
        assert_eq!(r.status(), 401, "skew {skew}");
    }
    let wrong_serial = MerchantSigner::new(MCHID, "0000", test_keys().merchant.clone());
    let r = send(Some(
        wrong_serial.authorization("POST", path, now, "NONCE3", &body),
    ))
    .await
    .unwrap();
    assert_eq!(r.status(), 401);

    let good = signer.authorization("POST", path, now, "NONCE4", &body);
    let r = send(Some(good.clone())).await.unwrap();
    assert_eq!(r.status(), 200);
    let r = send(Some(good)).await.unwrap();
    assert_eq!(r.status(), 401, "a replayed request is refused");
}

#[tokio::test]
async fn a_callback_is_retried_on_the_platform_schedule_until_it_is_acknowledged() {
    let app = spawn_wxpay().await;
    app.receiver.answer(&[500]);
    let prepay = app
        .client
        .create_jsapi(&jsapi("AS2026101200009", 100))
        .await
        .unwrap();
    app.cashier(&prepay.prepay_id, "pay").await;
    let (h1, first) = app.receiver.next().await;
    app.until_attempts(1).await;

    // Not due again before 15 s.
    app.clock.advance(chrono::Duration::seconds(14));
    let report = app.sim.deliver_due(app.clock.now()).await.unwrap();
    assert_eq!((report.delivered, report.retrying), (0, 0));
    app.clock.advance(chrono::Duration::seconds(1));
    let report = app.sim.deliver_due(app.clock.now()).await.unwrap();
    assert_eq!(report.delivered, 1);
    let (h2, second) = app.receiver.next().await;
    assert_eq!(first, second, "the same envelope");
    assert_ne!(
        h1.get("wechatpay-nonce"),
        h2.get("wechatpay-nonce"),
        "each attempt is signed afresh"
    );
    let n = app.client.verify_callback(&h2, &second).await.unwrap();
    assert_eq!(transaction(&n).out_trade_no, "AS2026101200009");
    let inbox = app.inbox().await;
    assert_eq!(inbox["notifications"][0]["state"], "delivered");
    assert_eq!(inbox["notifications"][0]["attempts"], 2);
}

#[tokio::test]
async fn a_callback_nobody_acknowledges_is_given_up_after_sixteen_attempts() {
    let app = spawn_wxpay().await;
    app.receiver.answer(&[500; 16]);
    let prepay = app
        .client
        .create_jsapi(&jsapi("AS2026101200010", 100))
        .await
        .unwrap();
    app.cashier(&prepay.prepay_id, "pay").await;
    app.receiver.next().await;
    app.until_attempts(1).await;
    let schedule = afterschool::wechatpay::sim::RETRY_SCHEDULE_SECS;
    for (i, wait) in schedule.iter().enumerate() {
        app.clock.advance(chrono::Duration::seconds(*wait));
        let report = app.sim.deliver_due(app.clock.now()).await.unwrap();
        app.receiver.next().await;
        if i + 1 < schedule.len() {
            assert_eq!(report.retrying, 1, "attempt {}", i + 2);
        } else {
            assert_eq!(report.failed, 1);
        }
    }
    let inbox = app.inbox().await;
    assert_eq!(inbox["notifications"][0]["state"], "failed");
    assert_eq!(inbox["notifications"][0]["attempts"], 16);
    assert_eq!(inbox["notifications"][0]["last_status"], 500);
}

#[tokio::test]
async fn duplicated_callbacks_arrive_k_times_with_one_notification_id() {
    let app = spawn_wxpay().await;
    app.sim.update_faults(|f| f.duplicate_callbacks = 3);
    let prepay = app
        .client
        .create_jsapi(&jsapi("AS2026101200011", 100))
        .await
        .unwrap();
    app.cashier(&prepay.prepay_id, "pay").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (h, b) = app.receiver.next().await;
        // Distinct nonces: each copy verifies; exactly-once is the receiver's job.
        ids.push(app.client.verify_callback(&h, &b).await.unwrap().id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn system_errors_timeouts_and_corrupted_signatures_are_reported_never_trusted() {
    let app = spawn_wxpay().await;
    app.control(json!({ "fail_next": 1 })).await;
    let err = app
        .client
        .create_jsapi(&jsapi("AS2026101200012", 100))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (500, "SYSTEM_ERROR"));
    app.client
        .create_jsapi(&jsapi("AS2026101200012", 100))
        .await
        .unwrap();

    app.sim.update_faults(|f| f.corrupt_signature_next = 1);
    let err = app
        .client
        .query_by_out_trade_no("AS2026101200012")
        .await
        .unwrap_err();
    assert!(matches!(err, WechatPayError::SignatureInvalid), "{err:?}");

    app.sim.update_faults(|f| f.delay_ms = 1_500);
    let mut cfg = app
        .creds
        .api_config(
            &format!("{}/sim/wxpay", app.address),
            &app.receiver.url,
            Duration::from_millis(500),
            TrustMode::PublicKey,
        )
        .unwrap();
    cfg.timeout = Duration::from_millis(500);
    let impatient = ApiV3Client::new(
        cfg,
        app.clock.clone() as Arc<dyn Clock>,
        Arc::new(MemoryNonceStore::new()),
    )
    .unwrap();
    let err = impatient
        .query_by_out_trade_no("AS2026101200012")
        .await
        .unwrap_err();
    assert!(matches!(err, WechatPayError::Transport(_)), "{err:?}");
}

#[tokio::test]
async fn platform_certificate_mode_trusts_the_certificate_serial_and_nothing_else() {
    let app = spawn_wxpay().await;
    app.client
        .create_jsapi(&jsapi("AS2026101200013", 100))
        .await
        .unwrap();
    let cert_only = client_for(
        &app.address,
        &app.creds,
        &app.receiver.url,
        &app.clock,
        TrustMode::Certificate,
    );
    // Signed with the public-key id: unknown to a certificate-mode client.
    let err = cert_only
        .query_by_out_trade_no("AS2026101200013")
        .await
        .unwrap_err();
    assert!(matches!(err, WechatPayError::SerialUnknown(_)), "{err:?}");

    app.control(json!({ "sign_with": "certificate" })).await;
    assert_eq!(app.sim.faults().sign_with, SignWith::Certificate);
    let t = cert_only
        .query_by_out_trade_no("AS2026101200013")
        .await
        .unwrap();
    assert_eq!(t.trade_state, TradeState::NotPay);
    let err = app
        .client
        .query_by_out_trade_no("AS2026101200013")
        .await
        .unwrap_err();
    assert!(matches!(err, WechatPayError::SerialUnknown(s) if s == app.platform.cert_serial));

    let pems = cert_only.download_certificates().await.unwrap();
    assert_eq!(pems, vec![app.creds.platform_cert_pem.clone()]);
}
