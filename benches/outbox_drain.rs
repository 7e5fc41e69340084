//! The outbox and the city supervision push (issue #15), measured against the receiver
//! simulator over real HTTP on a private PostgreSQL cluster (default durability):
//!
//! 1. **Drain**: `--events` (100,000) `supervision.push` events queued at once, `--versions`
//!    (5) versions each of `events / versions` records, drained by the worker
//!    (`--lanes` lanes). `--outage` seconds (60) after the first fifth was taken, the
//!    receiver refuses everything (HTTP 503), then takes requests again. The worker is
//!    killed mid-delivery (its task aborted, its transactions dropped) once and started
//!    again. Checks at the receiver, by SQL as the owner: every message id taken exactly
//!    once, each record at its last version, no message older than its record's stored
//!    version (per-entity order), nothing left pending or dead. Figure: events per second
//!    while the receiver takes requests (the wall time less the outage), and the wall time.
//! 2. **Latency**: `--rate` (200) changes per second for `--secs` (20) seconds, each its own
//!    committed transaction; commit-to-receiver latency (the event's `created_at` to the
//!    receiver's `received_at`), p50/p95/p99/max.
//!
//! Run: `cargo bench --bench outbox_drain` (`-- --events 100000 --versions 5 --outage 60
//! --lanes 4 --rate 200 --secs 20` are the defaults). Exits non-zero when a check fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use afterschool::clock::{Clock, SystemClock};
use afterschool::config::DatabaseSettings;
use afterschool::db::embedded::ClusterOptions;
use afterschool::http;
use afterschool::keys::Keys;
use afterschool::outbox::{OutboxSettings, Worker};
use afterschool::supervision::push;
use afterschool::supervision::sim::{self, Fault};

#[path = "common/mod.rs"]
mod common;
use common::arg;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pc = common::PrivateCluster::start(
        "outbox",
        &ClusterOptions {
            max_connections: 200,
            durability_off: false,
        },
    )?;
    let result = run(&pc).await;
    pc.stop()?;
    common::exit_with(result)
}

fn settings(lanes: usize) -> OutboxSettings {
    OutboxSettings {
        lanes,
        claim: 100,
        max_attempts: 1000,
        backoff_base_ms: 200,
        backoff_max_ms: 5000,
        poll_ms: 200,
        ..Default::default()
    }
}

async fn scalar(db: &sqlx::PgPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(db).await?)
}

async fn run(pc: &common::PrivateCluster) -> anyhow::Result<bool> {
    let events = arg("--events", 100_000).max(1);
    let versions = arg("--versions", 5).clamp(1, events);
    let outage = arg("--outage", 60) as u64;
    let lanes = arg("--lanes", 4).max(1);
    let rate = arg("--rate", 200).max(1);
    let secs = arg("--secs", 20).max(1);

    let db = pc.database(&DatabaseSettings::default()).await?;
    let keys = Keys::ephemeral();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (state, _port) = common::serve(&db, clock, &keys, &pc.dir.join("objects")).await?;
    let handlers = http::features::outbox_handlers();
    let mut ok = true;

    // --- 1. drain ---------------------------------------------------------------------
    let entities = events / versions;
    let total = entities * versions;
    let started = Instant::now();
    let mut conn = db.app.acquire().await?;
    for v in 0..versions {
        for chunk in (0..entities).collect::<Vec<_>>().chunks(2000) {
            let rs = chunk
                .iter()
                .map(|e| {
                    push::evaluation_record(&format!("ev-{e}"), "S1", "C1", 4, &format!("第{v}版"))
                })
                .collect();
            push::records(&mut conn, &keys.pii, None, rs).await?;
        }
    }
    drop(conn);
    println!(
        "drain: {total} events queued ({entities} records x {versions} versions) in {:.1} s; {lanes} lanes, \
         batches of 100, receiver outage {outage} s, one worker kill",
        started.elapsed().as_secs_f64()
    );
    let taken = || async {
        sim::counters(&db.app)
            .await
            .map(|c| c.messages)
            .unwrap_or(0)
    };
    let started = Instant::now();
    let mut worker = tokio::spawn(
        Worker::new(state.clone(), handlers.clone(), settings(lanes)).run(std::future::pending()),
    );
    let mut killed = false;
    let mut outage_started: Option<Instant> = None;
    let mut outage_secs = 0.0;
    loop {
        let n = taken().await as usize;
        if !killed && n >= total / 10 {
            worker.abort();
            let _ = (&mut worker).await;
            println!(
                "  worker killed at {n} taken ({:.1} s); started again",
                started.elapsed().as_secs_f64()
            );
            worker = tokio::spawn(
                Worker::new(state.clone(), handlers.clone(), settings(lanes))
                    .run(std::future::pending()),
            );
            killed = true;
        }
        if outage > 0 && outage_started.is_none() && n >= total / 5 {
            sim::set_fault(&db.app, Fault::Refuse, 0).await?;
            outage_started = Some(Instant::now());
            println!(
                "  receiver refusing from {n} taken ({:.1} s)",
                started.elapsed().as_secs_f64()
            );
        }
        if let Some(t) = outage_started {
            if outage_secs == 0.0 && t.elapsed() >= Duration::from_secs(outage) {
                sim::set_fault(&db.app, Fault::None, 0).await?;
                outage_secs = t.elapsed().as_secs_f64();
                println!("  receiver taking requests again after {outage_secs:.1} s");
            }
        }
        let pending = scalar(
            &db.app,
            "select count(*) from platform.outbox where state = 'pending'",
        )
        .await?;
        if pending == 0 && (outage == 0 || outage_secs > 0.0) {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            println!("FAIL: not drained after 30 minutes ({pending} pending)");
            ok = false;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    worker.abort();
    let c = sim::counters(&db.app).await?;
    let stored: i64 = scalar(&db.admin, "select count(*) from platform.supsim_records").await?;
    let at_last: i64 = sqlx::query_scalar(
        "select count(*) from platform.supsim_records where body->>'content' = $1",
    )
    .bind(format!("第{}版", versions - 1))
    .fetch_one(&db.admin)
    .await?;
    let dead = scalar(
        &db.admin,
        "select count(*) from platform.outbox where state = 'dead'",
    )
    .await?;
    let taking = (wall - outage_secs).max(0.001);
    println!(
        "  drained in {wall:.1} s: {:.0} events/s while the receiver took requests ({taking:.1} s), \
         {:.0} events/s over the wall time",
        total as f64 / taking,
        total as f64 / wall
    );
    println!(
        "  receiver: {} messages taken, {} redelivered (answered DUPLICATE), {} refused requests, \
         {} out of order; {stored} records, {at_last} at their last version; {dead} dead",
        c.messages, c.duplicates, c.refused, c.out_of_order
    );
    let check = |name: &str, good: bool| {
        println!("  check {name}: {}", if good { "ok" } else { "FAILED" });
        good
    };
    ok &= check(
        "zero lost (every message id taken)",
        c.messages as usize == total,
    );
    ok &= check(
        "zero duplicated (each taken once, stored once)",
        stored as usize == entities,
    );
    ok &= check(
        "per-entity order (none older than its record)",
        c.out_of_order == 0,
    );
    ok &= check(
        "every record at its last version",
        at_last as usize == entities,
    );
    ok &= check("nothing dead", dead == 0);

    // --- 2. latency -------------------------------------------------------------------
    let worker = tokio::spawn(
        Worker::new(state.clone(), handlers.clone(), settings(lanes)).run(std::future::pending()),
    );
    let first_id = scalar(&db.app, "select coalesce(max(id), 0) from platform.outbox").await?;
    let n = rate * secs;
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..n {
        tick.tick().await;
        let pool = db.app.clone();
        let k = keys.pii.clone();
        writers.spawn(async move {
            let mut conn = pool.acquire().await?;
            let r = push::evaluation_record(
                &format!("live-{}", i % 500),
                "S1",
                "C1",
                5,
                &format!("第{i}次"),
            );
            push::record(&mut conn, &k, None, r).await
        });
    }
    while let Some(r) = writers.join_next().await {
        r??;
    }
    let offered = n as f64 / started.elapsed().as_secs_f64();
    for _ in 0..600 {
        let pending = scalar(
            &db.app,
            "select count(*) from platform.outbox where state = 'pending'",
        )
        .await?;
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.abort();
    let platform_no = state.supervision.settings.platform_no.clone();
    let lat: Vec<f64> = sqlx::query_scalar(
        "select extract(epoch from m.received_at - o.created_at)::float8 * 1000
         from platform.outbox o
         join platform.supsim_messages m on m.message_id = $1 || '-' || o.id
         where o.id > $2 order by 1",
    )
    .bind(&platform_no)
    .bind(first_id)
    .fetch_all(&db.admin)
    .await?;
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "latency: {n} changes at {offered:.0}/s offered; commit to receiver p50 {:.0} ms, p95 {:.0} ms, \
         p99 {:.0} ms, max {:.0} ms ({} measured)",
        q(0.5),
        q(0.95),
        q(0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len()
    );
    ok &= check("every change measured", lat.len() == n);
    db.shutdown().await;
    Ok(ok)
}
