//! The simulator as the app and its operators meet it: the app's own client, replay
//! protection shared by servers, a live configuration that must not point at the simulator,
//! the system administrator's inbox and fault control, and the independent Python SDK
//! `wechatpayv3` (`tests/wechatpay_sdk/interop.py`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use afterschool::auth::model::Role;
use afterschool::clock::Clock;
use afterschool::config::SecuritySettings;
use afterschool::http;
use afterschool::kernel::ctx::Ctx;
use afterschool::keys::Keys;
use afterschool::storage::LocalStore;
use afterschool::wechatpay::model::*;
use afterschool::wechatpay::sign::MerchantSigner;
use afterschool::wechatpay::{NonceStore, PgNonceStore, WechatPayMode, WechatPaySettings};
use chrono::Utc;
use reqwest::Method;
use serde_json::json;

use crate::helpers::TestClock;
use crate::wechatpay::*;

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
        if method == Method::POST {
            req = req.json(&json!({ "reset": true }));
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    for (method, path) in [
        (Method::GET, "/sim/wxpay/inbox"),
        (Method::GET, "/sim/wxpay/control"),
        (Method::POST, "/sim/wxpay/control"),
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
