//! Bulk-import figure of issue #4: a generated workbook of 5,000 students with one guardian
//! each (10,000 rows) uploaded over HTTP to the real server on a private PostgreSQL cluster
//! (default durability), timed from the upload until the job reports success; then the
//! same file again (every row an update).
//!
//! Run: `cargo bench --bench import` (`-- --students 5000 --runs 3` to change the defaults).

use std::sync::Arc;
use std::time::{Duration, Instant};

use afterschool::clock::{Clock, SystemClock};
use afterschool::config::DatabaseSettings;
use afterschool::db::embedded::ClusterOptions;
use afterschool::keys::Keys;
use afterschool::people::sample;
use afterschool::tenancy::manifest;
use afterschool::tenancy::migrate::TenantSets;
use afterschool::tenancy::provision::apply_one;

#[path = "common/mod.rs"]
mod common;
use common::arg;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let students = arg("--students", 5000);
    let runs = arg("--runs", 3).max(1);
    let pc = common::PrivateCluster::start("import", &ClusterOptions::default())?;
    let result = run(&pc, students, runs).await;
    pc.stop()?;
    result
}

async fn run(pc: &common::PrivateCluster, students: usize, runs: usize) -> anyhow::Result<()> {
    let db = pc.database(&DatabaseSettings::default()).await?;
    let sets = TenantSets::embedded()?;
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("tenants/demo/school_sqsf.toml");
    let m = manifest::parse(&path, &std::fs::read_to_string(&path)?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    apply_one(&db.admin, &db.roles, &sets, &m).await?;
    let tenant_id: i64 = sqlx::query_scalar("select id from platform.tenants where code = 'sqsf'")
        .fetch_one(&db.admin)
        .await?;

    let keys = Keys::ephemeral();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let objects = pc.dir.join("objects");
    let (_state, port) = common::serve(&db, clock.clone(), &keys, &objects).await?;
    let base = format!("http://127.0.0.1:{port}/t/sqsf/api/v1");

    // A signed-in school admin, as the test harness makes one.
    let token =
        common::school_admin_session(&db, &keys, clock.as_ref(), "13900000001", tenant_id).await?;

    let classes: Vec<String> =
        sqlx::query_scalar("select name from school_sqsf.classes order by code")
            .fetch_all(&db.admin)
            .await?;
    let class_refs: Vec<&str> = classes.iter().map(String::as_str).collect();
    let started = Instant::now();
    let (s, g) = sample::roster(students, &class_refs, 19900000000);
    let bytes = sample::roster_xlsx(s, g)?;
    println!(
        "afterschool import benchmark: {students} students + {students} guardians ({} rows), workbook {:.1} MB generated in {:.2} s",
        students * 2,
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let client = reqwest::Client::new();
    for run in 1..=runs {
        let started = Instant::now();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("名单.xlsx"),
        );
        let job: serde_json::Value = client
            .post(format!("{base}/school/imports?kind=students"))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await?
            .json()
            .await?;
        let id = job["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("upload refused: {job}"))?
            .to_string();
        let accepted = started.elapsed();
        let done = loop {
            let j: serde_json::Value = client
                .get(format!("{base}/school/imports/{id}"))
                .bearer_auth(&token)
                .send()
                .await?
                .json()
                .await?;
            if j["status"] != "running" {
                break j;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        anyhow::ensure!(done["status"] == "succeeded", "import failed: {done}");
        println!(
            "run {run}: upload+check {:6.2} s, total until done {:6.2} s  (inserted {}, updated {})",
            accepted.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            done["inserted"],
            done["updated"]
        );
    }
    let n: i64 = sqlx::query_scalar("select count(*) from school_sqsf.students")
        .fetch_one(&db.admin)
        .await?;
    anyhow::ensure!(
        n as usize == students,
        "expected {students} students, found {n}"
    );
    let _ = std::fs::remove_dir_all(&objects);
    Ok(())
}
