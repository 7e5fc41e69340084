//! The enrollment-rush benchmark's pgbench run, the figure the server's is compared to
//! (latency percentiles, sampling what PostgreSQL's backends wait for and running pgbench
//! itself are in `benches/common/mod.rs`, shared with the meals benchmark).

use super::*;

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
        let mut defines: Vec<(String, String)> = vec![
            ("base".into(), self.base.to_string()),
            ("now".into(), fmt(pg_now)),
            (
                "expires".into(),
                fmt(pg_now + chrono::Duration::minutes(30)),
            ),
            (
                "details".into(),
                json!({ "course_id": 1, "enrollments": [1] }).to_string(),
            ),
            ("ip".into(), "127.0.0.1".into()),
            ("action".into(), "enrollment.hold".into()),
            ("object".into(), "student:1".into()),
            ("outcome".into(), "success".into()),
        ];
        for s in schools {
            defines.push((format!("code{}", s.n), s.code.clone()));
        }
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
        let run = common::pgbench(
            &db.admin,
            &self.url,
            clients,
            self.secs,
            &defines,
            self.files,
            &format!("{},platform", schools[0].schema),
        )
        .await?;
        let pg_load = &run.load_before;
        run.print();
        let tps = run.tps;
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
        let p99 = run.latency_ms(0.99);
        Ok(tps
            .filter(|_| run.success && held.iter().all(|n| *n > 0))
            .map(|t| (t, p99)))
    }
}
