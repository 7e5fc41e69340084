//! Part 4 of the meals benchmark: pgbench with the statements the server issued for one
//! order (`benches/meals/order.sql`, one generated copy per school), at the server's pool
//! size, against the rush schools emptied of their orders.

use super::*;

/// The pgbench script, with `{{...}}` placeholders filled in per school.
const SCRIPT_TEMPLATE: &str = include_str!("order.sql");

/// Empties the rush schools' orders (and what refers to them) and makes each lunch's
/// counter huge, so every pgbench transaction does the work of a successful order.
async fn reset(db: &Database, schools: &[School]) -> anyhow::Result<()> {
    for s in schools {
        sqlx::raw_sql(&format!(
            "delete from {schema}.meal_refund_days; delete from {schema}.meal_refund_batches;
             delete from {schema}.meal_stop_days; delete from {schema}.meal_stops;
             delete from {schema}.meal_order_slots; delete from {schema}.meal_orders;
             update {schema}.meal_capacity set taken = 0, capacity = 1000000",
            schema = s.t.schema
        ))
        .execute(&db.admin)
        .await?;
    }
    sqlx::raw_sql("vacuum analyze").execute(&db.admin).await?;
    Ok(())
}

/// Runs pgbench at the server's pool size (the figure) and, when asked, at
/// `--pgbench-ref-clients`; (tps, p99 ms, the reference's (clients, tps)), `None` when it
/// failed.
pub(super) async fn run(
    b: &Bench<'_>,
    pc: &common::PrivateCluster,
    schools: &[School],
    o: Opts,
    served_days: &[String],
) -> anyhow::Result<Option<(f64, f64, Option<(usize, f64)>)>> {
    let db = b.db;
    let dir = scripts_dir(pc);
    std::fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    for s in schools {
        let text = SCRIPT_TEMPLATE
            .replace("{{parent_request}}", common::PARENT_REQUEST_SQL)
            .replace("{{schema}}", &s.t.schema)
            .replace("{{role}}", &s.t.role)
            .replace("{{code}}", &s.t.code)
            .replace("{{tenant_id}}", &s.t.tenant_id.to_string())
            .replace("{{school}}", &s.n.to_string())
            .replace("{{students}}", &s.families.len().to_string())
            .replace("{{item}}", &s.item.to_string());
        let path = dir.join(format!("order_{}.sql", s.t.code));
        std::fs::write(&path, text)?;
        files.push(path);
    }
    println!(
        "\n--- pgbench script (benches/meals/order.sql as generated for {}; one copy per school) ---",
        schools[0].t.code
    );
    print!("{}", std::fs::read_to_string(&files[0])?);
    println!("---");
    let now = b.clock.now();
    let fmt = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string();
    let price = PRICE.parse::<f64>().unwrap_or(0.0);
    let amount = format!("{:.2}", price * served_days.len() as f64);
    let mut defines: Vec<(String, String)> = vec![
        ("base".into(), b.base.to_string()),
        ("now".into(), fmt(now)),
        ("expires".into(), fmt(now + chrono::Duration::minutes(1440))),
        ("period_start".into(), PERIOD.into()),
        ("period_end".into(), "2026-11-30".into()),
        ("days".into(), format!("{{{}}}", served_days.join(","))),
        ("price".into(), PRICE.into()),
        ("amount".into(), amount.clone()),
        (
            "details".into(),
            json!({ "student_id": 1, "item_id": 1, "package_id": null, "period_start": PERIOD,
                    "days": served_days.len(), "amount": amount, "allergy_acknowledged": false })
            .to_string(),
        ),
        ("ip".into(), "127.0.0.1".into()),
        ("action".into(), "meals.order.create".into()),
        ("object".into(), "meal_order:1".into()),
        ("outcome".into(), "success".into()),
    ];
    for s in schools {
        defines.push((format!("code{}", s.n), s.t.code.clone()));
    }
    let search_path = format!("{},platform", schools[0].t.schema);
    let mut results = Vec::new();
    let mut runs = vec![o.pool];
    if o.pgbench_ref_clients > 0 && o.pgbench_ref_clients != o.pool {
        runs.push(o.pgbench_ref_clients);
    }
    for clients in runs {
        reset(db, schools).await?;
        println!(
            "\nPGOPTIONS='-c search_path={search_path}' pgbench -n -r -c {clients} -j 2 -T {} -M prepared -D base={} \
             -D now=.. -D expires=.. -D period_start=.. -D period_end=.. -D days=.. -D price=.. -D amount=.. \
             -D details=.. -D ip=.. -D action=.. -D object=.. -D outcome=.. -D code<n>=rush<n> -f order_rush<n>.sql (x{}) <bench database url>",
            o.pgbench_secs,
            b.base,
            files.len()
        );
        let run = common::pgbench(
            &db.admin,
            &pc.cluster.url("bench"),
            clients,
            o.pgbench_secs,
            &defines,
            &files,
            &search_path,
        )
        .await?;
        run.print();
        let mut orders = Vec::new();
        for s in schools {
            let n: i64 = sqlx::query_scalar(&format!(
                "select count(*) from {}.meal_orders where status = 'held'",
                s.t.schema
            ))
            .fetch_one(&db.admin)
            .await?;
            orders.push(n);
        }
        println!(
            "pgbench -c {clients}: held orders per school afterwards {orders:?}; load average {} before, {} after",
            run.load_before,
            load()
        );
        let ok = run.success && orders.iter().all(|n| *n > 0);
        results.push((clients, run.tps.filter(|_| ok), run.latency_ms(0.99)));
    }
    let Some((_, Some(tps), p99)) = results.first().copied() else {
        println!("pgbench failed");
        return Ok(None);
    };
    let reference = results.get(1).and_then(|(c, t, _)| t.map(|t| (*c, t)));
    Ok(Some((tps, p99, reference)))
}
