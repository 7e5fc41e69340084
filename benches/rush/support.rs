//! The enrollment-rush benchmark's measuring tools: latency percentiles, sampling what
//! PostgreSQL's backends wait for, and the pgbench run the server's figure is compared to.

use super::*;

pub(super) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// `log_statement` for the whole cluster (`None`: back to the default), effective at once.
pub(super) async fn set_log_statement(
    admin: &sqlx::PgPool,
    value: Option<&str>,
) -> anyhow::Result<()> {
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
pub(super) struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, BTreeMap<String, f64>)>,
}

impl Sampler {
    /// Starts sampling the backends `filter` selects.
    pub(super) fn start(admin: &sqlx::PgPool, filter: String) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(sample_activity(admin.clone(), filter, stop.clone()));
        Sampler { stop, task }
    }

    pub(super) async fn finish(self) -> anyhow::Result<(usize, BTreeMap<String, f64>)> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// Samples, every 200 ms until `stop`, what the database backends selected by `filter` (an
/// SQL condition on `pg_stat_activity`) are doing; returns the number of samples and the
/// average number of backends per activity.
pub(super) async fn sample_activity(
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

pub(super) fn print_activity(title: &str, (n, avg): &(usize, BTreeMap<String, f64>)) {
    println!("{title} (average backends over {n} samples of pg_stat_activity):");
    let mut rows: Vec<(&String, &f64)> = avg.iter().collect();
    rows.sort_by(|a, b| b.1.total_cmp(a.1));
    for (what, v) in rows {
        println!("  {v:6.1}  {what}");
    }
}

/// pgbench with the per-school booking scripts against the bench database.
pub(super) struct Pgbench<'a> {
    pub(super) db: &'a Database,
    pub(super) url: String,
    pub(super) schools: &'a [School],
    pub(super) files: &'a [PathBuf],
    pub(super) base: i64,
    pub(super) secs: usize,
    pub(super) clock: Arc<dyn Clock>,
}

impl Pgbench<'_> {
    /// Resets the booked state, runs pgbench with `clients` clients, prints its report;
    /// its transactions per second and p99 latency in ms (from pgbench's per-transaction
    /// log), `None` when it failed.
    pub(super) async fn run(&self, clients: usize) -> anyhow::Result<Option<(f64, f64)>> {
        let (db, schools) = (self.db, self.schools);
        // Booked state reset (enrollments removed, counters zero) and the seat counters made
        // huge, so every pgbench transaction does the work of a successful booking.
        for s in schools {
            sqlx::raw_sql(&format!(
                "delete from {schema}.enrollments; update {schema}.course_seats set taken = 0, capacity = 1000000",
                schema = s.schema
            ))
            .execute(&db.admin)
            .await?;
        }
        sqlx::raw_sql("vacuum analyze").execute(&db.admin).await?;
        let pg_now = self.clock.now();
        let fmt =
            |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
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
            .args(["-T", &self.secs.to_string()])
            .args(["-M", "prepared"])
            .args(["-D", &format!("base={}", self.base)])
            .args(["-D", &format!("now={}", fmt(pg_now))])
            .args([
                "-D",
                &format!("expires={}", fmt(pg_now + chrono::Duration::minutes(30))),
            ])
            .args([
                "-D",
                &format!("details={}", json!({ "course_id": 1, "enrollments": [1] })),
            ])
            .args(["-D", "ip=127.0.0.1"])
            .args(["-D", "action=enrollment.hold"])
            .args(["-D", "object=student:1"])
            .args(["-D", "outcome=success"]);
        for s in schools {
            cmd.args(["-D", &format!("code{}={}", s.n, s.code)]);
        }
        for f in self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.arg(&self.url)
            // Statements are prepared at a client's first use of a script, before its
            // transaction sets the search path: start each connection in one school's schema.
            .env(
                "PGOPTIONS",
                format!("-c search_path={},platform", schools[0].schema),
            );
        println!(
            "\nPGOPTIONS='-c search_path={},platform' pgbench -n -r -c {clients} -j 2 -T {} -M prepared -D base={} -D now=.. -D expires=.. -D details=.. -D ip=.. -D action=.. -D object=.. -D outcome=.. -D code<n>=rush<n> -f booking_rush<n>.sql (x{}) <bench database url>",
            schools[0].schema,
            self.secs,
            self.base,
            self.files.len()
        );
        let audit_before: i64 = sqlx::query_scalar("select count(*) from platform.audit_log")
            .fetch_one(&db.admin)
            .await?;
        let pg_load = load();
        let sampler = Sampler::start(&db.admin, "application_name = 'pgbench'".into());
        let out = cmd.output().await?;
        let pg_activity = sampler.finish().await?;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let summary: Vec<&str> = stdout
            .lines()
            .take_while(|l| !l.starts_with("SQL script 2:"))
            .collect();
        println!("{}", summary.join("\n"));
        print_activity(&format!("pgbench -c {clients} connections"), &pg_activity);
        if !out.status.success() || !stdout.contains("tps = ") {
            println!("pgbench stdout in full:\n{stdout}");
        }
        if !stderr.trim().is_empty() {
            println!("pgbench stderr (first lines):");
            for l in stderr.lines().take(20) {
                println!("  {l}");
            }
        }
        let tps = stdout
            .lines()
            .find(|l| l.starts_with("tps = "))
            .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok());
        let audit_after: i64 = sqlx::query_scalar("select count(*) from platform.audit_log")
            .fetch_one(&db.admin)
            .await?;
        let mut held = Vec::new();
        for s in schools {
            let n: i64 = sqlx::query_scalar(&format!(
                "select count(*) from {}.enrollments where status = 'held'",
                s.schema
            ))
            .fetch_one(&db.admin)
            .await?;
            held.push(n);
        }
        println!(
            "pgbench -c {clients}: {} transactions committed (audit rows added), held places per school {:?}; load average {pg_load} before, {} after",
            audit_after - audit_before,
            held,
            load()
        );
        // Per-transaction log lines: client, transaction, latency in µs, script, epoch, µs.
        let mut lat_us: Vec<u64> = Vec::new();
        for entry in std::fs::read_dir(&log_dir)? {
            let text = std::fs::read_to_string(entry?.path())?;
            lat_us.extend(
                text.lines()
                    .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()),
            );
        }
        let _ = std::fs::remove_dir_all(&log_dir);
        lat_us.sort_unstable();
        let pct = |p: f64| {
            lat_us
                .get(((lat_us.len() as f64 * p).ceil() as usize).saturating_sub(1))
                .map_or(0.0, |us| *us as f64 / 1000.0)
        };
        println!(
            "pgbench -c {clients} latency (per-transaction log, {} transactions): p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            lat_us.len(),
            pct(0.50),
            pct(0.95),
            pct(0.99)
        );
        let p99 = pct(0.99);
        Ok(tps
            .filter(|_| out.status.success() && held.iter().all(|n| *n > 0))
            .map(|t| (t, p99)))
    }
}
