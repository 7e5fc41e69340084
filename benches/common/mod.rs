//! What the benchmarks share: their command-line numbers, the private PostgreSQL cluster
//! they start (default durability, in a temporary folder removed afterwards) with its
//! `bench` database, the real server on a free port, and a signed-in school admin.
//!
//! Each benchmark includes this file with `#[path = "common/mod.rs"] mod common;` (a
//! folder, so that Cargo does not take it for a benchmark of its own) and uses
//! what it needs of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use afterschool::auth::model::Role;
use afterschool::auth::{password, repo as auth_repo, roles, service as auth_service};
use afterschool::clock::Clock;
use afterschool::config::{DatabaseSettings, SecuritySettings};
use afterschool::db::embedded::{ClusterOptions, EmbeddedCluster};
use afterschool::db::Database;
use afterschool::http;
use afterschool::kernel::ctx::Ctx;
use afterschool::keys::Keys;
use afterschool::pii::Phone;
use afterschool::storage::LocalStore;

/// The number after `name` on the command line, `default` when absent or not a number.
pub fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A duration in milliseconds.
pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A private cluster in `<temp>/afterschool-bench-<name>-<pid>`.
pub struct PrivateCluster {
    pub cluster: EmbeddedCluster,
    /// the cluster's folder; benchmarks keep their other files (objects, scripts) in it
    pub dir: PathBuf,
}

impl PrivateCluster {
    pub fn start(name: &str, opts: &ClusterOptions) -> anyhow::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("afterschool-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let cluster = EmbeddedCluster::start(&dir, opts)?;
        Ok(Self { cluster, dir })
    }

    /// Creates the `bench` database and opens it (platform migrations, roles) with
    /// `settings`.
    pub async fn database(&self, settings: &DatabaseSettings) -> anyhow::Result<Database> {
        let admin = sqlx::PgPool::connect(&self.cluster.url("postgres")).await?;
        sqlx::raw_sql("create database bench")
            .execute(&admin)
            .await?;
        admin.close().await;
        Database::open_url(&self.cluster.url("bench"), settings).await
    }

    /// Stops the cluster and removes its folder.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.cluster.stop()?;
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// The process's ending for a benchmark that checks: exit code 1 when a check failed.
pub fn exit_with(result: anyhow::Result<bool>) -> anyhow::Result<()> {
    match result {
        Ok(true) => Ok(()),
        Ok(false) => {
            eprintln!("FAILED: see the checks above");
            std::process::exit(1);
        }
        Err(e) => Err(e),
    }
}

/// The real server (no background workers: no outbox worker, no audit sealer) on
/// 127.0.0.1 at a free port, objects stored under `objects`; its state and port.
pub async fn serve(
    db: &Database,
    clock: Arc<dyn Clock>,
    keys: &Keys,
    objects: &Path,
) -> anyhow::Result<(Arc<Ctx>, u16)> {
    let state = Arc::new(
        Ctx::new(
            db.app.clone(),
            clock,
            Arc::new(LocalStore::new(objects.to_path_buf())),
            "afterschool.bench".into(),
            keys.clone(),
            SecuritySettings::default(),
        )
        .await?,
    );
    let bound = http::bind("127.0.0.1", 0).await?;
    let port = bound.port;
    let serving = state.clone();
    tokio::spawn(async move {
        let _ = bound.serve(serving, std::future::pending()).await;
    });
    Ok((state, port))
}

/// A school admin of `tenant_id` with phone `phone`, signed in (MFA passed) as the test
/// harness makes one; the session token.
pub async fn school_admin_session(
    db: &Database,
    keys: &Keys,
    clock: &dyn Clock,
    phone: &str,
    tenant_id: i64,
) -> anyhow::Result<String> {
    let phone = Phone::parse(phone).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut conn = db.admin.acquire().await?;
    let (_, account_id, _) = roles::grant(
        &mut conn,
        keys,
        &phone,
        "基准测试管理员",
        Some("Bench#2026ok"),
        Role::SchoolAdmin,
        Some(tenant_id),
        None,
    )
    .await?;
    drop(conn);
    auth_repo::set_password(
        &db.admin,
        account_id,
        &password::hash("Bench#2026ok")?,
        clock.now(),
    )
    .await?;
    let token = format!("bench-{}", uuid::Uuid::new_v4().simple());
    auth_repo::create_session(
        &db.admin,
        &auth_repo::NewSession {
            token_hash: &auth_service::token_hash(&token),
            account_id,
            now: clock.now(),
            expires_at: clock.now() + chrono::Duration::hours(12),
            mfa_passed: true,
            source_ip: None,
            user_agent: None,
        },
    )
    .await?;
    Ok(token)
}
