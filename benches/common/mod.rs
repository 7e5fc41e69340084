//! What the benchmarks share: their command-line numbers, the private PostgreSQL cluster
//! they start (default durability, in a temporary folder removed afterwards) with its
//! `bench` database, the real server on a free port, and a signed-in school admin.
//!
//! Each benchmark includes this file with `#[path = "common/mod.rs"] mod common;` (a
//! folder, so that Cargo does not take it for a benchmark of its own) and uses
//! what it needs of it.
//!
//! Also here, for the benchmarks that seed school tenants and compare with pgbench
//! (`enrollment_rush`, `meals`): the school manifest with grades 1 to 6, provisioning, the
//! roster imported over HTTP, parent sessions written straight into `platform.sessions`,
//! latency percentiles, sampling of `pg_stat_activity`, `log_statement` for a probe
//! request, a pgbench run with its per-transaction latencies, a clock that starts at a
//! chosen instant, and the background work `afterschool serve` runs (outbox worker, the
//! features' jobs, the WeChat Pay simulator's delivery).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde_json::Value;

use afterschool::auth::model::Role;
use afterschool::auth::{password, repo as auth_repo, roles, service as auth_service};
use afterschool::clock::Clock;
use afterschool::config::{DatabaseSettings, SecuritySettings};
use afterschool::db::embedded::{ClusterOptions, EmbeddedCluster};
use afterschool::db::Database;
use afterschool::http;
use afterschool::kernel::ctx::Ctx;
use afterschool::keys::Keys;
use afterschool::people::sample;
use afterschool::pii::Phone;
use afterschool::storage::LocalStore;
use afterschool::tenancy::manifest;
use afterschool::tenancy::migrate::TenantSets;
use afterschool::tenancy::provision::apply_one;
use afterschool::tenancy::sample::small_school_manifest;

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
/// A sent request's (status, JSON body); a transport error is status 0 with the error in the body.
pub async fn answer(r: Result<reqwest::Response, reqwest::Error>) -> (u16, Value) {
    match r {
        Ok(resp) => {
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
        Err(e) => (0, serde_json::json!({ "transport_error": e.to_string() })),
    }
}

/// The statements every parent request runs first, for the pgbench scripts
/// (`{{parent_request}}` in them; its own placeholders are the script's).
pub const PARENT_REQUEST_SQL: &str = include_str!("parent_request.sql");

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

// --- time ---------------------------------------------------------------------------------

/// A clock that starts at a chosen instant and runs on with real time; [`BenchClock::set`]
/// moves it (the rush benchmarks open an ordering window that way).
pub struct BenchClock(Mutex<(DateTime<Utc>, Instant)>);

impl BenchClock {
    pub fn starting_at(t: DateTime<Utc>) -> Self {
        Self(Mutex::new((t, Instant::now())))
    }

    /// From now on the clock reads `t`, and runs on from there.
    pub fn set(&self, t: DateTime<Utc>) {
        if let Ok(mut g) = self.0.lock() {
            *g = (t, Instant::now());
        }
    }
}

impl Clock for BenchClock {
    fn now(&self) -> DateTime<Utc> {
        let (t, at) = self
            .0
            .lock()
            .map(|g| *g)
            .unwrap_or((Utc::now(), Instant::now()));
        t + chrono::Duration::from_std(at.elapsed()).unwrap_or_default()
    }
}

/// The 1-minute load average: other work on the machine shows in every figure here.
pub fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// The `p` quantile (0..=1) of sorted latencies (nearest rank).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

// --- background work, as `afterschool serve` runs it -----------------------------------------

/// The outbox worker, every feature's background jobs (sweepers, the audit sealer) and the
/// WeChat Pay simulator's delivery of callbacks and refunds, as `afterschool serve` starts
/// them; [`Background::stop`] aborts them all.
pub struct Background {
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Starts them on `state`; the simulator delivers every `sim_tick` (the server's
    /// default is `wechatpay.sim.tick_millis`, 1 s).
    pub fn start(
        state: &Arc<Ctx>,
        outbox: afterschool::outbox::OutboxSettings,
        sim_tick: Duration,
    ) -> Self {
        let mut handles = vec![tokio::spawn(
            afterschool::outbox::Worker::new(
                state.clone(),
                http::features::outbox_handlers(),
                outbox,
            )
            .run(std::future::pending()),
        )];
        for feature in http::features::FEATURES {
            for job in feature.jobs() {
                handles.push(tokio::spawn((job.run)(state.clone(), job.every)));
            }
        }
        if let Some(sim) = state.wxpay_sim.clone() {
            handles.push(tokio::spawn(afterschool::wechatpay::sim::run(
                sim, sim_tick,
            )));
        }
        Background { handles }
    }

    pub async fn stop(self) {
        for h in &self.handles {
            h.abort();
        }
        for h in self.handles {
            let _ = h.await;
        }
    }
}

// --- school tenants ---------------------------------------------------------------------------

/// One provisioned school tenant.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub code: String,
    pub schema: String,
    pub role: String,
    pub tenant_id: i64,
}

/// The manifest of `small_school_manifest` with grades 2 to 6 added (two classes each):
/// twelve classes of grades 1 to 6.
pub fn school_manifest(code: &str) -> String {
    let mut extra = String::new();
    for (level, zh) in [(2, "二"), (3, "三"), (4, "四"), (5, "五"), (6, "六")] {
        extra.push_str(&format!(
            "[[grades]]\ncode = \"g{level}\"\nname = \"{zh}年级\"\nlevel = {level}\nclasses = [\n  \
             {{ code = \"g{level}c1\", name = \"{code}-{zh}年级1班\", alias = \"{code}-{zh}年级甲班\" }},\n  \
             {{ code = \"g{level}c2\", name = \"{code}-{zh}年级2班\", alias = \"{code}-{zh}年级乙班\" }},\n]\n\n"
        ));
    }
    small_school_manifest(code).replacen("[[venues]]", &format!("{extra}[[venues]]"), 1)
}

/// Applies [`school_manifest`] for `code` and reads the tenant back.
pub async fn provision_school(
    db: &Database,
    sets: &TenantSets,
    code: &str,
) -> anyhow::Result<Tenant> {
    let m = manifest::parse(
        &PathBuf::from(format!("{code}.toml")),
        &school_manifest(code),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    apply_one(&db.admin, &db.roles, sets, &m).await?;
    let (tenant_id, schema, role): (i64, String, String) =
        sqlx::query_as("select id, schema_name, db_role from platform.tenants where code = $1")
            .bind(code)
            .fetch_one(&db.admin)
            .await?;
    Ok(Tenant {
        code: code.to_string(),
        schema,
        role,
        tenant_id,
    })
}

/// Imports `students` students with one guardian each (guardians get accounts, phones from
/// `first_phone` on) into the school over HTTP, as its admin (`token`) uploads the
/// template workbook, and waits until the import has succeeded.
pub async fn import_roster(
    client: &reqwest::Client,
    address: &str,
    admin: &sqlx::PgPool,
    school: &Tenant,
    token: &str,
    students: usize,
    first_phone: u64,
) -> anyhow::Result<()> {
    let (code, schema) = (&school.code, &school.schema);
    let classes: Vec<String> =
        sqlx::query_scalar(&format!("select name from {schema}.classes order by code"))
            .fetch_all(admin)
            .await?;
    let refs: Vec<&str> = classes.iter().map(String::as_str).collect();
    let (st, g) = sample::roster(students, &refs, first_phone);
    let bytes = sample::roster_xlsx(st, g)?;
    let base = format!("{address}/t/{code}/api/v1");
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name("名单.xlsx"),
    );
    let job: Value = client
        .post(format!("{base}/school/imports?kind=students"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("upload refused for {code}: {job}"))?
        .to_string();
    let done = loop {
        let j: Value = client
            .get(format!("{base}/school/imports/{id}"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        if j["status"] != "running" {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    anyhow::ensure!(
        done["status"] == "succeeded",
        "import {code} failed: {done}"
    );
    Ok(())
}

/// [`import_roster`] for several schools, `parallel` imports at a time; school `i` of
/// `schools` (with `tokens[i]`) gets phones from `first_phone(i)` on.
pub async fn import_rosters(
    client: &reqwest::Client,
    address: &str,
    admin: &sqlx::PgPool,
    schools: &[(&Tenant, &str, usize, u64)],
    parallel: usize,
) -> anyhow::Result<()> {
    let results: Vec<anyhow::Result<()>> =
        futures::stream::iter(schools.iter().map(|(s, token, students, phone)| {
            import_roster(client, address, admin, s, token, *students, *phone)
        }))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.into_iter().collect()
}

/// (student id, guardian account id) of every student of the school, by student id.
pub async fn families(admin: &sqlx::PgPool, schema: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(&format!(
        "select s.id, g.account_id
         from {schema}.students s
         join {schema}.student_guardians sg on sg.student_id = s.id
         join {schema}.guardians g on g.id = sg.guardian_id
         order by s.id"
    ))
    .fetch_all(admin)
    .await?)
}

/// Signed-in sessions for the accounts, straight into `platform.sessions` (no argon2
/// sign-ins): `(token, account id)`, created ten minutes before `now` and last seen five
/// minutes before it, so the guard touches each on its first request (as it does once a
/// minute).
pub async fn insert_sessions(
    admin: &sqlx::PgPool,
    sessions: &[(String, i64)],
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let hashes: Vec<Vec<u8>> = sessions
        .iter()
        .map(|(t, _)| auth_service::token_hash(t))
        .collect();
    let accounts: Vec<i64> = sessions.iter().map(|(_, a)| *a).collect();
    sqlx::query(
        "insert into platform.sessions
             (token_hash, account_id, created_at, last_seen_at, expires_at, mfa_passed)
         select h, a, $3, $4, $5, true from unnest($1::bytea[], $2::bigint[]) as u(h, a)",
    )
    .bind(&hashes)
    .bind(&accounts)
    .bind(now - chrono::Duration::minutes(10))
    .bind(now - chrono::Duration::minutes(5))
    .bind(now + chrono::Duration::hours(12))
    .execute(admin)
    .await?;
    Ok(())
}

// --- what PostgreSQL does ----------------------------------------------------------------------

/// `log_statement` for the whole cluster (`None`: back to the default), effective at once.
pub async fn set_log_statement(admin: &sqlx::PgPool, value: Option<&str>) -> anyhow::Result<()> {
    let stmt = match value {
        Some(v) => format!("alter system set log_statement = '{v}'"),
        None => "alter system reset log_statement".to_string(),
    };
    sqlx::raw_sql(&stmt).execute(admin).await?;
    sqlx::raw_sql("select pg_reload_conf()")
        .execute(admin)
        .await?;
    // Backends pick the new value up at their next command; give the signal time to land.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(())
}

/// A running [`sample_activity`]: stop it with [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, BTreeMap<String, f64>)>,
}

impl Sampler {
    /// Starts sampling the backends `filter` selects.
    pub fn start(admin: &sqlx::PgPool, filter: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(sample_activity(admin.clone(), filter, stop.clone()));
        Sampler { stop, task }
    }

    pub async fn finish(self) -> anyhow::Result<(usize, BTreeMap<String, f64>)> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// Samples, every 200 ms until `stop`, what the database backends selected by `filter` (an
/// SQL condition on `pg_stat_activity`) are doing; returns the number of samples and the
/// average number of backends per activity.
pub async fn sample_activity(
    admin: sqlx::PgPool,
    filter: String,
    stop: Arc<AtomicBool>,
) -> (usize, BTreeMap<String, f64>) {
    let sql = format!(
        "select case
                  when state = 'active' and wait_event_type = 'Lock'
                    then 'waiting for a lock (' || wait_event || ')'
                         || case when query like '%audit_head%' then ' in the audit append: select ... audit_head for update'
                                 else ': ' || left(regexp_replace(query, '\\s+', ' ', 'g'), 60) end
                  when state = 'active' and wait_event is null then 'running on CPU'
                  when state = 'active' then 'active, waiting on ' || wait_event_type || '/' || wait_event
                  when state = 'idle in transaction' then 'in a transaction, waiting for the client'
                  else coalesce(state, '?')
                end as what, count(*)
         from pg_stat_activity
         where datname = 'bench' and pid <> pg_backend_pid() and ({filter})
         group by 1"
    );
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(rows) = sqlx::query_as::<_, (String, i64)>(&sql)
            .fetch_all(&admin)
            .await
        {
            n += 1;
            for (what, c) in rows {
                *sums.entry(what).or_default() += c as f64;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for v in sums.values_mut() {
        *v /= n.max(1) as f64;
    }
    (n, sums)
}

pub fn print_activity(title: &str, (n, avg): &(usize, BTreeMap<String, f64>)) {
    println!("{title} (average backends over {n} samples of pg_stat_activity):");
    let mut rows: Vec<(&String, &f64)> = avg.iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(a.1));
    for (what, v) in rows {
        println!("  {v:6.1}  {what}");
    }
}

/// The server log of one request made with `log_statement = 'all'`: runs `request` between
/// two marker statements and returns what it answered and the log lines in between.
pub async fn logged<T, F: std::future::Future<Output = anyhow::Result<T>>>(
    admin: &sqlx::PgPool,
    log_path: &Path,
    request: F,
) -> anyhow::Result<(T, String)> {
    let log_start = std::fs::metadata(log_path)?.len();
    set_log_statement(admin, Some("all")).await?;
    sqlx::raw_sql("select 'bench-probe-begin'")
        .execute(admin)
        .await?;
    let answer = request.await;
    sqlx::raw_sql("select 'bench-probe-end'")
        .execute(admin)
        .await?;
    set_log_statement(admin, None).await?;
    let answer = answer?;
    let log = std::fs::read(log_path)?;
    let log = String::from_utf8_lossy(&log[log_start as usize..]).to_string();
    let begin = log.find("bench-probe-begin").unwrap_or(0);
    let begin = log[begin..].find('\n').map_or(begin, |i| begin + i + 1);
    let end = log[begin..]
        .find("bench-probe-end")
        .and_then(|i| log[..begin + i].rfind('\n'))
        .unwrap_or(log.len());
    Ok((answer, log[begin..end].to_string()))
}

/// How many statements a server log excerpt shows.
pub fn statements_in(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("LOG:  statement:") || l.contains("LOG:  execute "))
        .count()
}

// --- pgbench ---------------------------------------------------------------------------------

/// What one pgbench run gave.
pub struct PgbenchRun {
    pub clients: usize,
    pub success: bool,
    /// transactions per second, as pgbench reports it
    pub tps: Option<f64>,
    pub stdout: String,
    pub stderr: String,
    /// per-transaction latencies from pgbench's log, µs, sorted
    pub latencies_us: Vec<u64>,
    pub activity: (usize, BTreeMap<String, f64>),
    pub load_before: String,
}

impl PgbenchRun {
    /// The `p` quantile of the per-transaction latencies, ms.
    pub fn latency_ms(&self, p: f64) -> f64 {
        self.latencies_us
            .get(((self.latencies_us.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    }

    /// Prints pgbench's report (up to the second script's figures), what its connections
    /// waited for, its full output when it failed, and its latencies.
    pub fn print(&self) {
        let summary: Vec<&str> = self
            .stdout
            .lines()
            .take_while(|l| !l.starts_with("SQL script 2:"))
            .collect();
        println!("{}", summary.join("\n"));
        print_activity(
            &format!("pgbench -c {} connections", self.clients),
            &self.activity,
        );
        if !self.success || self.tps.is_none() {
            println!("pgbench stdout in full:\n{}", self.stdout);
        }
        if !self.stderr.trim().is_empty() {
            println!("pgbench stderr (first lines):");
            for l in self.stderr.lines().take(20) {
                println!("  {l}");
            }
        }
        println!(
            "pgbench -c {} latency (per-transaction log, {} transactions): p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            self.clients,
            self.latencies_us.len(),
            self.latency_ms(0.50),
            self.latency_ms(0.95),
            self.latency_ms(0.99)
        );
    }
}

/// Runs `pgbench -n -r -l -c clients -j 2 -T secs -M prepared` with the `-D` variables and
/// script files given against `url`, each connection starting with `search_path` (the
/// statements are prepared at a client's first use of a script, before its transaction
/// sets the search path), while sampling what its connections do.
pub async fn pgbench(
    admin: &sqlx::PgPool,
    url: &str,
    clients: usize,
    secs: usize,
    defines: &[(String, String)],
    files: &[PathBuf],
    search_path: &str,
) -> anyhow::Result<PgbenchRun> {
    let log_dir = std::env::temp_dir().join(format!(
        "afterschool-pgbench-log-{}-{clients}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&log_dir);
    std::fs::create_dir_all(&log_dir)?;
    let mut cmd = tokio::process::Command::new("pgbench");
    cmd.arg("-n")
        .arg("-r")
        .arg("-l")
        .arg(format!("--log-prefix={}", log_dir.join("tx").display()))
        .args(["-c", &clients.to_string()])
        .args(["-j", "2"])
        .args(["-T", &secs.to_string()])
        .args(["-M", "prepared"]);
    for (k, v) in defines {
        cmd.args(["-D", &format!("{k}={v}")]);
    }
    for f in files {
        cmd.arg("-f").arg(f);
    }
    cmd.arg(url)
        .env("PGOPTIONS", format!("-c search_path={search_path}"));
    let load_before = load();
    let sampler = Sampler::start(admin, "application_name = 'pgbench'".into());
    let out = cmd.output().await?;
    let activity = sampler.finish().await?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let tps = stdout
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok());
    // Per-transaction log lines: client, transaction, latency in µs, script, epoch, µs.
    let mut latencies_us: Vec<u64> = Vec::new();
    for entry in std::fs::read_dir(&log_dir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        latencies_us.extend(
            text.lines()
                .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()),
        );
    }
    let _ = std::fs::remove_dir_all(&log_dir);
    latencies_us.sort_unstable();
    Ok(PgbenchRun {
        clients,
        success: out.status.success(),
        tps,
        stdout,
        stderr,
        latencies_us,
        activity,
        load_before,
    })
}
