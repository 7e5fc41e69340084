//! The WeChat Pay APIv3 test harness (issue #6, items 2 and 3): the app with its simulator
//! on port 0, a registered merchant, our `ApiV3Client` for it, and a receiver this test runs
//! on port 0 that records the callbacks. The tests that use it are `wechatpay_orders`
//! (orders and refunds), `wechatpay_callbacks` (signatures, retries and faults) and
//! `wechatpay_integration` (the app's own client, live settings, the operator's control and
//! the independent Python SDK `wechatpayv3`, `tests/wechatpay_sdk/interop.py`).

use std::collections::VecDeque;
use std::path::PathBuf;
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
use afterschool::wechatpay::sim::{
    keys as sim_keys, MerchantCredentials, MerchantMaterial, PlatformMaterial, TrustMode,
};
use afterschool::wechatpay::{ApiV3Client, MemoryNonceStore, Simulator, WechatPay, WechatPayError};
use bytes::Bytes;
use poem::http::{HeaderMap, StatusCode};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::web::Data;
use poem::{handler, post, EndpointExt, Request, Route, Server};
use rsa::RsaPrivateKey;
use tokio::sync::mpsc;

use crate::helpers::{fresh_database, test_db_settings, TestClock};

pub const MCHID: &str = "1900000109";
pub const APPID: &str = "wx8888888888888888";

// ---------------------------------------------------------------------------------------
// Keys: two 2048-bit keys per test binary, cached under target/ across runs (generating
// one takes seconds in a debug build).

pub struct TestKeys {
    pub platform: RsaPrivateKey,
    pub merchant: RsaPrivateKey,
}

pub fn test_keys() -> &'static TestKeys {
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

pub type Received = (HeaderMap, Bytes);

pub struct Receiver {
    pub url: String,
    pub rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Received>>,
    pub statuses: Arc<Mutex<VecDeque<u16>>>,
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
    pub async fn start() -> Self {
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

    pub fn answer(&self, statuses: &[u16]) {
        self.statuses.lock().unwrap().extend(statuses);
    }

    pub async fn next(&self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.rx.lock().await.recv())
            .await
            .expect("a callback within 10 s")
            .expect("receiver open")
    }

    pub async fn nothing_more(&self) {
        let got =
            tokio::time::timeout(Duration::from_millis(300), self.rx.lock().await.recv()).await;
        assert!(got.is_err(), "unexpected callback");
    }
}

// ---------------------------------------------------------------------------------------
// The app with its simulator, a registered merchant and our client.

pub struct WxApp {
    pub address: String,
    pub state: Arc<Ctx>,
    pub sim: Arc<Simulator>,
    pub clock: Arc<TestClock>,
    pub db: Database,
    pub creds: MerchantCredentials,
    pub platform: PlatformMaterial,
    pub receiver: Receiver,
    pub client: ApiV3Client,
    pub http: reqwest::Client,
}

pub async fn spawn_wxpay() -> WxApp {
    spawn_wxpay_at(Arc::new(TestClock::new())).await
}

pub async fn spawn_wxpay_at(clock: Arc<TestClock>) -> WxApp {
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

pub fn client_for(
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

pub fn jsapi(no: &str, total: i64) -> NewJsapiOrder {
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

pub fn api_code(e: &WechatPayError) -> (u16, &str) {
    match e {
        WechatPayError::Api { status, code, .. } => (*status, code.as_str()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

impl WxApp {
    pub async fn cashier(&self, prepay_id: &str, action: &str) -> (u16, String) {
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
    pub async fn paid_order(&self, no: &str, total: i64) -> Notification {
        let prepay = self.client.create_jsapi(&jsapi(no, total)).await.unwrap();
        let (status, _) = self.cashier(&prepay.prepay_id, "pay").await;
        assert_eq!(status, 200);
        let (headers, body) = self.receiver.next().await;
        self.client.verify_callback(&headers, &body).await.unwrap()
    }

    /// The system administrator's token (the simulator's control and inbox are theirs).
    pub async fn operator(&self) -> String {
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

    pub async fn control(&self, body: serde_json::Value) -> serde_json::Value {
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

    pub async fn inbox(&self) -> serde_json::Value {
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
    pub async fn until_attempts(&self, n: i64) {
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

pub fn transaction(n: &Notification) -> &Transaction {
    match &n.resource {
        NotificationResource::Transaction(t) => t,
        other => panic!("expected a transaction, got {other:?}"),
    }
}

pub fn refund_notice(n: &Notification) -> &RefundNotice {
    match &n.resource {
        NotificationResource::Refund(r) => r,
        other => panic!("expected a refund, got {other:?}"),
    }
}
