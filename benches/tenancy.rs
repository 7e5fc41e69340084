//! Tenancy figures of issue #2, on a private PostgreSQL cluster with default durability:
//! - provisioning one tenant (role, schema, migrations, seed): p50/p95/max;
//! - `migrate` with nothing to do over N tenants;
//! - an additive migration (one column plus one index) over N tenants.
//!
//! Run: `cargo bench --bench tenancy` (`-- --tenants 500 --jobs 2` to change the defaults).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use afterschool::config::DatabaseSettings;
use afterschool::db::embedded::ClusterOptions;
use afterschool::tenancy::manifest;
use afterschool::tenancy::migrate::{migrate_all, TenantSets};
use afterschool::tenancy::provision::apply_one;
use afterschool::tenancy::sample::small_school_manifest;

#[path = "common/mod.rs"]
mod common;
use common::{arg, ms};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let tenants = arg("--tenants", 500);
    let jobs = arg("--jobs", 2);
    let pc = common::PrivateCluster::start("tenancy", &ClusterOptions::default())?;
    let result = run(&pc, tenants, jobs).await;
    pc.stop()?;
    result
}

async fn run(pc: &common::PrivateCluster, tenants: usize, jobs: usize) -> anyhow::Result<()> {
    let db = pc.database(&DatabaseSettings::default()).await?;
    let sets = TenantSets::embedded()?;
    sets.check_catalog(&db.admin).await?;

    println!("afterschool tenancy benchmark: {tenants} tenants, {jobs} parallel jobs");
    let mut times = Vec::with_capacity(tenants);
    for i in 0..tenants {
        let code = format!("bench{i:04}");
        let m = manifest::parse(
            &PathBuf::from(format!("{code}.toml")),
            &small_school_manifest(&code),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let started = Instant::now();
        apply_one(&db.admin, &db.roles, &sets, &m).await?;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "provision one tenant:        p50 {:7.1} ms   p95 {:7.1} ms   max {:7.1} ms   (n = {})",
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(*times.last().unwrap_or(&Duration::ZERO)),
        times.len()
    );

    let mut noop = Vec::new();
    for _ in 0..5 {
        let r = migrate_all(&db.admin, &sets, jobs).await?;
        anyhow::ensure!(r.results.is_empty(), "expected nothing to do");
        noop.push(r.elapsed);
    }
    noop.sort();
    println!(
        "migrate, nothing to do:      median {:7.1} ms   max {:7.1} ms   over {tenants} tenants (5 runs)",
        ms(percentile(&noop, 0.5)),
        ms(*noop.last().unwrap_or(&Duration::ZERO))
    );

    let mut next = sets.clone();
    next.school = next.school.with_extra(
        "bench_additive",
        "alter table classes add column motto text; create index classes_motto on classes (motto);",
    );
    let r = migrate_all(&db.admin, &next, jobs).await?;
    anyhow::ensure!(r.failed() == 0, "{}", r.table());
    anyhow::ensure!(r.results.len() == tenants, "every tenant migrated");
    println!(
        "additive migration:          {:7.1} ms total   ({:.1} ms per tenant) over {tenants} tenants",
        ms(r.elapsed),
        ms(r.elapsed) / tenants as f64
    );
    db.shutdown().await;
    Ok(())
}
