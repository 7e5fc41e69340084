//! Enrollment-rush figure of issue #5: 20 schools, 40,000 students (one guardian each),
//! 400 courses; the registration window opens and every parent books at once over HTTP
//! against the real server on a private PostgreSQL cluster (default durability), with a
//! fixed number of requests in flight. Then:
//!
//! - checks, per school, by SQL as the owner: no course over capacity, `taken` equal to
//!   the live enrollments, the live enrollments exactly the 200 answers (none lost, none
//!   duplicated, no child twice), every refused-as-full course really full, one audit
//!   record per hold and the audit chain intact;
//! - `pgbench` on the same cluster with the statements the server issued for one booking,
//!   read from the server log of a probe booking made with `log_statement = 'all'`
//!   (script template: `benches/rush/booking.sql`, one generated copy per school), and the
//!   ratio of the server's requests per second to pgbench's transactions per second.
//!
//! pgbench runs twice: with `--pgbench-clients` clients (the figure), then, for reference,
//! with as many clients as the server has database connections (`--pgbench-pool-run 0`
//! skips that). While the rush and pgbench run, `pg_stat_activity` is sampled to show what
//! the backends wait for.
//!
//! Run: `cargo bench --bench enrollment_rush`
//! (`-- --schools 20 --students 2000 --courses 20 --capacity 60 --clients 200
//! --pgbench-clients 200 --pgbench-secs 20 --pool 32 --seed 2026` are the defaults;
//! `--pgbench 0` skips pgbench).
//!
//! `-- --push-compare <rounds>` adds issue #15's figure 3 after the checks: the rush's holds
//! confirmed over HTTP with the outbox event on, without its NOTIFY and off, rotated, in
//! `3 * rounds` equal parts (`benches/rush/push.rs`).
//!
//! Exits non-zero when a check fails or any answer is neither 200 nor ENROLL_FULL.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use afterschool::auth::service as auth_service;
use afterschool::clock::{Clock, SystemClock};
use afterschool::config::DatabaseSettings;
use afterschool::db::embedded::{ClusterOptions, EmbeddedCluster};
use afterschool::db::Database;
use afterschool::keys::Keys;
use afterschool::tenancy::migrate::TenantSets;
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[path = "common/mod.rs"]
mod common;
use common::{arg, load, ms, percentile, print_activity, set_log_statement, Sampler};
#[path = "rush/push.rs"]
mod push;
#[path = "rush/support.rs"]
mod support;
use support::*;

/// The pgbench script, with `{{...}}` placeholders filled in per school.
const SCRIPT_TEMPLATE: &str = include_str!("rush/booking.sql");

#[derive(Debug, Clone, Copy)]
struct Opts {
    schools: usize,
    students: usize,
    courses: usize,
    capacity: usize,
    clients: usize,
    pgbench_clients: usize,
    pgbench_secs: usize,
    pool: usize,
    seed: u64,
    /// rounds of push-compare parts (0: none)
    push_compare: usize,
    /// whether pgbench runs
    pgbench: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = Opts {
        schools: arg("--schools", 20).clamp(1, 99),
        students: arg("--students", 2000).clamp(1, 99_999),
        courses: arg("--courses", 20).max(1),
        capacity: arg("--capacity", 60).clamp(1, 2000),
        clients: arg("--clients", 200).max(1),
        pgbench_clients: arg("--pgbench-clients", 200).max(1),
        pgbench_secs: arg("--pgbench-secs", 20).max(1),
        pool: arg(
            "--pool",
            DatabaseSettings::default().max_connections as usize,
        )
        .max(1),
        seed: arg("--seed", 2026) as u64,
        push_compare: arg("--push-compare", 0).min(50),
        pgbench: arg("--pgbench", 1) != 0,
    };
    // pgbench's clients come on top of the server's pools.
    let opts = ClusterOptions {
        max_connections: (o.pgbench_clients + o.pool + 60).max(200) as u32,
        durability_off: false,
    };
    let pc = common::PrivateCluster::start("rush", &opts)?;
    let result = run(&pc, o).await;
    pc.stop()?;
    common::exit_with(result)
}

/// One school of the run.
struct School {
    /// 1-based number, part of the pgbench session tokens
    n: usize,
    code: String,
    schema: String,
    role: String,
    tenant_id: i64,
    /// (student id, guardian account id), by student id
    families: Vec<(i64, i64)>,
    courses: Vec<i64>,
}

/// The session token of the guardian of `student` in school `n`: a random base per run plus
/// a number pgbench can derive (`:base + :school * 1000000 + :sid`).
fn token_of(base: i64, n: usize, student: i64) -> String {
    (base + n as i64 * 1_000_000 + student).to_string()
}

/// What one booking request got back.
struct Answer {
    school: usize,
    student: i64,
    course: i64,
    status: u16,
    code: String,
    body: Value,
    latency: Duration,
}

async fn run(pc: &common::PrivateCluster, o: Opts) -> anyhow::Result<bool> {
    let (cluster, dir): (&EmbeddedCluster, &Path) = (&pc.cluster, &pc.dir);
    let total_started = Instant::now();
    let settings = DatabaseSettings {
        max_connections: o.pool as u32,
        ..DatabaseSettings::default()
    };
    let db = pc.database(&settings).await?;
    let sets = TenantSets::embedded()?;
    println!(
        "afterschool enrollment rush: {} schools x {} students (one guardian each) = {} families, \
         {} schools x {} courses x {} places = {} places; {} requests in flight; server pool {} connections",
        o.schools,
        o.students,
        o.schools * o.students,
        o.schools,
        o.courses,
        o.capacity,
        o.schools * o.courses * o.capacity,
        o.clients,
        o.pool
    );

    // --- schools -------------------------------------------------------------------------
    let started = Instant::now();
    let mut schools = Vec::with_capacity(o.schools);
    for n in 1..=o.schools {
        let t = common::provision_school(&db, &sets, &format!("rush{n}")).await?;
        schools.push(School {
            n,
            code: t.code,
            schema: t.schema,
            role: t.role,
            tenant_id: t.tenant_id,
            families: Vec::new(),
            courses: Vec::new(),
        });
    }
    println!(
        "setup: {} schools provisioned in {:.1} s",
        o.schools,
        started.elapsed().as_secs_f64()
    );

    let keys = Keys::ephemeral();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let objects = dir.join("objects");
    let (_state, port) = common::serve(&db, clock.clone(), &keys, &objects).await?;
    let address = format!("http://127.0.0.1:{port}");
    // As `afterschool serve` does: audit records are chained about a second after commit.
    let sealer = tokio::spawn(afterschool::audit::run_sealer(
        db.app.clone(),
        keys.audit.clone(),
        Duration::from_secs(1),
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.clients + 16)
        .timeout(Duration::from_secs(120))
        .build()?;

    // --- a signed-in school admin per school, as the test harness makes one ----------------
    let mut admin_tokens = Vec::with_capacity(o.schools);
    for s in &schools {
        let phone = format!("139000001{:02}", s.n);
        let token =
            common::school_admin_session(&db, &keys, clock.as_ref(), &phone, s.tenant_id).await?;
        admin_tokens.push(token);
    }

    // --- rosters, imported over HTTP (students and guardians; guardians get accounts) -----
    let started = Instant::now();
    let tenants: Vec<common::Tenant> = schools
        .iter()
        .map(|s| common::Tenant {
            code: s.code.clone(),
            schema: s.schema.clone(),
            role: s.role.clone(),
            tenant_id: s.tenant_id,
        })
        .collect();
    let rosters: Vec<(&common::Tenant, &str, usize, u64)> = tenants
        .iter()
        .zip(&admin_tokens)
        .zip(&schools)
        .map(|((t, token), s)| {
            (
                t,
                token.as_str(),
                o.students,
                19_000_000_000 + s.n as u64 * 100_000,
            )
        })
        .collect();
    common::import_rosters(&client, &address, &db.admin, &rosters, 2).await?;
    println!(
        "setup: {} students + {} guardians imported over HTTP in {:.1} s",
        o.schools * o.students,
        o.schools * o.students,
        started.elapsed().as_secs_f64()
    );

    // --- courses, as the publishing endpoints would leave them ------------------------------
    let now = clock.now();
    for s in &mut schools {
        for k in 0..o.courses {
            let weekday = (k % 5 + 1) as i16;
            let id: i64 = sqlx::query_scalar(&format!(
                "insert into {schema}.courses (code, parent_id, class_type, name, category, term_id,
                        weekdays, starts_at, ends_at, starts_on, ends_on, capacity, price, pricing,
                        eligible_levels, reg_opens_at, reg_closes_at, status)
                 select $1, null, 'training', $2, '体育', t.id, $3, '16:30'::time, '18:00'::time,
                        t.starts_on, t.ends_on, $4, 300, 'per_course', $5, $6, $7, 'published'
                 from {schema}.terms t where t.code = '2026-autumn'
                 returning id",
                schema = s.schema
            ))
            .bind(format!("rush{k:02}"))
            .bind(format!("课后课程{k:02}"))
            .bind(vec![weekday])
            .bind(o.capacity as i32)
            .bind(vec![1i16, 2, 3, 4, 5, 6])
            .bind(now - chrono::Duration::hours(1))
            .bind(now + chrono::Duration::days(7))
            .fetch_one(&db.admin)
            .await?;
            sqlx::query(&format!(
                "insert into {}.course_seats (course_id, capacity) values ($1, $2)",
                s.schema
            ))
            .bind(id)
            .bind(o.capacity as i32)
            .execute(&db.admin)
            .await?;
            s.courses.push(id);
        }
        s.families = common::families(&db.admin, &s.schema).await?;
        anyhow::ensure!(
            s.families.len() == o.students,
            "{}: expected {} students with one guardian, found {}",
            s.code,
            o.students,
            s.families.len()
        );
        // pgbench picks ids with random(1, n): they must be 1..n.
        let contiguous = s
            .families
            .iter()
            .enumerate()
            .all(|(i, f)| f.0 == i as i64 + 1)
            && s.courses
                .iter()
                .enumerate()
                .all(|(i, c)| *c == i as i64 + 1);
        anyhow::ensure!(contiguous, "{}: student or course ids are not 1..n", s.code);
    }

    // --- parent sessions, straight into platform.sessions (no argon2 sign-ins) -----------
    // last seen five minutes ago: the parents opened the app before the window opened, so
    // the guard touches the session on their booking request (as it does once a minute).
    let base: i64 = rand::thread_rng().gen_range(1_000_000_000_000..9_000_000_000_000);
    let mut sessions: Vec<(String, i64)> = Vec::new();
    let mut tokens: HashMap<(usize, i64), String> = HashMap::new();
    for s in &schools {
        for (student, account) in &s.families {
            let t = token_of(base, s.n, *student);
            sessions.push((t.clone(), *account));
            tokens.insert((s.n, *student), t);
        }
    }
    let started = Instant::now();
    common::insert_sessions(&db.admin, &sessions, now).await?;
    println!(
        "setup: {} courses, {} parent sessions inserted in {:.1} s (setup total {:.1} s)",
        o.schools * o.courses,
        sessions.len(),
        started.elapsed().as_secs_f64(),
        total_started.elapsed().as_secs_f64()
    );
    sqlx::raw_sql("vacuum analyze").execute(&db.admin).await?;

    // --- one probe booking with every statement logged -----------------------------------
    let log_path = cluster.data_dir().join("server.log");
    let probe_school = &schools[0];
    let (probe_student, _) = probe_school.families[0];
    let probe_course = probe_school.courses[0];
    let probe_token = &tokens[&(probe_school.n, probe_student)];
    let probe_url = format!(
        "{address}/t/{}/api/v1/school/enrollments",
        probe_school.code
    );
    let log_start = std::fs::metadata(&log_path)?.len();
    set_log_statement(&db.admin, Some("all")).await?;
    sqlx::raw_sql("select 'rush-probe-begin'")
        .execute(&db.admin)
        .await?;
    let r = client
        .post(&probe_url)
        .bearer_auth(probe_token)
        .json(&json!({ "student_id": probe_student, "course_id": probe_course }))
        .send()
        .await?;
    let probe_status = r.status().as_u16();
    let probe_body: Value = r.json().await.unwrap_or(Value::Null);
    sqlx::raw_sql("select 'rush-probe-end'")
        .execute(&db.admin)
        .await?;
    set_log_statement(&db.admin, None).await?;
    anyhow::ensure!(
        probe_status == 200,
        "probe booking failed: {probe_status} {probe_body}"
    );
    let log = std::fs::read(&log_path)?;
    let log = String::from_utf8_lossy(&log[log_start as usize..]).to_string();
    let begin = log.find("rush-probe-begin").unwrap_or(0);
    let begin = log[begin..].find('\n').map_or(begin, |i| begin + i + 1);
    let end = log[begin..]
        .find("rush-probe-end")
        .and_then(|i| log[..begin + i].rfind('\n'))
        .unwrap_or(log.len());
    let probe_log = &log[begin..end];
    let statements = probe_log
        .lines()
        .filter(|l| l.contains("LOG:  statement:") || l.contains("LOG:  execute "))
        .count();
    println!("\n--- statements the server issued for one booking (server log, log_statement = 'all') ---");
    println!("{}", probe_log.trim_end());
    println!("--- {statements} statements ---\n");
    // The probe's hold is let go again through the API, and its session made stale again,
    // so that family books in the rush like every other one.
    let id = probe_body[0]["id"].as_i64().unwrap_or_default();
    let r = client
        .delete(format!("{probe_url}/{id}"))
        .bearer_auth(probe_token)
        .send()
        .await?;
    anyhow::ensure!(r.status().as_u16() == 200, "cancelling the probe failed");
    sqlx::query("update platform.sessions set last_seen_at = $2 where token_hash = $1")
        .bind(auth_service::token_hash(probe_token))
        .bind(now - chrono::Duration::minutes(5))
        .execute(&db.admin)
        .await?;

    // --- the rush ------------------------------------------------------------------------
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut jobs: Vec<(usize, i64, i64, String)> = Vec::with_capacity(tokens.len());
    for (i, s) in schools.iter().enumerate() {
        for (student, _) in &s.families {
            let course = *s.courses.choose(&mut rng).unwrap_or(&1);
            jobs.push((i, *student, course, tokens[&(s.n, *student)].clone()));
        }
    }
    jobs.shuffle(&mut rng);
    let urls: Vec<String> = schools
        .iter()
        .map(|s| format!("{address}/t/{}/api/v1/school/enrollments", s.code))
        .collect();
    println!(
        "rush: {} parents book one course each, {} requests in flight (load average {} before) ...",
        jobs.len(),
        o.clients,
        load()
    );
    let sampler = Sampler::start(&db.admin, format!("usename = '{}'", db.roles.app()));
    let started = Instant::now();
    let answers: Vec<Answer> =
        futures::stream::iter(jobs.into_iter().map(|(i, student, course, token)| {
            let client = client.clone();
            let url = urls[i].clone();
            async move {
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "student_id": student, "course_id": course }))
                    .send()
                    .await;
                let (status, body) = common::answer(r).await;
                let code = body["code"].as_str().unwrap_or_default().to_string();
                Answer {
                    school: i,
                    student,
                    course,
                    status,
                    code,
                    body,
                    latency: t.elapsed(),
                }
            }
        }))
        .buffer_unordered(o.clients)
        .collect()
        .await;
    let wall = started.elapsed();
    let rush_load = load();
    let rush_activity = sampler.finish().await?;

    let ok = answers.iter().filter(|a| a.status == 200).count();
    let full = answers
        .iter()
        .filter(|a| a.status == 409 && a.code == "ENROLL_FULL")
        .count();
    let other: Vec<&Answer> = answers
        .iter()
        .filter(|a| !(a.status == 200 || (a.status == 409 && a.code == "ENROLL_FULL")))
        .collect();
    let mut lat: Vec<Duration> = answers.iter().map(|a| a.latency).collect();
    lat.sort();
    let mut lat_ok: Vec<Duration> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| a.latency)
        .collect();
    lat_ok.sort();
    let rps = answers.len() as f64 / wall.as_secs_f64();
    println!(
        "rush: {} requests in {:.2} s = {:.0} req/s ({:.0} holds/s); 200 held {}, 409 ENROLL_FULL {}, other {} (load average {rush_load} after)",
        answers.len(),
        wall.as_secs_f64(),
        rps,
        ok as f64 / wall.as_secs_f64(),
        ok,
        full,
        other.len()
    );
    println!(
        "latency, all answers:  p50 {:7.1} ms   p95 {:7.1} ms   p99 {:7.1} ms   max {:7.1} ms",
        ms(percentile(&lat, 0.5)),
        ms(percentile(&lat, 0.95)),
        ms(percentile(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "latency, 200 answers:  p50 {:7.1} ms   p95 {:7.1} ms   p99 {:7.1} ms   max {:7.1} ms",
        ms(percentile(&lat_ok, 0.5)),
        ms(percentile(&lat_ok, 0.95)),
        ms(percentile(&lat_ok, 0.99)),
        ms(*lat_ok.last().unwrap_or(&Duration::ZERO))
    );
    print_activity(
        "server's database connections during the rush",
        &rush_activity,
    );
    let mut passed = true;
    if !other.is_empty() {
        passed = false;
        let mut by: BTreeMap<(u16, String), usize> = BTreeMap::new();
        for a in &other {
            *by.entry((a.status, a.code.clone())).or_default() += 1;
        }
        println!(
            "FAIL: {} answers were neither 200 nor 409 ENROLL_FULL:",
            other.len()
        );
        for ((status, code), n) in &by {
            println!("  {status} {code}: {n}");
        }
        for a in other.iter().take(10) {
            println!(
                "  e.g. {} student {} course {}: {} {}",
                schools[a.school].code, a.student, a.course, a.status, a.body
            );
        }
    }

    // --- checks ------------------------------------------------------------------------
    let started = Instant::now();
    let mut problems: Vec<String> = Vec::new();
    for (i, s) in schools.iter().enumerate() {
        let schema = &s.schema;
        // (enrollment id, course, student) of every 200 answer
        let mut answered: HashSet<(i64, i64, i64)> = HashSet::new();
        let mut full_courses: HashSet<i64> = HashSet::new();
        for a in answers.iter().filter(|a| a.school == i) {
            if a.status == 200 {
                let items = a.body.as_array().cloned().unwrap_or_default();
                if items.len() != 1 {
                    problems.push(format!(
                        "{}: a 200 answer without one enrollment: {}",
                        s.code, a.body
                    ));
                }
                for e in items {
                    let id = e["id"].as_i64().unwrap_or(-1);
                    if e["status"] != "held"
                        || e["course_id"] != a.course
                        || e["student_id"] != a.student
                    {
                        problems.push(format!(
                            "{}: 200 answer does not match its request: {e}",
                            s.code
                        ));
                    }
                    if !answered.insert((id, a.course, a.student)) {
                        problems.push(format!("{}: enrollment id {id} answered twice", s.code));
                    }
                }
            } else if a.code == "ENROLL_FULL" {
                full_courses.insert(a.course);
            }
        }
        let live: Vec<(i64, i64, i64)> = sqlx::query_as(&format!(
            "select id, course_id, student_id from {schema}.enrollments
             where status in ('held', 'confirmed')"
        ))
        .fetch_all(&db.admin)
        .await?;
        let live_set: HashSet<(i64, i64, i64)> = live.iter().copied().collect();
        if live.len() != answered.len() {
            problems.push(format!(
                "{}: {} live enrollments but {} bookings answered 200",
                s.code,
                live.len(),
                answered.len()
            ));
        }
        let lost = answered.difference(&live_set).count();
        let unanswered = live_set.difference(&answered).count();
        if lost > 0 || unanswered > 0 {
            problems.push(format!(
                "{}: {lost} answered bookings missing from the database, {unanswered} live enrollments nobody was told about",
                s.code
            ));
        }
        let seats: Vec<(i64, i32, i32, i32, i64)> = sqlx::query_as(&format!(
            "select c.id, c.capacity, cs.capacity, cs.taken,
                    (select count(*) from {schema}.enrollments e
                     where e.course_id = c.id and e.status in ('held', 'confirmed'))
             from {schema}.courses c join {schema}.course_seats cs on cs.course_id = c.id
             order by c.id"
        ))
        .fetch_all(&db.admin)
        .await?;
        for (course, cap, seat_cap, taken, count) in &seats {
            if *taken as i64 != *count || taken > cap || taken > seat_cap || count > &(*cap as i64)
            {
                problems.push(format!(
                    "{} course {course}: capacity {cap}/{seat_cap}, taken {taken}, live enrollments {count}",
                    s.code
                ));
            }
            if full_courses.contains(course) && taken < cap {
                problems.push(format!(
                    "{} course {course}: answered ENROLL_FULL but only {taken} of {cap} places taken",
                    s.code
                ));
            }
        }
        let twice: i64 = sqlx::query_scalar(&format!(
            "select count(*) from (select student_id from {schema}.enrollments
             where status in ('held', 'confirmed') group by student_id having count(*) > 1) d"
        ))
        .fetch_one(&db.admin)
        .await?;
        let pair_twice: i64 = sqlx::query_scalar(&format!(
            "select count(*) from (select course_id, student_id from {schema}.enrollments
             where status in ('held', 'confirmed') group by 1, 2 having count(*) > 1) d"
        ))
        .fetch_one(&db.admin)
        .await?;
        if twice > 0 || pair_twice > 0 {
            problems.push(format!(
                "{}: {twice} children with more than one live booking, {pair_twice} (course, child) pairs twice",
                s.code
            ));
        }
        // one enrollment.hold audit record per 200 answer (plus the probe's in school 1)
        let audited: i64 = sqlx::query_scalar(
            "select count(*) from platform.audit_log where action = 'enrollment.hold' and tenant_id = $1",
        )
        .bind(s.tenant_id)
        .fetch_one(&db.admin)
        .await?;
        let expected = answered.len() as i64 + i64::from(i == 0);
        if audited != expected {
            problems.push(format!(
                "{}: {audited} enrollment.hold audit records, expected {expected}",
                s.code
            ));
        }
    }
    let queued: i64 = sqlx::query_scalar("select count(*) from platform.audit_pending")
        .fetch_one(&db.admin)
        .await?;
    println!("audit records still queued for the sealer when the checks began: {queued}");
    let report = afterschool::audit::verify(&db.admin, &keys.audit).await?;
    if !report.is_intact() {
        problems.push(format!("audit chain broken: {report:?}"));
    }
    let total_taken: i64 = {
        let mut t = 0i64;
        for s in &schools {
            let n: i64 = sqlx::query_scalar(&format!(
                "select coalesce(sum(taken), 0)::bigint from {}.course_seats",
                s.schema
            ))
            .fetch_one(&db.admin)
            .await?;
            t += n;
        }
        t
    };
    println!(
        "checks ({:.1} s): {} places taken of {}, {} live enrollments = {} answers 200, audit chain {} records intact: {}",
        started.elapsed().as_secs_f64(),
        total_taken,
        o.schools * o.courses * o.capacity,
        total_taken,
        ok,
        report.checked,
        if problems.is_empty() { "all passed" } else { "FAILED" }
    );
    println!("  per course: taken == live enrollments <= capacity; courses answered ENROLL_FULL are full");
    println!("  per school: live enrollments == the 200 answers (same ids, courses, children); no child or (course, child) twice");
    println!("  per school: one enrollment.hold audit record per 200 answer; audit chain verifies");
    for p in problems.iter().take(40) {
        println!("FAIL: {p}");
    }
    if !problems.is_empty() {
        passed = false;
    }

    // --- issue #15: the confirmation with and without its outbox event ----------------------
    if o.push_compare > 0 {
        let compared = push::push_compare(
            &db,
            &client,
            &address,
            &schools,
            &admin_tokens,
            o,
            o.push_compare,
        )
        .await?;
        passed &= compared;
    }

    // --- pgbench with the same statements --------------------------------------------------
    // pgbench's records carry no valid MAC: the sealer stops here, with the checks done.
    sealer.abort();
    if !o.pgbench {
        let _ = std::fs::remove_dir_all(&objects);
        return Ok(passed);
    }
    let scripts = dir.join("pgbench");
    std::fs::create_dir_all(&scripts)?;
    let mut files = Vec::new();
    for s in &schools {
        let text = SCRIPT_TEMPLATE
            .replace("{{parent_request}}", common::PARENT_REQUEST_SQL)
            .replace("{{schema}}", &s.schema)
            .replace("{{role}}", &s.role)
            .replace("{{code}}", &s.code)
            .replace("{{tenant_id}}", &s.tenant_id.to_string())
            .replace("{{school}}", &s.n.to_string())
            .replace("{{students}}", &s.families.len().to_string())
            .replace("{{courses}}", &s.courses.len().to_string());
        let path = scripts.join(format!("booking_{}.sql", s.code));
        std::fs::write(&path, text)?;
        files.push(path);
    }
    println!(
        "\n--- pgbench script (benches/rush/booking.sql as generated for {}; one copy per school) ---",
        schools[0].code
    );
    print!("{}", std::fs::read_to_string(&files[0])?);
    println!("---");
    let bench = Pgbench {
        db: &db,
        url: cluster.url("bench"),
        schools: &schools,
        files: &files,
        base,
        secs: o.pgbench_secs,
        clock: clock.clone(),
    };
    let run = bench.run(o.pgbench_clients).await?;
    // For reference: as many pgbench clients as the server has database connections.
    let tps_pool = if o.pool != o.pgbench_clients && arg("--pgbench-pool-run", 1) == 1 {
        bench.run(o.pool).await?.map(|r| r.0)
    } else {
        None
    };
    let checks = if problems.is_empty() && other.is_empty() {
        "passed"
    } else {
        "FAILED"
    };
    match run {
        Some((tps, pg_p99)) => {
            println!(
                "\nRESULT: server {rps:.0} req/s ({:.0} holds/s) vs pgbench -c {} {tps:.0} tps on the same statements: ratio {:.2} (holds only {:.2}; goal >= 0.50); p99 {:.1} ms at {} clients (goal < 100 ms; pgbench alone on the same statements at {} clients: p99 {:.1} ms); checks {checks}",
                ok as f64 / wall.as_secs_f64(),
                o.pgbench_clients,
                rps / tps,
                ok as f64 / wall.as_secs_f64() / tps,
                ms(percentile(&lat, 0.99)),
                o.clients,
                o.pgbench_clients,
                pg_p99,
            );
            if let Some(t) = tps_pool {
                println!(
                    "        reference: pgbench -c {} (the server's pool size) {t:.0} tps: ratio {:.2} (holds only {:.2})",
                    o.pool,
                    rps / t,
                    ok as f64 / wall.as_secs_f64() / t
                );
            }
        }
        None => {
            println!("pgbench failed");
            passed = false;
        }
    }
    let _ = std::fs::remove_dir_all(&objects);
    Ok(passed)
}
