//! WeChat Pay APIv3 (issue #6, items 2 and 3): our `ApiV3Client` against the simulator the
//! app serves, over real HTTP; callbacks land on a receiver this test runs on port 0 and are
//! checked with `verify_callback`. Ends with the independent Python SDK `wechatpayv3`
//! against the same simulator (`tests/wechatpay_sdk/interop.py`).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use afterschool::auth::model::Role;
use afterschool::clock::Clock;
use afterschool::config::SecuritySettings;
use afterschool::db::Database;
use afterschool::http;
use afterschool::kernel::ctx::Ctx;
use afterschool::keys::Keys;
use afterschool::storage::LocalStore;
use afterschool::wechatpay::keys::{generate_rsa_2048, private_key_from_pem, private_key_to_pem};
use afterschool::wechatpay::model::*;
use afterschool::wechatpay::sign::MerchantSigner;
use afterschool::wechatpay::sim::{
    keys as sim_keys, MerchantCredentials, MerchantMaterial, PlatformMaterial, SignWith, TrustMode,
};
use afterschool::wechatpay::{
    ApiV3Client, MemoryNonceStore, NonceStore, PgNonceStore, Simulator, WechatPay, WechatPayError,
    WechatPayMode, WechatPaySettings,
};
use bytes::Bytes;
use chrono::Utc;
use poem::http::{HeaderMap, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Request, Route, Server};
use rsa::RsaPrivateKey;
use serde_json::json;
use tokio::sync::mpsc;

use crate::helpers::{fresh_database, test_db_settings, TestClock};

const MCHID: &str = "1900000109";
const APPID: &str = "wx8888888888888888";

// ---------------------------------------------------------------------------------------
// Keys: two 2048-bit keys per test binary, cached under target/ across runs (generating
// one takes seconds in a debug build).

struct TestKeys {
    platform: RsaPrivateKey,
    merchant: RsaPrivateKey,
}

fn test_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let load_or_make = |name: &str| {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(format!("wxpay-test-{name}.pem"));
            if let Some(k) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|pem| private_key_from_pem(&pem).ok())
            {
                return k;
            }
            let k = generate_rsa_2048().expect("generate key");
            let _ = std::fs::write(&path, private_key_to_pem(&k).expect("pem"));
            k
        };
        TestKeys {
            platform: load_or_make("platform"),
            merchant: load_or_make("merchant"),
        }
    })
}

// ---------------------------------------------------------------------------------------
// A callback receiver: records every POST, answers with queued statuses (then 200).

type Received = (HeaderMap, Bytes);

struct Receiver {
    url: String,
    rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Received>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

#[derive(Clone)]
struct Sink {
    tx: mpsc::UnboundedSender<Received>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

#[handler]
async fn receive(req: &Request, body: Bytes, Data(sink): Data<&Sink>) -> StatusCode {
    let _ = sink.tx.send((req.headers().clone(), body));
    let status = sink.statuses.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(status).unwrap()
}

impl Receiver {
    async fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let acceptor = TcpListener::bind("127.0.0.1:0")
            .into_acceptor()
            .await
            .unwrap();
        let port = acceptor.local_addr()[0].as_socket_addr().unwrap().port();
        let app = Route::new().at("/notify", post(receive)).data(Sink {
            tx,
            statuses: statuses.clone(),
        });
        tokio::spawn(async move {
            let _ = Server::new_with_acceptor(acceptor).run(app).await;
        });
        Self {
            url: format!("http://127.0.0.1:{port}/notify"),
            rx: tokio::sync::Mutex::new(rx),
            statuses,
        }
    }

    fn answer(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    async fn next(&self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.lock().await.recv())
            .await
            .expect("a callback within 10 s")
            .expect("receiver open")
    }

    async fn nothing_more(&self) {
        let got =
            tokio::time::timeout(Duration::from_millis(300), self.rx.lock().await.recv()).await;
        assert!(got.is_err(), "unexpected callback");
    }
}

// ---------------------------------------------------------------------------------------
// The app with its simulator, a registered merchant and our client.

struct WxApp {
    address: String,
    state: Arc<Ctx>,
    sim: Arc<Simulator>,
    clock: Arc<TestClock>,
    db: Database,
    creds: MerchantCredentials,
    platform: PlatformMaterial,
    receiver: Receiver,
    client: ApiV3Client,
    http: reqwest::Client,
}

async fn spawn_wxpay() -> WxApp {
    spawn_wxpay_at(Arc::new(TestClock::new())).await
}

async fn spawn_wxpay_at(clock: Arc<TestClock>) -> WxApp {
    let (_, admin_url) = fresh_database().await;
    let db = Database::open_url(&admin_url, &test_db_settings())
        .await
        .expect("open database");
    let objects = std::env::temp_dir().join(format!("wxpay-objects-{}", uuid::Uuid::new_v4()));
    let state = Arc::new(
        Ctx::new(
            db.app.clone(),
            clock.clone() as Arc<dyn Clock>,
            Arc::new(LocalStore::new(objects)),
            "afterschool.test".into(),
            Keys::ephemeral(),
            SecuritySettings::default(),
        )
        .await
        .expect("app state"),
    );
    let sim = state.wxpay_sim.clone().expect("simulator mode by default");
    // Pre-generated keys, installed as the simulator would have generated them.
    let now = clock.now();
    let keys = test_keys();
    let platform =
        PlatformMaterial::from_key(&keys.platform, now - chrono::Duration::days(400)).unwrap();
    sim_keys::install_platform(&db.admin, &platform, now)
        .await
        .unwrap();
    let merchant = MerchantMaterial::from_key(MCHID, APPID, "测试商户", &keys.merchant).unwrap();
    sim_keys::install_merchant(&db.admin, &merchant, now)
        .await
        .unwrap();
    let bound = http::bind("127.0.0.1", 0).await.expect("bind");
    let address = bound.local_base.clone();
    let serving = state.clone();
    tokio::spawn(async move {
        let _ = bound.serve(serving, std::future::pending()).await;
    });
    let creds = sim.ensure_merchant(MCHID, APPID).await.unwrap();
    let receiver = Receiver::start().await;
    let client = client_for(
        &address,
        &creds,
        &receiver.url,
        &clock,
        TrustMode::PublicKey,
    );
    WxApp {
        address,
        state,
        sim,
        clock,
        db,
        creds,
        platform,
        receiver,
        client,
        http: reqwest::Client::new(),
    }
}

fn client_for(
    address: &str,
    creds: &MerchantCredentials,
    notify_url: &str,
    clock: &Arc<TestClock>,
    trust: TrustMode,
) -> ApiV3Client {
    let cfg = creds
        .api_config(
            &format!("{address}/sim/wxpay"),
            notify_url,
            Duration::from_secs(10),
            trust,
        )
        .unwrap();
    ApiV3Client::new(
        cfg,
        clock.clone() as Arc<dyn Clock>,
        Arc::new(MemoryNonceStore::new()),
    )
    .unwrap()
}

fn jsapi(no: &str, total: i64) -> NewJsapiOrder {
    NewJsapiOrder {
        description: "课后服务费（2026 秋季托管）".into(),
        out_trade_no: no.into(),
        total_fen: total,
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        time_expire: None,
        attach: Some("tenant=sqsf".into()),
        notify_url: None,
    }
}

fn api_code(e: &WechatPayError) -> (u16, &str) {
    match e {
        WechatPayError::Api { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

impl WxApp {
    async fn cashier(&self, prepay_id: &str, action: &str) -> (u16, String) {
        let r = self
            .http
            .post(format!("{}/sim/wxpay/cashier", self.address))
            .form(&[("prepay_id", prepay_id), ("action", action)])
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// Creates and pays a JSAPI order; returns the verified TRANSACTION.SUCCESS callback.
    async fn paid_order(&self, no: &str, total: i64) -> Notification {
        let prepay = self.client.create_jsapi(&jsapi(no, total)).await.unwrap();
        let (status, _) = self.cashier(&prepay.prepay_id, "pay").await;
        assert_eq!(status, 200);
        let (headers, body) = self.receiver.next().await;
        self.client.verify_callback(&headers, &body).await.unwrap()
    }

    /// The system administrator's token (the simulator's control and inbox are theirs).
    async fn operator(&self) -> String {
        crate::helpers::session_for(
            &self.db,
            &self.state.keys,
            self.clock.now(),
            "18899990002",
            Role::OperatorSys,
            None,
        )
        .await
        .1
    }

    async fn control(&self, body: serde_json::Value) -> serde_json::Value {
        let r = self
            .http
            .post(format!("{}/sim/wxpay/control", self.address))
            .bearer_auth(self.operator().await)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    async fn inbox(&self) -> serde_json::Value {
        self.http
            .get(format!("{}/sim/wxpay/inbox", self.address))
            .bearer_auth(self.operator().await)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until the newest callback in the inbox has had `n` attempts.
    async fn until_attempts(&self, n: i64) {
        for _ in 0..100 {
            let inbox = self.inbox().await;
            if inbox["notifications"][0]["attempts"].as_i64() == Some(n) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the callback never reached {n} attempts");
    }
}

fn transaction(n: &Notification) -> &Transaction {
    match &n.resource {
        NotificationResource::Transaction(t) => t,
        other => panic!("expected a transaction, got {other:?}"),
    }
}

fn refund_notice(n: &Notification) -> &RefundNotice {
    match &n.resource {
        NotificationResource::Refund(r) => r,
        other => panic!("expected a refund, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------

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

#[tokio::test]
async fn the_apps_own_client_talks_to_its_simulator_over_http() {
    let app = spawn_wxpay().await;
    let wx = &app.state.wechatpay;
    let prepay = wx
        .create_jsapi(&jsapi("AS2026101200014", 4_500))
        .await
        .unwrap();
    let cashier = wx.cashier_url(&prepay.prepay_id).unwrap();
    assert_eq!(
        cashier,
        format!(
            "{}/sim/wxpay/cashier?prepay_id={}",
            app.address, prepay.prepay_id
        )
    );
    let t = wx.query_by_out_trade_no("AS2026101200014").await.unwrap();
    assert_eq!(t.trade_state, TradeState::NotPay);
    // Its default callback URL is this server's payments endpoint.
    let inbox = app.inbox().await;
    assert_eq!(inbox["orders"][0]["out_trade_no"], "AS2026101200014");
    let stored: String = sqlx::query_scalar(
        "select notify_url from platform.wxpay_sim_orders where out_trade_no = 'AS2026101200014'",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(
        stored,
        format!("{}{}", app.address, afterschool::wechatpay::NOTIFY_PATH)
    );
}

#[tokio::test]
async fn replay_protection_survives_a_restart_and_holds_across_servers() {
    let app = spawn_wxpay().await;
    let now = app.clock.now();
    let server_a = PgNonceStore::new(app.db.app.clone());
    let server_b = PgNonceStore::new(app.db.app.clone());
    assert!(server_a.first_use("platform", "N-1", now).await.unwrap());
    assert!(!server_b.first_use("platform", "N-1", now).await.unwrap());
    assert!(!server_b
        .first_use("platform", "N-1", now + chrono::Duration::seconds(599))
        .await
        .unwrap());
    assert!(server_b
        .first_use("platform", "N-1", now + chrono::Duration::seconds(601))
        .await
        .unwrap());
    assert_eq!(
        server_a
            .prune(now + chrono::Duration::seconds(1300))
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_live_configuration_pointing_at_the_simulator_refuses_to_start() {
    let app = spawn_wxpay().await;
    let settings = WechatPaySettings {
        mode: WechatPayMode::Live,
        base_url: Some(format!("{}/sim/wxpay", app.address)),
        merchant_serial: Some(app.creds.merchant.serial_no.clone()),
        merchant_key_file: Some("/nonexistent/apiclient_key.pem".into()),
        apiv3_key: Some(app.creds.merchant.apiv3_key.clone().into()),
        app_secret: Some("0123456789abcdef0123456789abcdef".to_string().into()),
        platform_public_key_id: Some(app.creds.platform_public_key_id.clone()),
        platform_public_key_file: Some("/nonexistent/pub_key.pem".into()),
        notify_base_url: Some("https://pay.example.cn".into()),
        ..WechatPaySettings::default()
    };
    let state = Ctx::new(
        app.db.app.clone(),
        app.clock.clone() as Arc<dyn Clock>,
        Arc::new(LocalStore::new(std::env::temp_dir())),
        "afterschool.test".into(),
        Keys::ephemeral(),
        SecuritySettings::default(),
    )
    .await
    .unwrap();
    let err = state.with_wechatpay(&settings).err().expect("refused");
    assert!(err.to_string().contains("模拟器"), "{err}");

    // A live state has no simulator, so /sim/wxpay is not served.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("apiclient_key.pem");
    let pub_file = dir.path().join("pub_key.pem");
    std::fs::write(&key_file, &app.creds.merchant.private_key_pem).unwrap();
    std::fs::write(&pub_file, &app.creds.platform_public_key_pem).unwrap();
    let live = WechatPaySettings {
        base_url: None,
        merchant_key_file: Some(key_file),
        platform_public_key_file: Some(pub_file),
        ..settings
    };
    let state = Ctx::new(
        app.db.app.clone(),
        app.clock.clone() as Arc<dyn Clock>,
        Arc::new(LocalStore::new(std::env::temp_dir())),
        "afterschool.test".into(),
        Keys::ephemeral(),
        SecuritySettings::default(),
    )
    .await
    .unwrap()
    .with_wechatpay(&live)
    .unwrap();
    assert!(state.wxpay_sim.is_none());
    let bound = http::bind("127.0.0.1", 0).await.unwrap();
    let base = bound.local_base.clone();
    tokio::spawn(async move {
        let _ = bound.serve(Arc::new(state), std::future::pending()).await;
    });
    let r = reqwest::get(format!("{base}/sim/wxpay/inbox"))
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_simulators_inbox_and_fault_control_answer_only_the_system_administrator() {
    // Issue 13.15: the inbox lists every order; the control breaks payments on purpose.
    let app = spawn_wxpay().await;
    let (_, auditor) = crate::helpers::session_for(
        &app.db,
        &app.state.keys,
        app.clock.now(),
        "18899990003",
        Role::OperatorAudit,
        None,
    )
    .await;
    let operator = app.operator().await;
    let call = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut req = app
            .http
            .request(method.clone(), format!("{}{path}", app.address));
        if method == reqwest::Method::POST {
            req = req.json(&json!({ "reset": true }));
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for (method, path) in [
        (reqwest::Method::GET, "/sim/wxpay/inbox"),
        (reqwest::Method::GET, "/sim/wxpay/control"),
        (reqwest::Method::POST, "/sim/wxpay/control"),
    ] {
        let anonymous = call(method.clone(), path, None).await.unwrap();
        assert_eq!(anonymous.status(), 401, "{method} {path}");
        let body: serde_json::Value = anonymous.json().await.unwrap();
        assert_eq!(body["code"], "UNAUTHENTICATED");
        let other_role = call(method.clone(), path, Some(&auditor)).await.unwrap();
        assert_eq!(other_role.status(), 403, "{method} {path}");
        let allowed = call(method.clone(), path, Some(&operator)).await.unwrap();
        assert_eq!(allowed.status(), 200, "{method} {path}");
    }
    // The payer's cashier stays open, as WeChat's pay sheet is: it needs no sign-in here.
    let cashier = app
        .http
        .get(format!("{}/sim/wxpay/cashier?prepay_id=wx0", app.address))
        .send()
        .await
        .unwrap();
    assert!(
        ![401, 403].contains(&cashier.status().as_u16()),
        "{}",
        cashier.status()
    );
}

#[tokio::test]
async fn the_python_sdk_wechatpayv3_interoperates_with_the_simulator() {
    if Command::new("python3").arg("--version").output().is_err() {
        println!("SKIPPED: python3 is not installed; the wechatpayv3 interop check needs it");
        return;
    }
    let probe = Command::new("python3")
        .args(["-c", "import wechatpayv3"])
        .output()
        .expect("python3 runs");
    assert!(
        probe.status.success(),
        "the Python module wechatpayv3 is missing: pip install wechatpayv3 (bash .ci/setup does)"
    );

    // The SDK signs with the real time: the app's clock is set to it.
    let clock = Arc::new(TestClock::new());
    clock.advance(Utc::now() - clock.now());
    let app = spawn_wxpay_at(clock).await;
    app.sim.update_faults(|f| f.refund_delay_secs = Some(0));

    let signer = MerchantSigner::new(
        MCHID,
        &app.creds.merchant.serial_no,
        test_keys().merchant.clone(),
    );
    let pay = signer.jsapi_pay_params(
        APPID,
        "wx201410272009395522657a690389285100",
        1_414_561_699,
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
    );
    let request_message = "POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"a\":1}\n";
    let config = json!({
        "base_url": format!("{}/sim/wxpay", app.address),
        "mchid": MCHID,
        "appid": APPID,
        "serial_no": app.creds.merchant.serial_no,
        "private_key_pem": app.creds.merchant.private_key_pem,
        "apiv3_key": app.creds.merchant.apiv3_key,
        "public_key_id": app.creds.platform_public_key_id,
        "public_key_pem": app.creds.platform_public_key_pem,
        "foreign_private_key_pem": app.platform.private_key_pem,
        "operator_token": app.operator().await,
        "known_answers": {
            "appid": APPID,
            "timestamp": pay.time_stamp,
            "nonce": pay.nonce_str,
            "prepay_id": "wx201410272009395522657a690389285100",
            "pay_sign": pay.pay_sign,
            "request_message": request_message,
            "request_signature": signer.sign(request_message.as_bytes()),
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("interop.json");
    std::fs::write(&cfg_path, serde_json::to_vec(&config).unwrap()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/wechatpay_sdk/interop.py");
    let out = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(&cfg_path)
        .output()
        .await
        .expect("run interop.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("OK"),
        "wechatpayv3 interop failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    println!("wechatpayv3 interop: {}", stdout.trim());
}
