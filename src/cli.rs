//! Command-line entry points: `serve`, `demo`, `migrate`, `tenant apply|list|suspend|resume`,
//! `openapi`. Orchestration only; the work is done by the domain modules.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::clock::SystemClock;
use crate::config::{LogFormat, Settings};
use crate::db::Database;
use crate::http::{self, AppState};
use crate::tenancy::{manifest, migrate, provision, repo};

#[derive(Debug, Parser)]
#[command(name = "afterschool", version, about = "石岐街道校内课后服务管理平台")]
pub struct Cli {
    /// TOML configuration file (defaults, then this file, then AFTERSCHOOL__* variables)
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Log line format
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and pages
    Serve {
        #[arg(long)]
        port: Option<u16>,
    },
    /// Start everything on embedded defaults with the demo street
    Demo {
        #[arg(long)]
        port: Option<u16>,
        /// Folder of demo tenant manifests
        #[arg(long, default_value = "tenants/demo")]
        tenants: PathBuf,
    },
    /// Bring the platform schema and every tenant schema to the latest version
    Migrate {
        /// Tenants migrated in parallel
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// Manage tenants (schools and agencies)
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Print the OpenAPI document
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create or update tenants from manifests (idempotent)
    Apply {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List tenants
    List,
    /// Suspend a tenant: every request for it answers 403
    Suspend {
        code: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift a suspension
    Resume { code: String },
}

pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    let mut settings = Settings::load(cli.config.as_deref())?;
    if let Some(f) = cli.log_format {
        settings.log.format = f;
    }
    crate::telemetry::init(&settings.log);
    match cli.command {
        Command::Openapi => {
            println!("{}", http::spec_json());
            Ok(0)
        }
        Command::Serve { port } => {
            if let Some(p) = port {
                settings.http.port = p;
            }
            let db = Database::open(&settings.database).await?;
            serve(&settings, db, None).await
        }
        Command::Demo { port, tenants } => {
            if let Some(p) = port {
                settings.http.port = p;
            }
            let db = Database::open(&settings.database).await?;
            let sets = migrate::TenantSets::embedded()?;
            let report = migrate::migrate_all(&db.admin, &sets, 4).await?;
            if report.failed() > 0 {
                eprint!("{}", report.table());
            }
            let files = manifest_files(&tenants)?;
            let manifests = load_manifests(&files)?;
            let results = provision::apply_all(&db.admin, &db.roles, &sets, &manifests).await?;
            let codes: Vec<(String, String)> = results
                .iter()
                .map(|r| (r.code.clone(), r.kind.label().to_string()))
                .collect();
            serve(&settings, db, Some(codes)).await
        }
        Command::Migrate { jobs } => {
            let db = Database::open(&settings.database).await?;
            let sets = migrate::TenantSets::embedded()?;
            let report = migrate::migrate_all(&db.admin, &sets, jobs).await?;
            print!("{}", report.table());
            let failed = report.failed();
            db.shutdown().await;
            Ok(if failed > 0 { 1 } else { 0 })
        }
        Command::Tenant(cmd) => {
            let db = Database::open(&settings.database).await?;
            let code = tenant_command(&db, cmd).await;
            db.shutdown().await;
            code
        }
    }
}

fn manifest_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("无法读取租户清单目录 {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

fn load_manifests(files: &[PathBuf]) -> anyhow::Result<Vec<manifest::LoadedManifest>> {
    manifest::load_all(files).map_err(|errors| {
        for e in &errors {
            eprintln!("错误: {e}");
        }
        anyhow::anyhow!("{} 个清单错误，未做任何更改", errors.len())
    })
}

async fn tenant_command(db: &Database, cmd: TenantCommand) -> anyhow::Result<i32> {
    match cmd {
        TenantCommand::Apply { files } => {
            let manifests = match load_manifests(&files) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(2);
                }
            };
            let sets = migrate::TenantSets::embedded()?;
            let results = provision::apply_all(&db.admin, &db.roles, &sets, &manifests).await?;
            for r in &results {
                println!(
                    "{:<24} {:<4} {}  ({} ms)",
                    r.code,
                    r.kind.label(),
                    r.outcome.label(),
                    r.elapsed.as_millis()
                );
            }
            let changed = results
                .iter()
                .filter(|r| r.outcome != provision::ApplyOutcome::Unchanged)
                .count();
            if changed == 0 {
                println!("全部 {} 个租户均无变化。", results.len());
            }
            Ok(0)
        }
        TenantCommand::List => {
            println!(
                "{:<24} {:<6} {:<8} {:>6}  名称",
                "代码", "类型", "状态", "版本"
            );
            for t in repo::list(&db.admin).await? {
                let status = if t.is_suspended() {
                    "已暂停"
                } else {
                    "正常"
                };
                let kind = t.kind().map(|k| k.label()).unwrap_or("?");
                println!(
                    "{:<24} {:<6} {:<8} {:>6}  {}",
                    t.code, kind, status, t.schema_version, t.name
                );
            }
            Ok(0)
        }
        TenantCommand::Suspend { code, reason } => {
            if repo::set_status(&db.admin, &code, true, reason.as_deref()).await? {
                println!("已暂停租户 {code}：其所有请求将返回 403 TENANT_SUSPENDED");
                Ok(0)
            } else {
                eprintln!("找不到租户 {code}");
                Ok(2)
            }
        }
        TenantCommand::Resume { code } => {
            if repo::set_status(&db.admin, &code, false, None).await? {
                println!("已恢复租户 {code}");
                Ok(0)
            } else {
                eprintln!("找不到租户 {code}");
                Ok(2)
            }
        }
    }
}

async fn serve(
    settings: &Settings,
    db: Database,
    demo: Option<Vec<(String, String)>>,
) -> anyhow::Result<i32> {
    let storage = crate::storage::build_store(&settings.storage)
        .await
        .map_err(|e| anyhow::anyhow!("对象存储配置错误: {e}"))?;
    let keys = crate::keys::Keys::load(&settings.security)?;
    let state = Arc::new(
        AppState::new(
            db.app.clone(),
            Arc::new(SystemClock),
            storage,
            settings.http.base_domain.clone(),
            keys,
            settings.security.clone(),
        )
        .await?,
    );
    let bound = http::bind(&settings.http.host, settings.http.port).await?;
    let base = format!("http://{}:{}", settings.http.host, bound.port);
    tracing::info!(%base, "listening");
    println!("afterschool 已启动: {base}");
    println!("  API 文档 (Swagger UI): {base}/api/docs");
    println!("  OpenAPI 规范:          {base}/api/openapi.json");
    println!("  健康检查:              {base}/healthz  {base}/readyz");
    if let Some(tenants) = demo {
        println!("演示租户:");
        for (code, kind) in tenants {
            println!("  {kind} {code:<12} {base}/t/{code}/api/v1/tenant");
        }
        println!("按 Ctrl-C 停止（内置数据库随之停止）。");
    }
    bound.serve(state, shutdown_signal()).await?;
    db.shutdown().await;
    Ok(0)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
