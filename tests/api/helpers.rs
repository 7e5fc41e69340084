//! Test harness: one private PostgreSQL cluster per test run (started on first use, stopped
//! by a watchdog when the test process exits), a migrated template database, and a fresh
//! database cloned from it for every test. `spawn_app()` serves the real app on port 0.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use afterschool::auth::model::Role;
use afterschool::auth::{repo as auth_repo, roles, service as auth_service};
use afterschool::clock::Clock;
pub use afterschool::config::DatabaseSettings;
use afterschool::config::DatabaseSettings as DbSettings;
use afterschool::config::SecuritySettings;
use afterschool::db::embedded::{ClusterOptions, EmbeddedCluster};
use afterschool::db::Database;
use afterschool::http;
use afterschool::kernel::ctx::Ctx;
use afterschool::keys::Keys;
use afterschool::pii::Phone;
use afterschool::storage::LocalStore;
use afterschool::tenancy::manifest::{self, LoadedManifest};
use afterschool::tenancy::migrate::TenantSets;
use afterschool::tenancy::model::TenantContext;
use afterschool::tenancy::provision::{self, ApplyResult};
use afterschool::tenancy::repo;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgPool;
use std::sync::Mutex;

pub struct TestCluster {
    pub cluster: EmbeddedCluster,
    pub template: String,
}

static CLUSTER: OnceLock<TestCluster> = OnceLock::new();

pub const TEMPLATE_DB: &str = "as_template";

/// The password of every account the suite signs in ([`session_for`] sets it).
pub const PASSWORD: &str = "Test#2026ok";

fn start_cluster() -> TestCluster {
    let dir = std::env::temp_dir().join(format!("afterschool-test-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = ClusterOptions {
        max_connections: 400,
        durability_off: true,
    };
    let mut cluster = EmbeddedCluster::start(&dir, &opts).expect("start the test cluster");
    // The static is never dropped: a watchdog stops the cluster once this process is gone.
    cluster.detach();
    spawn_watchdog(&cluster, &dir);
    // Tests run inside a tokio runtime; the one-off set-up gets a thread and runtime of its own.
    let admin_url = cluster.url("postgres");
    let template_url = cluster.url(TEMPLATE_DB);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let admin = PgPool::connect(&admin_url).await.expect("connect");
            sqlx::raw_sql(&format!("create database {TEMPLATE_DB}"))
                .execute(&admin)
                .await
                .expect("create template");
            admin.close().await;
            let db = Database::open_url(&template_url, &test_db_settings())
                .await
                .expect("migrate template");
            db.shutdown().await;
        });
    })
    .join()
    .expect("template set-up");
    TestCluster {
        cluster,
        template: TEMPLATE_DB.into(),
    }
}

fn spawn_watchdog(cluster: &EmbeddedCluster, dir: &Path) {
    let pid = std::process::id();
    let data = cluster.data_dir();
    let bin = afterschool::db::embedded::find_bin_dir().expect("postgres binaries");
    let pg_ctl = bin.join("pg_ctl");
    // SAFETY: geteuid has no preconditions.
    let as_root = unsafe { libc::geteuid() } == 0;
    let stop = if as_root {
        format!(
            "runuser -u postgres -- {} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "{} -D {} stop -m immediate",
            pg_ctl.display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {}",
        dir.display()
    );
    // Deliberately never waited for: the watchdog outlives this process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn watchdog");
}

pub fn cluster() -> &'static TestCluster {
    CLUSTER.get_or_init(start_cluster)
}

pub fn test_db_settings() -> DbSettings {
    DatabaseSettings {
        max_connections: 10,
        ..DatabaseSettings::default()
    }
}

/// A fresh database cloned from the migrated template; returns its admin URL.
pub async fn fresh_database() -> (String, String) {
    let c = cluster();
    let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..16]);
    let admin = PgPool::connect(&c.cluster.url("postgres"))
        .await
        .expect("connect");
    sqlx::raw_sql(&format!("create database {name} template {}", c.template))
        .execute(&admin)
        .await
        .expect("clone template");
    admin.close().await;
    (name.clone(), c.cluster.url(&name))
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub db: Database,
    pub admin_url: String,
    pub keys: Keys,
    pub clock: Arc<TestClock>,
    pub client: reqwest::Client,
    /// The running server's state (simulators, sweepers' entry points).
    pub state: Arc<Ctx>,
    /// Keeps the local object store's folder alive as long as the app.
    _objects_dir: tempfile::TempDir,
    /// The system administrator's token, made at first use of the simulator's control.
    operator: tokio::sync::OnceCell<String>,
}

/// An account holding `role` in the tenant with id `tenant_id` (None: a platform role),
/// signed in with the second factor passed, on any database of the app. Returns (account
/// id, bearer token).
pub async fn session_for(
    db: &Database,
    keys: &Keys,
    now: DateTime<Utc>,
    phone: &str,
    role: Role,
    tenant_id: Option<i64>,
) -> (i64, String) {
    let phone = Phone::parse(phone).expect("phone");
    let mut conn = db.admin.acquire().await.expect("conn");
    let (_, account_id, _) = roles::grant(
        &mut conn,
        keys,
        &phone,
        "测试用户",
        Some(PASSWORD),
        role,
        tenant_id,
        None,
    )
    .await
    .or_else(|e| match e {
        afterschool::auth::error::AuthError::AlreadyAssigned => Ok((0, 0, false)),
        e => Err(e),
    })
    .expect("grant");
    let account_id = if account_id == 0 {
        auth_repo::account_by_phone_hash(&db.admin, &keys.pii.blind_index("phone", phone.as_str()))
            .await
            .expect("query")
            .expect("account")
            .id
    } else {
        account_id
    };
    // Fresh password, so no forced change.
    auth_repo::set_password(
        &db.admin,
        account_id,
        &afterschool::auth::password::hash(PASSWORD).expect("hash"),
        now,
    )
    .await
    .expect("password");
    let token = format!("test-{}", uuid::Uuid::new_v4().simple());
    auth_repo::create_session(
        &db.admin,
        &auth_repo::NewSession {
            token_hash: &auth_service::token_hash(&token),
            account_id,
            now,
            expires_at: now + chrono::Duration::hours(12),
            mfa_passed: true,
            source_ip: None,
            user_agent: None,
        },
    )
    .await
    .expect("session");
    (account_id, token)
}

/// A clock tests can move: starts at 2026-10-12 10:00 CST, a teaching day of the demo
/// autumn term.
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    pub fn new() -> Self {
        Self(Mutex::new(
            Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0)
                .single()
                .expect("valid time"),
        ))
    }

    pub fn advance(&self, d: chrono::Duration) {
        let mut t = self.0.lock().expect("clock");
        *t += d;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock")
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(test_db_settings()).await
}

pub async fn spawn_app_with(settings: DatabaseSettings) -> TestApp {
    spawn_app_at(settings, Arc::new(TestClock::new())).await
}

pub async fn spawn_app_at(settings: DatabaseSettings, clock: Arc<TestClock>) -> TestApp {
    let (_, admin_url) = fresh_database().await;
    let admin_url_handle = admin_url.clone();
    let db = Database::open_url(&admin_url, &settings)
        .await
        .expect("open database");
    let objects_dir = tempfile::tempdir().expect("tempdir");
    let keys = Keys::ephemeral();
    let state = Arc::new(
        Ctx::new(
            db.app.clone(),
            clock.clone() as Arc<dyn Clock>,
            Arc::new(LocalStore::new(objects_dir.path().to_path_buf())),
            "afterschool.test".into(),
            keys.clone(),
            SecuritySettings::default(),
        )
        .await
        .expect("app state")
        .with_notify(&test_notify_settings())
        .expect("notify settings"),
    );
    let clock_handle = clock.clone();
    let bound = http::bind("127.0.0.1", 0).await.expect("bind");
    let port = bound.port;
    let state_handle = state.clone();
    // The outbox worker, as `serve` runs it, with retries quick enough for a test.
    tokio::spawn(
        afterschool::outbox::Worker::new(
            state.clone(),
            http::features::outbox_handlers(),
            test_outbox_settings(),
        )
        .run(std::future::pending()),
    );
    tokio::spawn(async move {
        let _ = bound.serve(state, std::future::pending()).await;
    });
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        db,
        admin_url: admin_url_handle,
        keys,
        clock: clock_handle,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        state: state_handle,
        _objects_dir: objects_dir,
        operator: tokio::sync::OnceCell::new(),
    }
}

/// The outbox worker's settings in tests: retries after 50 ms doubling to 1 s, dead after 5.
pub fn test_outbox_settings() -> afterschool::outbox::OutboxSettings {
    afterschool::outbox::OutboxSettings {
        lanes: 2,
        max_attempts: 5,
        backoff_base_ms: 50,
        backoff_max_ms: 1000,
        poll_ms: 100,
        handler_timeout_ms: 10_000,
        ..Default::default()
    }
}

/// The notify service's settings in tests: at most 3 messages per recipient in 2 s, and a
/// WeChat call that times out after 1 s.
pub fn test_notify_settings() -> afterschool::notify::NotifySettings {
    afterschool::notify::NotifySettings {
        rate_max: 3,
        rate_window_secs: 2,
        daily_max: 1000,
        timeout_ms: 1000,
        ..Default::default()
    }
}

/// A TCP port that was free a moment ago (for a helper process the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo_manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tenants/demo"))
        .expect("tenants/demo")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

pub use afterschool::tenancy::sample::small_school_manifest;

impl TestApp {
    pub fn sets(&self) -> TenantSets {
        TenantSets::embedded().expect("embedded sets")
    }

    pub async fn apply_files(&self, files: &[PathBuf]) -> Vec<ApplyResult> {
        let manifests = manifest::load_all(files).expect("valid manifests");
        self.apply(&manifests).await
    }

    pub async fn apply(&self, manifests: &[LoadedManifest]) -> Vec<ApplyResult> {
        provision::apply_all(&self.db.admin, &self.db.roles, &self.sets(), manifests)
            .await
            .expect("apply")
    }

    pub async fn apply_demo(&self) -> Vec<ApplyResult> {
        self.apply_files(&demo_manifest_files()).await
    }

    /// Provisions small schools with the given codes.
    pub async fn provision_schools(&self, codes: &[String]) {
        let manifests: Vec<LoadedManifest> = codes
            .iter()
            .map(|c| {
                let path = PathBuf::from(format!("{c}.toml"));
                manifest::parse(&path, &small_school_manifest(c)).expect("valid manifest")
            })
            .collect();
        self.apply(&manifests).await;
    }

    pub async fn tenant(&self, code: &str) -> TenantContext {
        let r = repo::find_by_code(&self.db.admin, code)
            .await
            .expect("query")
            .expect("tenant exists");
        TenantContext::from_record(&r).expect("valid record")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, None)
            .send()
            .await
            .expect("request")
    }

    /// GET with one extra request header (`X-Tenant`, `Host`, `X-Request-Id` ...).
    pub async fn get_with(&self, path: &str, header: &str, value: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, None)
            .header(header, value)
            .send()
            .await
            .expect("request")
    }

    /// An account holding `role` in `tenant` (None: a platform role), signed in with the
    /// second factor passed. Returns (account id, bearer token).
    pub async fn sign_in_as(&self, phone: &str, role: Role, tenant: Option<&str>) -> (i64, String) {
        let tenant_id = match tenant {
            Some(code) => Some(self.tenant(code).await.id),
            None => None,
        };
        session_for(
            &self.db,
            &self.keys,
            self.clock.now(),
            phone,
            role,
            tenant_id,
        )
        .await
    }

    /// A school admin of `tenant` (a fixed phone per tenant code).
    pub async fn admin_token(&self, tenant: &str) -> String {
        let n: u32 = tenant.bytes().map(u32::from).sum::<u32>() % 10_000;
        self.sign_in_as(&format!("1390000{n:04}"), Role::SchoolAdmin, Some(tenant))
            .await
            .1
    }

    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path, Some(token))
            .send()
            .await
            .expect("request")
    }

    pub async fn get_json_as(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        self.send_json(reqwest::Method::GET, Some(token), path, None)
            .await
    }

    pub async fn post_json(
        &self,
        token: Option<&str>,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.send_json(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    /// Any method with an optional bearer token and JSON body; the status and the JSON
    /// answer (`Null` when there is none).
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let method_name = method.to_string();
        let mut req = self.request(method, path, token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        answer(method_name.as_str(), path, r).await
    }

    /// A system administrator's bearer token (the simulators' inbox and fault control
    /// are theirs).
    pub async fn operator_token(&self) -> String {
        self.operator
            .get_or_init(|| async {
                self.sign_in_as("18899990001", Role::OperatorSys, None)
                    .await
                    .1
            })
            .await
            .clone()
    }

    /// `POST /sim/wxpay/control` as the system administrator.
    pub async fn sim_control(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        let token = self.operator_token().await;
        self.send_json(
            reqwest::Method::POST,
            Some(&token),
            "/sim/wxpay/control",
            Some(body),
        )
        .await
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        self.send_json(reqwest::Method::GET, None, path, None).await
    }
}

/// The status and JSON body of an answer (`Null` when it is not JSON), after checking that
/// an API answer is what the OpenAPI document promises for that operation and status
/// (issue 13.17): every answer the suite reads through [`TestApp`] is checked.
pub async fn answer(method: &str, path: &str, r: reqwest::Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    let allow = r.headers().get("allow").is_some();
    let text = r.text().await.unwrap_or_default();
    let Ok(body) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (status, serde_json::Value::Null);
    };
    assert_conforms(method, path, status, &body);
    if status == 405 {
        assert!(allow, "{method} {path}: a 405 without an Allow header");
    }
    (status, body)
}

/// Panics with every departure of `body` from the document's schema for the answer.
pub fn assert_conforms(method: &str, path: &str, status: u16, body: &serde_json::Value) {
    use afterschool::http::conformance::{Contract, Strictness};
    let path = path.split('?').next().unwrap_or_default();
    let path = match path.strip_prefix("/t/") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => path,
    };
    let Some(api_path) = path.strip_prefix("/api/v1") else {
        return;
    };
    let contract = Contract::ours();
    let Some(op) = contract.operation(method, api_path) else {
        // Not an operation of the document: the router's answer, which is an error.
        if status < 400 {
            panic!("{method} {api_path} answered {status} but is not in the OpenAPI document");
        }
        return;
    };
    let schema = contract
        .response_schema(op, status)
        .unwrap_or_else(|e| panic!("{method} {api_path}: {e} in the OpenAPI document: {body}"));
    if let Some(schema) = schema {
        let wrong = contract.violations(schema, body, Strictness::Full);
        assert!(
            wrong.is_empty(),
            "{method} {api_path} ({status}) departs from the OpenAPI document:\n  {}\nbody: {body}",
            wrong.join("\n  ")
        );
    }
}
