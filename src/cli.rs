//! Command-line entry points: `serve`, `demo`, `migrate`, `tenant apply|list|suspend|resume`,
//! `openapi`. Orchestration only; the work is done by the domain modules.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::auth::bootstrap;
use crate::auth::model::Role;
use crate::clock::SystemClock;
use crate::config::{LogFormat, Settings};
use crate::db::Database;
use crate::http;
use crate::kernel::ctx::Ctx;
use crate::keys::Keys;
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
        /// Run no outbox worker in this process (`afterschool worker` delivers instead)
        #[arg(long)]
        no_worker: bool,
    },
    /// Start everything on embedded defaults with the demo street
    Demo {
        #[arg(long)]
        port: Option<u16>,
        /// Folder of demo tenant manifests
        #[arg(long, default_value = "tenants/demo")]
        tenants: PathBuf,
        /// Run no outbox worker in this process
        #[arg(long)]
        no_worker: bool,
    },
    /// Deliver the outbox (the city push, messages, refunds) without serving requests
    Worker,
    /// The city supervision platform push
    #[command(subcommand)]
    Supervision(SupervisionCommand),
    /// Bring the platform schema and every tenant schema to the latest version
    Migrate {
        /// Tenants migrated in parallel
        #[arg(long, default_value_t = 4)]
        jobs: usize,
    },
    /// Manage tenants (schools and agencies)
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage accounts (the first operators are created here)
    #[command(subcommand)]
    Account(AccountCommand),
    /// Print the OpenAPI document
    Openapi,
}

#[derive(Debug, Subcommand)]
pub enum SupervisionCommand {
    /// Queue a full snapshot (F1–F5) for the city platform: for the first connection, or
    /// after the city lost data. Idempotent at the receiver; the worker delivers it.
    Resync {
        /// Only this school (its code); every school when absent
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Grant a role to the holder of a phone, creating the account with a random initial
    /// password (printed once, to be changed at first sign-in)
    Create {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
        /// operator_sys | operator_sec | operator_audit | bureau_officer | school_admin | ...
        #[arg(long)]
        role: String,
        /// School or agency code, for tenant roles
        #[arg(long)]
        tenant: Option<String>,
    },
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
        Command::Serve { port, no_worker } => {
            if let Some(p) = port {
                settings.http.port = p;
            }
            if no_worker {
                settings.outbox.embedded = false;
            }
            let db = Database::open(&settings.database).await?;
            serve(&settings, db, None).await
        }
        Command::Demo {
            port,
            tenants,
            no_worker,
        } => {
            if let Some(p) = port {
                settings.http.port = p;
            }
            if no_worker {
                settings.outbox.embedded = false;
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
            let keys = Keys::load(&settings.security)?;
            for (phone, name, role, tenant) in bootstrap::demo_accounts() {
                if let Err(e) = bootstrap::grant_role(
                    &db.admin,
                    &keys,
                    phone,
                    name,
                    role,
                    tenant,
                    Some(bootstrap::DEMO_PASSWORD),
                    chrono::Utc::now(),
                )
                .await
                {
                    eprintln!(
                        "演示账号 {phone}: {}",
                        crate::error::DomainError::user_message(&e)
                    );
                }
            }
            seed_demo_people(&db, &keys).await;
            let codes: Vec<(String, String)> = results
                .iter()
                .map(|r| (r.code.clone(), r.kind.label().to_string()))
                .collect();
            serve(&settings, db, Some(codes)).await
        }
        Command::Worker => {
            let db = Database::open(&settings.database).await?;
            let state = build_ctx(&settings, &db).await?;
            // Calls to this platform's own simulators go where `serve` listens.
            state.set_local_base(format!(
                "http://{}:{}",
                settings.http.host, settings.http.port
            ));
            crate::supervision::push::announce_platform(&state).await?;
            let worker = crate::outbox::Worker::new(
                state,
                http::features::outbox_handlers(),
                settings.outbox.clone(),
            );
            println!("afterschool 推送进程已启动（对外推送队列）");
            worker.run(shutdown_signal()?).await;
            db.shutdown().await;
            Ok(0)
        }
        Command::Supervision(SupervisionCommand::Resync { tenant }) => {
            let db = Database::open(&settings.database).await?;
            let state = build_ctx(&settings, &db).await?;
            let code = resync(&state, tenant.as_deref()).await;
            db.shutdown().await;
            code
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
        Command::Account(AccountCommand::Create {
            phone,
            name,
            role,
            tenant,
        }) => {
            let Some(role) = Role::parse(&role) else {
                eprintln!("未知角色 {role}");
                return Ok(2);
            };
            let db = Database::open(&settings.database).await?;
            let keys = Keys::load(&settings.security)?;
            let result = bootstrap::grant_role(
                &db.admin,
                &keys,
                &phone,
                &name,
                role,
                tenant.as_deref(),
                None,
                chrono::Utc::now(),
            )
            .await;
            db.shutdown().await;
            match result {
                Ok(c) => {
                    println!("已为账号 {} 授予角色“{}”", c.account_id, role.label());
                    if let Some(p) = c.initial_password {
                        println!("初始密码（只显示这一次，首次登录须修改）：{p}");
                    }
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("错误: {}", crate::error::DomainError::user_message(&e));
                    Ok(2)
                }
            }
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

/// Staff, students and guardians of the demo school, so that the demo homeroom teacher
/// and parent see their class and children. Problems are reported, not fatal.
async fn seed_demo_people(db: &Database, keys: &Keys) {
    let result = async {
        let Some(rec) = crate::tenancy::lookup::find_by_code(&db.admin, "sqsf").await? else {
            return Ok(());
        };
        let Some(tenant) = crate::tenancy::model::TenantContext::from_record(&rec) else {
            return Ok(());
        };
        let hash = keys.pii.blind_index("phone", "18800000005");
        let admin = crate::auth::lookup::account_by_phone_hash(&db.admin, &hash)
            .await?
            .map(|a| a.id)
            .unwrap_or_default();
        crate::people::sample::seed_demo(
            &db.admin,
            keys,
            &tenant,
            admin,
            crate::clock::Clock::today(&SystemClock),
        )
        .await
        .map_err(anyhow::Error::from)
    }
    .await;
    if let Err(e) = result {
        eprintln!("演示学校人员数据未能写入: {e}");
    }
}

/// Published courses of the demo school (after its people: they name the demo teachers).
/// Problems are reported, not fatal.
async fn seed_demo_courses(st: &Ctx) {
    let result = async {
        let Some(rec) = crate::tenancy::lookup::find_by_code(&st.db_app, "sqsf").await? else {
            return Ok(0);
        };
        let Some(tenant) = crate::tenancy::model::TenantContext::from_record(&rec) else {
            return Ok(0);
        };
        let hash = st.keys.pii.blind_index("phone", "18800000005");
        let Some(admin) = crate::auth::lookup::account_by_phone_hash(&st.db_app, &hash).await?
        else {
            return Ok(0);
        };
        crate::courses::sample::seed_demo(st, &tenant, admin.id, st.clock.now())
            .await
            .map_err(|e| anyhow::anyhow!("{}", crate::error::ApiError::from(e).body().message))
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(n) => println!("演示学校已发布 {n} 门课程（午托、晚托、社团、系列课）"),
        Err(e) => eprintln!("演示学校课程未能写入: {e}"),
    }
}

/// `http.public_url` must be a bare http(s) origin: every absolute URL starts with it.
fn checked_public_url(raw: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let u = url::Url::parse(raw)
        .map_err(|e| anyhow::anyhow!("http.public_url 不是有效网址（{raw}）: {e}"))?;
    let bare = (u.scheme() == "https" || u.scheme() == "http")
        && u.host_str().is_some()
        && u.path() == "/"
        && u.query().is_none()
        && u.fragment().is_none()
        && u.username().is_empty();
    if !bare {
        anyhow::bail!("http.public_url 须为 http(s)://主机[:端口]，不带路径和参数（{raw}）");
    }
    Ok(Some(u.origin().ascii_serialization()))
}

/// `afterschool supervision resync`: F1, then per school its courses (F2, F3) and places
/// (F4), then (for the whole street) the escrow movements (F5).
async fn resync(st: &Ctx, only: Option<&str>) -> anyhow::Result<i32> {
    let mut tenants = Vec::new();
    for rec in repo::list(&st.db_app).await? {
        let Some(t) = crate::tenancy::model::TenantContext::from_record(&rec) else {
            continue;
        };
        if t.kind != crate::tenancy::model::TenantKind::School || rec.is_suspended() {
            continue;
        }
        if only.is_none_or(|c| c == t.code.as_str()) {
            tenants.push(t);
        }
    }
    if let Some(c) = only {
        if tenants.is_empty() {
            eprintln!("找不到学校 {c}");
            return Ok(2);
        }
    }
    let f1 = crate::supervision::push::platform_record(&st.supervision.settings);
    let mut conn = st.db_app.acquire().await?;
    crate::supervision::push::record(&mut conn, &st.keys.pii, None, f1).await?;
    drop(conn);
    for t in &tenants {
        let courses = crate::courses::push::resync(st, t)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        let places = crate::enrollment::push::resync(st, t)
            .await
            .map_err(|e| anyhow::anyhow!(e))?;
        println!(
            "{:<12} 课程 {courses} 门，在读学生 {places} 人次",
            t.code.as_str()
        );
    }
    if only.is_none() {
        let mut conn = st.db_app.acquire().await?;
        let n = crate::ledger::push_escrow_history(&mut conn).await?;
        println!("存管账户资金变动 {n} 笔");
    }
    println!("已排入对外推送队列，由推送进程发送（服务进程内置推送，或 afterschool worker）。");
    Ok(0)
}

/// The shared context `serve` and `worker` run on.
async fn build_ctx(settings: &Settings, db: &Database) -> anyhow::Result<Arc<Ctx>> {
    let storage = crate::storage::build_store(&settings.storage)
        .await
        .map_err(|e| anyhow::anyhow!("对象存储配置错误: {e}"))?;
    let keys = crate::keys::Keys::load(&settings.security)?;
    Ok(Arc::new(
        Ctx::new(
            db.app.clone(),
            Arc::new(SystemClock),
            storage,
            settings.http.base_domain.clone(),
            keys,
            settings.security.clone(),
        )
        .await?
        .with_wechatpay(&settings.wechatpay)?
        .with_supervision(&settings.supervision)?
        .with_notify(&settings.notify)?
        .with_public_url(checked_public_url(settings.http.public_url.as_deref())?),
    ))
}

async fn serve(
    settings: &Settings,
    db: Database,
    demo: Option<Vec<(String, String)>>,
) -> anyhow::Result<i32> {
    let state = build_ctx(settings, &db).await?;
    if let Err(e) = crate::supervision::push::announce_platform(&state).await {
        tracing::warn!(error = %e, "F1 (the platform's record) not queued");
    }
    if demo.is_some() {
        seed_demo_courses(&state).await;
    }
    let bound = http::bind(&settings.http.host, settings.http.port).await?;
    let shutdown = shutdown_signal()?;
    // The outbox worker inside the server, unless `--no-worker` (then `afterschool worker`).
    let worker = settings.outbox.embedded.then(|| {
        let worker = crate::outbox::Worker::new(
            state.clone(),
            http::features::outbox_handlers(),
            settings.outbox.clone(),
        );
        tokio::spawn(worker.run(std::future::pending()))
    });
    // Every feature's background jobs (sweepers, the audit sealer).
    for feature in http::features::FEATURES {
        for job in feature.jobs() {
            tracing::debug!(
                feature = feature.name(),
                job = job.name,
                "background job started"
            );
            tokio::spawn((job.run)(state.clone(), job.every));
        }
    }
    // The WeChat Pay simulator delivers callbacks and completes refunds on its own clock.
    if let Some(sim) = state.wxpay_sim.clone() {
        tokio::spawn(crate::wechatpay::sim::run(
            sim,
            std::time::Duration::from_millis(settings.wechatpay.sim.tick_millis),
        ));
    }
    let base = format!("http://{}:{}", settings.http.host, bound.port);
    tracing::info!(%base, "listening");
    println!("afterschool 已启动: {base}");
    println!("  登录（家长、教师手机页面与管理后台）: {base}/login");
    println!("  API 文档 (Swagger UI): {base}/api/docs");
    println!("  OpenAPI 规范:          {base}/api/openapi.json");
    println!("  健康检查:              {base}/healthz  {base}/readyz");
    if let Some(tenants) = demo {
        println!("演示租户:");
        for (code, kind) in tenants {
            // A page (its console, after sign-in), never an API answer a browser shows as JSON.
            println!("  {kind} {code:<12} {base}/t/{code}/console");
        }
        println!(
            "演示账号（密码均为 {}；管理员首次登录后按页面提示绑定身份验证器）:",
            bootstrap::DEMO_PASSWORD
        );
        for (phone, name, role, tenant) in bootstrap::demo_accounts() {
            println!(
                "  {:<8} {phone}  {name:<10} {base}{}",
                role.label(),
                crate::auth::pages::sign_in::home_url(role, tenant)
            );
        }
        println!("按 Ctrl-C 停止（内置数据库随之停止）。");
    }
    bound.serve(state, shutdown).await?;
    if let Some(w) = worker {
        w.abort();
    }
    db.shutdown().await;
    Ok(0)
}

/// Registers the Ctrl-C and SIGTERM handlers now (so a signal that arrives right after
/// start-up is not lost to the default action, which would leave PostgreSQL running) and
/// returns the future that completes on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        tracing::info!("shutting down");
    })
}
