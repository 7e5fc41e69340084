//! Meals figures of issue #16, against the real server over HTTP on a private PostgreSQL
//! cluster (default durability), on a clock that starts at 2026-10-11 20:00 CST and runs
//! with real time:
//!
//! 1. **Ordering rush**: `--schools` (20) schools × `--students` (2,000) students (one
//!    guardian each, imported over HTTP). Each school publishes one lunch item (12.50 a
//!    served day) for November 2026, whose window opens 20 days before the month, at
//!    2026-10-12 00:00 CST; every `--tight-every`-th school (2) gives it a daily capacity of
//!    `--tight-percent` (90) % of its students, the others exactly their number of students.
//!    A probe order before the window opens must be refused (`MEAL_WINDOW_CLOSED`). The
//!    clock is then moved to the instant the window opens and every parent orders at once,
//!    `--clients` (200) requests in flight; `--duplicates` (5) % of the parents send the
//!    same order a second time (a double tap). Checks by SQL as the owner, per school: only
//!    200, `MEAL_SOLD_OUT` and `MEAL_ALREADY_ORDERED` answers; the live orders are exactly
//!    the 200 answers (same ids, children, item), every refusal left no order row, no child
//!    with two live orders for the period, one slot row per live order; per item and served
//!    day, the confirmed and held orders never exceed the capacity and the counter row says
//!    the same; a school answered `MEAL_SOLD_OUT` only once full; a school with enough
//!    places ordered for every child, a short one filled exactly; `MEAL_ALREADY_ORDERED`
//!    only for children who got their order; one `meals.order.create` audit record per
//!    order and the audit chain intact. Figures: requests per second, p50/p95/p99.
//! 2. **Canteen count**: a `--canteen-students` (3,000) student school orders lunch, an
//!    alternative lunch, afternoon tea and a lunch + tea package over HTTP (5 % of the
//!    children with allergies recorded), the orders are confirmed by SQL (a seeding shortcut:
//!    the payment path is measured in part 3) and staff register stops for some children on
//!    the counted day; then `GET /school/meals/counts?day=2026-11-16` is timed
//!    `--canteen-requests` (50) times one after the other (p50/p95/max; goal < 200 ms), and
//!    every answer's totals checked against the orders; the .xlsx download is timed too.
//! 3. **Refund batch**: `--stops` (2,000) rush orders of schools with enough places are
//!    paid over HTTP (payments order, the simulator's cashier, its callback; `--pay-parallel`
//!    (8) at a time: creating a payment order holds a pooled connection while it calls
//!    WeChat, and the in-process simulator answers from the same pool, so as many payments
//!    at once as the pool has connections starve it), a school admin registers one stop for
//!    each child (one to five served days), then each school runs
//!    `POST /school/meals/refund-batches` for November, raced by a second batch in the first
//!    school (`MEAL_REFUND_BATCH_RUNNING`); the refund desk (`GET
//!    /school/meals/refund-batches`) is polled until each batch shows 已到账 (the outbox
//!    worker submits the refunds, the WeChat Pay simulator completes them after
//!    `wechatpay.sim.refund_delay_secs` (5 s) and calls back), then every stop's progress is
//!    read as its parent sees it (`GET /school/children/{id}/meals/stops`: 已到账; the
//!    admin's `GET /school/meals/stops?status=approved` lists only the newest 500). Figure:
//!    time from the batch to the last refund arrived. Checks: one WeChat refund per
//!    payment, each of exactly its stopped days' price, all succeeded;
//!    every stopped day given back once; a batch run again refunds nothing; for every meal
//!    line paid = released + refunded + reserved + held (held from the ledger's entries) and
//!    `ledger::verify_balances` clean.
//! 4. **pgbench** on the same cluster with the statements the server issued for one order,
//!    read from the server log of a probe order made with `log_statement = 'all'` (template
//!    `benches/meals/order.sql`, one copy per school), at the server's pool size
//!    (`--pool`, 32) and optionally `--pgbench-ref-clients N` clients; the ratio of the
//!    rush's requests per second to pgbench's transactions per second (goal ≥ 0.5). It runs
//!    last: it empties the rush schools' orders and its audit records carry no valid MAC.
//!
//! The outbox worker (default settings), every feature's background job and the
//! simulator's delivery (every `--sim-tick-ms`, 100) run as `afterschool serve` runs them.
//!
//! Run: `cargo bench --bench meals` (`-- --schools 20 --students 2000 --clients 200
//! --tight-every 2 --tight-percent 90 --duplicates 5 --canteen-students 3000
//! --canteen-requests 50 --stops 2000 --pay-parallel 8 --sim-tick-ms 100 --refund-timeout 900
//! --pgbench-secs 20 --pool 32 --seed 2026` are the defaults; `--canteen 0`, `--refunds 0`,
//! `--pgbench 0` skip a part). A smaller run: `-- --schools 4 --students 300
//! --canteen-students 500 --stops 200 --pgbench-secs 5`.
//! Exits non-zero when a check fails.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use afterschool::auth::service as auth_service;
use afterschool::clock::Clock;
use afterschool::config::DatabaseSettings;
use afterschool::db::embedded::ClusterOptions;
use afterschool::db::Database;
use afterschool::keys::Keys;
use afterschool::tenancy::migrate::TenantSets;
use chrono::{NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

#[path = "common/mod.rs"]
mod common;
use common::{arg, load, ms, percentile, print_activity, BenchClock, Sampler, Tenant};
#[path = "meals/canteen.rs"]
mod canteen;
#[path = "meals/ordering.rs"]
mod ordering;
use ordering::{live_orders, rush};
#[path = "meals/pgbench.rs"]
mod pgbench;
#[path = "meals/refunds.rs"]
mod refunds;

/// The ordering period of the rush: November 2026.
const PERIOD: &str = "2026-11-01";
/// The lunch's price per served day.
const PRICE: &str = "12.50";

#[derive(Debug, Clone, Copy)]
struct Opts {
    schools: usize,
    students: usize,
    clients: usize,
    tight_every: usize,
    tight_percent: usize,
    duplicates: usize,
    canteen: bool,
    canteen_students: usize,
    canteen_requests: usize,
    refunds: bool,
    stops: usize,
    /// payments made at once while seeding the refund part
    pay_parallel: usize,
    refund_timeout_secs: u64,
    sim_tick_ms: u64,
    pgbench: bool,
    pgbench_secs: usize,
    pgbench_ref_clients: usize,
    pool: usize,
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The server's warnings and errors on stderr (`AFTERSCHOOL_LOG` overrides the filter).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AFTERSCHOOL_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let o = Opts {
        schools: arg("--schools", 20).clamp(1, 98),
        students: arg("--students", 2000).clamp(1, 99_999),
        clients: arg("--clients", 200).max(1),
        tight_every: arg("--tight-every", 2),
        tight_percent: arg("--tight-percent", 90).clamp(1, 99),
        duplicates: arg("--duplicates", 5).min(100),
        canteen: arg("--canteen", 1) != 0,
        canteen_students: arg("--canteen-students", 3000).clamp(20, 99_999),
        canteen_requests: arg("--canteen-requests", 50).max(1),
        refunds: arg("--refunds", 1) != 0,
        stops: arg("--stops", 2000).max(1),
        pay_parallel: arg("--pay-parallel", 8).max(1),
        refund_timeout_secs: arg("--refund-timeout", 900) as u64,
        sim_tick_ms: arg("--sim-tick-ms", 100).max(100) as u64,
        pgbench: arg("--pgbench", 1) != 0,
        pgbench_secs: arg("--pgbench-secs", 20).max(1),
        pgbench_ref_clients: arg("--pgbench-ref-clients", 0),
        pool: arg(
            "--pool",
            DatabaseSettings::default().max_connections as usize,
        )
        .max(1),
        seed: arg("--seed", 2026) as u64,
    };
    let opts = ClusterOptions {
        max_connections: (o.pool.max(o.pgbench_ref_clients) + o.pool + 80).max(200) as u32,
        durability_off: false,
    };
    let pc = common::PrivateCluster::start("meals", &opts)?;
    let result = run(&pc, o).await;
    pc.stop()?;
    common::exit_with(result)
}

/// One school of the rush.
struct School {
    /// 1-based number, part of the pgbench session tokens
    n: usize,
    t: Tenant,
    /// the school admin's session token
    admin: String,
    /// (student id, guardian account id), by student id
    families: Vec<(i64, i64)>,
    /// the lunch item and its daily capacity
    item: i64,
    capacity: usize,
    tight: bool,
}

/// What the benchmark's parts share.
struct Bench<'a> {
    db: &'a Database,
    client: reqwest::Client,
    address: String,
    clock: Arc<BenchClock>,
    keys: Keys,
    /// parent session tokens by (school number, student id)
    tokens: HashMap<(usize, i64), String>,
    /// random base of the parent tokens (pgbench derives them)
    base: i64,
}

impl Bench<'_> {
    fn api(&self, code: &str, path: &str) -> String {
        format!("{}/t/{code}/api/v1{path}", self.address)
    }

    /// A JSON request as `token`; (status, body). Transport errors are status 0.
    async fn call(
        &self,
        method: reqwest::Method,
        code: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .client
            .request(method, self.api(code, path))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        common::answer(r.send().await).await
    }

    /// As [`Bench::call`], requiring a 200.
    async fn ok(
        &self,
        method: reqwest::Method,
        code: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (s, b) = self.call(method.clone(), code, path, token, body).await;
        anyhow::ensure!(s == 200, "{method} {code} {path}: {s} {b}");
        Ok(b)
    }

    /// Sessions of everybody last seen five minutes ago (after the clock moved), so none
    /// runs out idle and the guard touches each on its next request.
    async fn refresh_sessions(&self) -> anyhow::Result<()> {
        sqlx::query("update platform.sessions set last_seen_at = $1 where revoked_at is null")
            .bind(self.clock.now() - chrono::Duration::minutes(5))
            .execute(&self.db.admin)
            .await?;
        Ok(())
    }
}

/// The session token of the guardian of `student` in school `n`: a random base per run plus
/// a number pgbench can derive (`:base + :school * 1000000 + :sid`).
fn token_of(base: i64, n: usize, student: i64) -> String {
    (base + n as i64 * 1_000_000 + student).to_string()
}

/// An instant in China Standard Time.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    afterschool::clock::cst()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now)
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
}

/// November's window opens 20 days before the month (2026-10-12 00:00 CST) and closes at
/// the end of October; unpaid orders are held a day (the refund part pays them later).
async fn set_rules(b: &Bench<'_>, code: &str, admin: &str) -> anyhow::Result<()> {
    b.ok(
        reqwest::Method::PATCH,
        code,
        "/school/meals/rules",
        admin,
        Some(json!({ "opens_days_before": 20, "closes_days_before": 1, "hold_minutes": 1440 })),
    )
    .await?;
    Ok(())
}

/// Creates and publishes a meal item; its id.
async fn publish_item(b: &Bench<'_>, code: &str, admin: &str, item: Value) -> anyhow::Result<i64> {
    let v = b
        .ok(
            reqwest::Method::POST,
            code,
            "/school/meals/items",
            admin,
            Some(item),
        )
        .await?;
    let id = v["id"]
        .as_i64()
        .ok_or_else(|| anyhow::anyhow!("item without id: {v}"))?;
    b.ok(
        reqwest::Method::POST,
        code,
        &format!("/school/meals/items/{id}/publish"),
        admin,
        None,
    )
    .await?;
    Ok(id)
}

/// The rush's lunch of a school.
fn lunch(capacity: usize) -> Value {
    json!({ "code": "lunch", "kind": "lunch", "name": "标准午餐", "price": PRICE,
            "levels": [1, 2, 3, 4, 5, 6], "daily_capacity": capacity,
            "allergens": ["egg", "soy"] })
}

async fn run(pc: &common::PrivateCluster, o: Opts) -> anyhow::Result<bool> {
    let total_started = Instant::now();
    let settings = DatabaseSettings {
        max_connections: o.pool as u32,
        ..DatabaseSettings::default()
    };
    let db = pc.database(&settings).await?;
    let sets = TenantSets::embedded()?;
    println!(
        "afterschool meals: ordering rush of {} schools x {} students (one guardian each), {} requests in flight, \
         server pool {} connections; canteen count of a {}-student school; refund batch of {} stops",
        o.schools,
        o.students,
        o.clients,
        o.pool,
        if o.canteen { o.canteen_students } else { 0 },
        if o.refunds { o.stops } else { 0 }
    );

    // --- schools --------------------------------------------------------------------------
    let started = Instant::now();
    let mut tenants = Vec::new();
    for n in 1..=o.schools {
        tenants.push(common::provision_school(&db, &sets, &format!("rush{n}")).await?);
    }
    let canteen_n = o.schools + 1;
    let canteen_tenant = if o.canteen {
        Some(common::provision_school(&db, &sets, "canteen").await?)
    } else {
        None
    };
    println!(
        "setup: {} schools provisioned in {:.1} s",
        tenants.len() + usize::from(o.canteen),
        started.elapsed().as_secs_f64()
    );

    // The evening before November's window opens.
    let clock = Arc::new(BenchClock::starting_at(cst(2026, 10, 11, 20, 0)));
    let keys = Keys::ephemeral();
    let (state, port) = common::serve(
        &db,
        clock.clone() as Arc<dyn Clock>,
        &keys,
        &pc.dir.join("objects"),
    )
    .await?;
    let background = common::Background::start(
        &state,
        afterschool::outbox::OutboxSettings::default(),
        Duration::from_millis(o.sim_tick_ms),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(o.clients + 16)
        .timeout(Duration::from_secs(120))
        .build()?;
    let mut bench = Bench {
        db: &db,
        client,
        address: format!("http://127.0.0.1:{port}"),
        clock: clock.clone(),
        keys: keys.clone(),
        tokens: HashMap::new(),
        base: rand::thread_rng().gen_range(1_000_000_000_000..9_000_000_000_000),
    };

    // --- admins, rosters (over HTTP), rules and the lunch --------------------------------------
    let mut admins = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        let phone = format!("139000001{:02}", i + 1);
        admins.push(
            common::school_admin_session(&db, &keys, clock.as_ref(), &phone, t.tenant_id).await?,
        );
    }
    let canteen_admin = match &canteen_tenant {
        Some(t) => Some(
            common::school_admin_session(
                &db,
                &keys,
                clock.as_ref(),
                &format!("139000001{canteen_n:02}"),
                t.tenant_id,
            )
            .await?,
        ),
        None => None,
    };
    let started = Instant::now();
    let mut rosters: Vec<(&Tenant, &str, usize, u64)> = tenants
        .iter()
        .zip(&admins)
        .enumerate()
        .map(|(i, (t, a))| {
            (
                t,
                a.as_str(),
                o.students,
                19_000_000_000 + (i as u64 + 1) * 100_000,
            )
        })
        .collect();
    if let (Some(t), Some(a)) = (&canteen_tenant, &canteen_admin) {
        rosters.push((
            t,
            a.as_str(),
            o.canteen_students,
            19_000_000_000 + canteen_n as u64 * 100_000,
        ));
    }
    common::import_rosters(&bench.client, &bench.address, &db.admin, &rosters, 2).await?;
    let imported = o.schools * o.students + if o.canteen { o.canteen_students } else { 0 };
    println!(
        "setup: {imported} students + {imported} guardians imported over HTTP in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut schools = Vec::with_capacity(o.schools);
    for (i, (t, admin)) in tenants.into_iter().zip(admins).enumerate() {
        let n = i + 1;
        let tight = o.tight_every > 0 && (n - 1) % o.tight_every == 0;
        let capacity = if tight {
            (o.students * o.tight_percent / 100).max(1)
        } else {
            o.students
        };
        set_rules(&bench, &t.code, &admin).await?;
        let item = publish_item(&bench, &t.code, &admin, lunch(capacity)).await?;
        let families = common::families(&db.admin, &t.schema).await?;
        anyhow::ensure!(
            families.len() == o.students,
            "{}: expected {} students with one guardian, found {}",
            t.code,
            o.students,
            families.len()
        );
        // pgbench picks ids with random(1, n): they must be 1..n.
        anyhow::ensure!(
            families
                .iter()
                .enumerate()
                .all(|(i, f)| f.0 == i as i64 + 1)
                && item == 1,
            "{}: student ids are not 1..n or the lunch is not item 1",
            t.code
        );
        schools.push(School {
            n,
            t,
            admin,
            families,
            item,
            capacity,
            tight,
        });
    }
    let canteen_school = match (canteen_tenant, canteen_admin) {
        (Some(t), Some(admin)) => {
            set_rules(&bench, &t.code, &admin).await?;
            let families = common::families(&db.admin, &t.schema).await?;
            Some(canteen::Canteen::publish(&bench, canteen_n, t, admin, families).await?)
        }
        _ => None,
    };

    // --- parent sessions, straight into platform.sessions (no argon2 sign-ins) -----------
    let mut sessions: Vec<(String, i64)> = Vec::new();
    let mut all_families: Vec<(usize, &[(i64, i64)])> = schools
        .iter()
        .map(|s| (s.n, s.families.as_slice()))
        .collect();
    if let Some(c) = &canteen_school {
        all_families.push((c.n, c.families.as_slice()));
    }
    for (n, families) in all_families {
        for (student, account) in families {
            let t = token_of(bench.base, n, *student);
            sessions.push((t.clone(), *account));
            bench.tokens.insert((n, *student), t);
        }
    }
    common::insert_sessions(&db.admin, &sessions, clock.now()).await?;
    let tight: Vec<String> = schools
        .iter()
        .filter(|s| s.tight)
        .map(|s| format!("{} ({} places)", s.t.code, s.capacity))
        .collect();
    println!(
        "setup: rules and a published lunch ({PRICE} a served day) in every school, capacity below the number of \
         students in {}: {}; {} parent sessions; setup total {:.1} s",
        tight.len(),
        tight.join(", "),
        sessions.len(),
        total_started.elapsed().as_secs_f64()
    );

    // --- before the window opens: an order is refused ------------------------------------------
    let probe = &schools[0];
    let (probe_student, _) = probe.families[0];
    let probe_token = bench.tokens[&(probe.n, probe_student)].clone();
    let order_body = |student: i64, item: i64| json!({ "student_id": student, "period_start": PERIOD, "item_id": item });
    let (s, b) = bench
        .call(
            reqwest::Method::POST,
            &probe.t.code,
            "/school/meals/orders",
            &probe_token,
            Some(order_body(probe_student, probe.item)),
        )
        .await;
    let mut passed = true;
    if (s, b["code"].as_str()) != (409, Some("MEAL_WINDOW_CLOSED")) {
        println!("FAIL: an order before the window opened answered {s} {b}");
        passed = false;
    } else {
        println!(
            "before the window (clock {}): an order is refused 409 MEAL_WINDOW_CLOSED",
            clock.now().with_timezone(&afterschool::clock::cst())
        );
    }

    // --- the window opens: one probe order with every statement logged ---------------------
    clock.set(cst(2026, 10, 12, 0, 0));
    bench.refresh_sessions().await?;
    sqlx::raw_sql("vacuum analyze").execute(&db.admin).await?;
    let log_path = pc.cluster.data_dir().join("server.log");
    let ((probe_status, probe_body), probe_log) = common::logged(&db.admin, &log_path, async {
        Ok(bench
            .call(
                reqwest::Method::POST,
                &probe.t.code,
                "/school/meals/orders",
                &probe_token,
                Some(order_body(probe_student, probe.item)),
            )
            .await)
    })
    .await?;
    anyhow::ensure!(
        probe_status == 200,
        "probe order failed: {probe_status} {probe_body}"
    );
    println!(
        "\n--- statements the server issued for one order (server log, log_statement = 'all') ---"
    );
    println!("{}", probe_log.trim_end());
    println!("--- {} statements ---\n", common::statements_in(&probe_log));
    let served_days: Vec<String> = probe_body["days"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let probe_id = probe_body["id"].as_i64().unwrap_or_default();
    println!(
        "November 2026: {} served days ({} .. {}), {} yuan an order",
        served_days.len(),
        served_days.first().map_or("?", String::as_str),
        served_days.last().map_or("?", String::as_str),
        probe_body["amount"].as_str().unwrap_or("?")
    );
    // The probe's order is cancelled through the API and its session made stale again, so
    // that family orders in the rush like every other one.
    bench
        .ok(
            reqwest::Method::POST,
            &probe.t.code,
            &format!("/school/meals/orders/{probe_id}/cancel"),
            &probe_token,
            None,
        )
        .await?;
    sqlx::query("update platform.sessions set last_seen_at = $2 where token_hash = $1")
        .bind(auth_service::token_hash(&probe_token))
        .bind(clock.now() - chrono::Duration::minutes(5))
        .execute(&db.admin)
        .await?;

    // --- the rush ------------------------------------------------------------------------
    let rush = rush(&bench, &schools, o, probe_id, served_days.len()).await?;
    passed &= rush.checks_passed;

    // --- canteen count ---------------------------------------------------------------------
    let canteen_figures = match &canteen_school {
        Some(c) => {
            let (ok, f) = c.run(&bench, o).await?;
            passed &= ok;
            Some(f)
        }
        None => None,
    };

    // --- refund batch ------------------------------------------------------------------------
    let refund_figures = if o.refunds {
        let (ok, f) = refunds::run(&bench, &schools, o, &served_days).await?;
        passed &= ok;
        f
    } else {
        None
    };

    // --- pgbench with the same statements --------------------------------------------------
    // pgbench's audit records carry no valid MAC and it empties the rush schools' orders:
    // the background work stops here, with the other parts done.
    background.stop().await;
    let pg = if o.pgbench {
        pgbench::run(&bench, pc, &schools, o, &served_days).await?
    } else {
        None
    };
    if o.pgbench && pg.is_none() {
        passed = false;
    }

    // --- results ---------------------------------------------------------------------------
    println!();
    println!(
        "RESULT ordering rush: {} requests ({} orders) in flight {}: {:.0} req/s ({:.0} orders/s); latency p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms; checks {}",
        rush.requests,
        rush.orders,
        o.clients,
        rush.rps,
        rush.orders_per_sec,
        ms(rush.p50),
        ms(rush.p95),
        ms(rush.p99),
        if rush.checks_passed { "passed (none lost, none doubled, capacity held)" } else { "FAILED" }
    );
    if let Some((tps, pg_p99, reference)) = pg {
        println!(
            "RESULT ordering rush vs pgbench -c {} (the server's pool) on the same statements: {tps:.0} tps (p99 {pg_p99:.1} ms): ratio {:.2} (orders only {:.2}; goal >= 0.50)",
            o.pool,
            rush.rps / tps,
            rush.orders_per_sec / tps
        );
        if let Some((clients, t)) = reference {
            println!(
                "       reference: pgbench -c {clients} {t:.0} tps: ratio {:.2}",
                rush.rps / t
            );
        }
    }
    if let Some(c) = canteen_figures {
        println!(
            "RESULT canteen count, {}-student school, {} counted: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} requests (goal < 200 ms: {}); .xlsx p50 {:.1} ms",
            o.canteen_students,
            c.total,
            ms(c.p50),
            ms(c.p95),
            ms(c.max),
            o.canteen_requests,
            if c.p95 < Duration::from_millis(200) { "met" } else { "MISSED" },
            ms(c.xlsx_p50)
        );
    }
    if let Some(r) = refund_figures {
        println!(
            "RESULT refund batch: {} stops, {} WeChat refunds ({} yuan) in {} batch(es): batch answered in {:.2} s, all submitted to WeChat after {:.1} s, all succeeded at WeChat after {:.1} s, every refund arrived (已到账) after {:.1} s; ledger invariant {}",
            r.stops,
            r.refunds,
            r.amount,
            r.batches,
            r.batch_secs,
            r.submitted_secs,
            r.succeeded_secs,
            r.arrived_secs,
            if r.invariant_ok { "holds (paid = released + refunded + reserved + held on every meal line, verify_balances clean)" } else { "BROKEN" }
        );
    }
    println!(
        "total {:.1} s; load average now {}",
        total_started.elapsed().as_secs_f64(),
        load()
    );
    Ok(passed)
}

/// Runs `f` over `items`, `parallel` at a time, and collects the answers in order.
async fn in_parallel<T, R, F, Fut>(items: Vec<T>, parallel: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    futures::stream::iter(items.into_iter().map(f))
        .buffered(parallel.max(1))
        .collect()
        .await
}

/// Where the pgbench scripts go.
fn scripts_dir(pc: &common::PrivateCluster) -> PathBuf {
    pc.dir.join("pgbench")
}
