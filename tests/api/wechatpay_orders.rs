//! WeChat Pay orders and refunds against the simulator, over real HTTP with our
//! `ApiV3Client`: JSAPI and H5 orders, queries, closing, the cashier, refunds with their
//! signed callbacks and the amounts they may never exceed.

use afterschool::clock::Clock;
use afterschool::wechatpay::model::*;
use afterschool::wechatpay::{WechatPay, WechatPayError};
use serde_json::json;

use crate::wechatpay::*;

#[tokio::test]
async fn a_jsapi_order_is_created_queried_paid_at_the_cashier_and_its_callback_verifies() {
    let app = spawn_wxpay().await;

    let prepay = app
        .client
        .create_jsapi(&jsapi("AS2026101200001", 12_000))
        .await
        .unwrap();
    assert!(prepay.prepay_id.starts_with("wx"));
    assert_eq!(
        prepay.pay_params.package,
        format!("prepay_id={}", prepay.prepay_id)
    );
    assert_eq!(prepay.pay_params.app_id, APPID);
    assert_eq!(prepay.pay_params.sign_type, "RSA");

    let t = app
        .client
        .query_by_out_trade_no("AS2026101200001")
        .await
        .unwrap();
    assert_eq!(t.trade_state, TradeState::NotPay);
    assert_eq!(t.amount.as_ref().unwrap().total, Some(12_000));
    assert!(t.transaction_id.is_none());

    let page = app
        .http
        .get(format!(
            "{}/sim/wxpay/cashier?prepay_id={}",
            app.address, prepay.prepay_id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for needle in [
        "确认支付",
        "取消",
        "120.00",
        "课后服务费（2026 秋季托管）",
        "测试商户",
    ] {
        assert!(html.contains(needle), "cashier lacks {needle}");
    }

    let (status, html) = app.cashier(&prepay.prepay_id, "pay").await;
    assert_eq!(status, 200);
    assert!(html.contains("支付成功"));

    let (headers, body) = app.receiver.next().await;
    let n = app.client.verify_callback(&headers, &body).await.unwrap();
    assert_eq!(n.event_type, EventType::TransactionSuccess);
    assert_eq!(n.summary, "支付成功");
    let paid = transaction(&n);
    assert_eq!(paid.trade_state, TradeState::Success);
    assert_eq!(paid.out_trade_no, "AS2026101200001");
    assert_eq!(paid.mchid, MCHID);
    assert_eq!(paid.attach.as_deref(), Some("tenant=sqsf"));
    assert_eq!(paid.amount.as_ref().unwrap().payer_total, Some(12_000));
    assert_eq!(paid.trade_type, Some(TradeType::Jsapi));
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(envelope["resource_type"], "encrypt-resource");
    assert_eq!(envelope["resource"]["algorithm"], "AEAD_AES_256_GCM");
    assert_eq!(envelope["resource"]["original_type"], "transaction");

    // The same message again is a replay.
    assert!(matches!(
        app.client.verify_callback(&headers, &body).await,
        Err(WechatPayError::NonceReplayed)
    ));

    let t = app
        .client
        .query_by_out_trade_no("AS2026101200001")
        .await
        .unwrap();
    assert_eq!(t.trade_state, TradeState::Success);
    assert_eq!(t.transaction_id, paid.transaction_id);
    assert!(t.success_time.is_some());

    // Paying twice changes nothing and sends nothing.
    let (status, html) = app.cashier(&prepay.prepay_id, "pay").await;
    assert_eq!(status, 200);
    assert!(html.contains("已支付"));
    app.receiver.nothing_more().await;
}

#[tokio::test]
async fn an_h5_order_gets_a_cashier_url_and_a_repeated_out_trade_no_must_repeat_its_parameters() {
    let app = spawn_wxpay().await;
    let h5_url = app
        .client
        .create_h5(&NewH5Order {
            description: "课后服务费".into(),
            out_trade_no: "AS2026101200002".into(),
            total_fen: 300,
            payer_client_ip: "203.0.113.7".into(),
            h5_type: "Wap".into(),
            time_expire: None,
            attach: None,
            notify_url: None,
        })
        .await
        .unwrap();
    assert!(h5_url.starts_with(&format!("{}/sim/wxpay/cashier?prepay_id=wx", app.address)));
    let page = app.http.get(&h5_url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("3.00"));

    let first = app
        .client
        .create_jsapi(&jsapi("AS2026101200003", 100))
        .await
        .unwrap();
    let again = app
        .client
        .create_jsapi(&jsapi("AS2026101200003", 100))
        .await
        .unwrap();
    assert_eq!(first.prepay_id, again.prepay_id);
    let err = app
        .client
        .create_jsapi(&jsapi("AS2026101200003", 101))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "INVALID_REQUEST"));
    // The H5 order's number cannot be reused for a JSAPI order either.
    let err = app
        .client
        .create_jsapi(&jsapi("AS2026101200002", 300))
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (400, "INVALID_REQUEST"));
}

#[tokio::test]
async fn closing_an_unpaid_order_answers_204_and_closing_a_paid_one_orderpaid() {
    let app = spawn_wxpay().await;
    let prepay = app
        .client
        .create_jsapi(&jsapi("AS2026101200004", 500))
        .await
        .unwrap();
    app.client.close("AS2026101200004").await.unwrap();
    // Closing twice is harmless.
    app.client.close("AS2026101200004").await.unwrap();
    let t = app
        .client
        .query_by_out_trade_no("AS2026101200004")
        .await
        .unwrap();
    assert_eq!(t.trade_state, TradeState::Closed);
    let (status, html) = app.cashier(&prepay.prepay_id, "pay").await;
    assert_eq!(status, 409);
    assert!(html.contains("已关闭"));

    app.paid_order("AS2026101200005", 800).await;
    let err = app.client.close("AS2026101200005").await.unwrap_err();
    assert_eq!(api_code(&err), (400, "ORDERPAID"));

    let err = app
        .client
        .query_by_out_trade_no("AS2026NOSUCHORDER")
        .await
        .unwrap_err();
    assert_eq!(api_code(&err), (404, "ORDER_NOT_EXIST"));
    let err = app.client.close("AS2026NOSUCHORDER").await.unwrap_err();
    assert_eq!(api_code(&err), (404, "ORDER_NOT_EXIST"));
}

#[tokio::test]
async fn a_refund_completes_after_the_delay_with_a_signed_callback_and_never_exceeds_what_was_paid()
{
    let app = spawn_wxpay().await;
    app.paid_order("AS2026101200006", 10_000).await;
    let refund = NewRefund {
        out_trade_no: "AS2026101200006".into(),
        out_refund_no: "RF2026101200006-1".into(),
        reason: Some("停课退费".into()),
        refund_fen: 3_000,
        total_fen: 10_000,
        notify_url: None,
    };
    let r = app.client.refund(&refund).await.unwrap();
    assert_eq!(r.status, RefundStatus::Processing);
    assert_eq!(r.amount.refund, 3_000);
    assert_eq!(r.out_trade_no, "AS2026101200006");
    // A retry of the same refund is the same refund.
    let again = app.client.refund(&refund).await.unwrap();
    assert_eq!(again.refund_id, r.refund_id);
    let q = app.client.query_refund("RF2026101200006-1").await.unwrap();
    assert_eq!(q.status, RefundStatus::Processing);
    assert_eq!(
        app.client
            .query_by_out_trade_no("AS2026101200006")
            .await
            .unwrap()
            .trade_state,
        TradeState::Refund
    );

    // 10 000 paid, 3 000 refunding: 7 001 is too much, 7 000 is not.
    let too_much = NewRefund {
        out_refund_no: "RF2026101200006-2".into(),
        refund_fen: 7_001,
        ..refund.clone()
    };
    let err = app.client.refund(&too_much).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "NOT_ENOUGH"));
    // The same number with another amount is refused.
    let changed = NewRefund {
        refund_fen: 2_000,
        ..refund.clone()
    };
    let err = app.client.refund(&changed).await.unwrap_err();
    assert_eq!(api_code(&err), (400, "INVALID_REQUEST"));

    // Nothing is due before the delay (5 s by default) has passed.
    let report = app.sim.deliver_due(app.clock.now()).await.unwrap();
    assert_eq!(report.refunds_completed, 0);
    app.clock.advance(chrono::Duration::seconds(5));
    let report = app.sim.deliver_due(app.clock.now()).await.unwrap();
    assert_eq!(report.refunds_completed, 1);
    assert_eq!(report.delivered, 1);

    let (headers, body) = app.receiver.next().await;
    let n = app.client.verify_callback(&headers, &body).await.unwrap();
    assert_eq!(n.event_type, EventType::RefundSuccess);
    let notice = refund_notice(&n);
    assert_eq!(notice.refund_status, RefundStatus::Success);
    assert_eq!(notice.out_refund_no, "RF2026101200006-1");
    assert_eq!(notice.refund_id, r.refund_id);
    assert_eq!(notice.amount.refund, 3_000);

    let q = app.client.query_refund("RF2026101200006-1").await.unwrap();
    assert_eq!(q.status, RefundStatus::Success);
    assert!(q.success_time.is_some());

    let rest = NewRefund {
        out_refund_no: "RF2026101200006-3".into(),
        refund_fen: 7_000,
        ..refund.clone()
    };
    assert_eq!(
        app.client.refund(&rest).await.unwrap().status,
        RefundStatus::Processing
    );

    let unknown = NewRefund {
        out_trade_no: "AS2026NOSUCHORDER".into(),
        out_refund_no: "RF-unknown".into(),
        ..refund.clone()
    };
    let err = app.client.refund(&unknown).await.unwrap_err();
    assert_eq!(api_code(&err), (404, "RESOURCE_NOT_EXISTS"));
    let err = app.client.query_refund("RF-none").await.unwrap_err();
    assert_eq!(api_code(&err), (404, "RESOURCE_NOT_EXISTS"));
}

#[tokio::test]
async fn a_refund_told_to_fail_ends_abnormal_and_says_so_in_its_callback() {
    let app = spawn_wxpay().await;
    app.paid_order("AS2026101200007", 2_000).await;
    let faults = app
        .control(json!({ "refund_outcome": "ABNORMAL", "refund_delay_secs": 0 }))
        .await;
    assert_eq!(faults["faults"]["refund_outcome"], "ABNORMAL");
    let r = app
        .client
        .refund(&NewRefund {
            out_trade_no: "AS2026101200007".into(),
            out_refund_no: "RF2026101200007".into(),
            reason: None,
            refund_fen: 2_000,
            total_fen: 2_000,
            notify_url: None,
        })
        .await
        .unwrap();
    assert_eq!(r.status, RefundStatus::Processing);
    let answer = app.control(json!({ "deliver_due": true })).await;
    assert_eq!(answer["delivery"]["refunds_completed"], 1);
    let (headers, body) = app.receiver.next().await;
    let n = app.client.verify_callback(&headers, &body).await.unwrap();
    assert_eq!(n.event_type, EventType::RefundAbnormal);
    assert_eq!(n.summary, "退款异常");
    assert_eq!(refund_notice(&n).refund_status, RefundStatus::Abnormal);
    assert_eq!(
        app.client
            .query_refund("RF2026101200007")
            .await
            .unwrap()
            .status,
        RefundStatus::Abnormal
    );
}
