//! The ordering rush: every parent of every school orders November's lunch at once, some
//! twice, against tight capacities in some schools; then the checks that nothing was lost,
//! doubled or sold beyond capacity, and that the audit chain still holds.

use super::*;

/// What one order request got back.
struct Answer {
    school: usize,
    student: i64,
    /// the parent's second tap
    repeat: bool,
    status: u16,
    code: String,
    body: Value,
    latency: Duration,
}

/// The figures of the rush, for the result lines.
pub(super) struct RushFigures {
    pub(super) requests: usize,
    pub(super) orders: usize,
    pub(super) rps: f64,
    pub(super) orders_per_sec: f64,
    pub(super) p50: Duration,
    pub(super) p95: Duration,
    pub(super) p99: Duration,
    pub(super) checks_passed: bool,
}

/// The rush and its checks.
pub(super) async fn rush(
    b: &Bench<'_>,
    schools: &[School],
    o: Opts,
    probe_id: i64,
    served: usize,
) -> anyhow::Result<RushFigures> {
    let db = b.db;
    let mut rng = StdRng::seed_from_u64(o.seed);
    let mut jobs: Vec<(usize, i64, bool)> = Vec::new();
    for (i, s) in schools.iter().enumerate() {
        for (student, _) in &s.families {
            jobs.push((i, *student, false));
            if rng.gen_range(0..100) < o.duplicates {
                jobs.push((i, *student, true));
            }
        }
    }
    jobs.shuffle(&mut rng);
    let repeats = jobs.iter().filter(|j| j.2).count();
    println!(
        "rush: {} parents order November's lunch, {repeats} of them twice, {} requests in flight (clock {}, load average {} before) ...",
        jobs.len() - repeats,
        o.clients,
        b.clock.now().with_timezone(&afterschool::clock::cst()),
        load()
    );
    let sampler = Sampler::start(&db.admin, format!("usename = '{}'", db.roles.app()));
    let started = Instant::now();
    let answers: Vec<Answer> =
        futures::stream::iter(jobs.into_iter().map(|(i, student, repeat)| {
            let s = &schools[i];
            let url = b.api(&s.t.code, "/school/meals/orders");
            let token = &b.tokens[&(s.n, student)];
            let body = json!({ "student_id": student, "period_start": PERIOD, "item_id": s.item });
            async move {
                let t = Instant::now();
                let r = b
                    .client
                    .post(&url)
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await;
                let (status, body) = common::answer(r).await;
                Answer {
                    school: i,
                    student,
                    repeat,
                    status,
                    code: body["code"].as_str().unwrap_or_default().to_string(),
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
    let activity = sampler.finish().await?;

    let ok = answers.iter().filter(|a| a.status == 200).count();
    let sold_out = answers
        .iter()
        .filter(|a| a.status == 409 && a.code == "MEAL_SOLD_OUT")
        .count();
    let twice = answers
        .iter()
        .filter(|a| a.status == 409 && a.code == "MEAL_ALREADY_ORDERED")
        .count();
    let expected = |a: &Answer| {
        a.status == 200
            || (a.status == 409 && (a.code == "MEAL_SOLD_OUT" || a.code == "MEAL_ALREADY_ORDERED"))
    };
    let other: Vec<&Answer> = answers.iter().filter(|a| !expected(a)).collect();
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
        "rush: {} requests in {:.2} s = {:.0} req/s ({:.0} orders/s); 200 ordered {ok}, 409 MEAL_SOLD_OUT {sold_out}, \
         409 MEAL_ALREADY_ORDERED {twice}, other {} (load average {rush_load} after)",
        answers.len(),
        wall.as_secs_f64(),
        rps,
        ok as f64 / wall.as_secs_f64(),
        other.len()
    );
    for (name, l) in [("all answers", &lat), ("200 answers", &lat_ok)] {
        println!(
            "latency, {name}:  p50 {:7.1} ms   p95 {:7.1} ms   p99 {:7.1} ms   max {:7.1} ms",
            ms(percentile(l, 0.5)),
            ms(percentile(l, 0.95)),
            ms(percentile(l, 0.99)),
            ms(*l.last().unwrap_or(&Duration::ZERO))
        );
    }
    print_activity("server's database connections during the rush", &activity);
    let mut problems: Vec<String> = Vec::new();
    if !other.is_empty() {
        let mut by: BTreeMap<(u16, String), usize> = BTreeMap::new();
        for a in &other {
            *by.entry((a.status, a.code.clone())).or_default() += 1;
        }
        for ((status, code), n) in &by {
            problems.push(format!(
                "{n} answers {status} {code}: neither 200, MEAL_SOLD_OUT nor MEAL_ALREADY_ORDERED"
            ));
        }
        for a in other.iter().take(5) {
            problems.push(format!(
                "e.g. {} student {}: {} {}",
                schools[a.school].t.code, a.student, a.status, a.body
            ));
        }
    }

    // --- checks ------------------------------------------------------------------------
    let started = Instant::now();
    let period = day(PERIOD);
    let mut places_taken = 0i64;
    let mut places = 0usize;
    for (i, s) in schools.iter().enumerate() {
        let (code, schema) = (&s.t.code, &s.t.schema);
        let mine: Vec<&Answer> = answers.iter().filter(|a| a.school == i).collect();
        // (order id, student) of every 200 answer
        let mut answered: HashSet<(i64, i64)> = HashSet::new();
        let mut ordered_students: HashSet<i64> = HashSet::new();
        for a in mine.iter().filter(|a| a.status == 200) {
            let id = a.body["id"].as_i64().unwrap_or(-1);
            if a.body["student_id"] != a.student
                || a.body["item_id"] != s.item
                || a.body["status"] != "held"
                || a.body["period_start"] != PERIOD
                || a.body["day_count"].as_u64() != Some(served as u64)
            {
                problems.push(format!(
                    "{code}: 200 answer does not match its request: {}",
                    a.body
                ));
            }
            if !answered.insert((id, a.student)) {
                problems.push(format!("{code}: order id {id} answered twice"));
            }
            if !ordered_students.insert(a.student) {
                problems.push(format!(
                    "{code}: student {} got two orders answered 200",
                    a.student
                ));
            }
        }
        for a in mine.iter().filter(|a| a.code == "MEAL_ALREADY_ORDERED") {
            if !ordered_students.contains(&a.student) {
                problems.push(format!(
                    "{code}: student {} answered MEAL_ALREADY_ORDERED without an order answered 200",
                    a.student
                ));
            }
            if !a.repeat && !mine.iter().any(|x| x.student == a.student && x.repeat) {
                problems.push(format!(
                    "{code}: student {} answered MEAL_ALREADY_ORDERED on its only request",
                    a.student
                ));
            }
        }
        let live: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "select id, student_id from {schema}.meal_orders where status in ('held', 'confirmed')"
        ))
        .fetch_all(&db.admin)
        .await?;
        let live_set: HashSet<(i64, i64)> = live.iter().copied().collect();
        let lost = answered.difference(&live_set).count();
        let unanswered = live_set.difference(&answered).count();
        if live.len() != answered.len() || lost > 0 || unanswered > 0 {
            problems.push(format!(
                "{code}: {} live orders, {} answered 200: {lost} answered orders missing from the database, \
                 {unanswered} live orders nobody was told about",
                live.len(),
                answered.len()
            ));
        }
        // every refusal left nothing: the only other row is the probe's cancelled order
        let rows: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {schema}.meal_orders where id <> $1"
        ))
        .bind(if i == 0 { probe_id } else { 0 })
        .fetch_one(&db.admin)
        .await?;
        if rows != answered.len() as i64 {
            problems.push(format!(
                "{code}: {rows} order rows for {} orders answered 200 (a refusal left a row?)",
                answered.len()
            ));
        }
        let doubled: i64 = sqlx::query_scalar(&format!(
            "select count(*) from (select student_id from {schema}.meal_orders
             where status in ('held', 'confirmed') and period_start = $1
             group by student_id having count(*) > 1) d"
        ))
        .bind(period)
        .fetch_one(&db.admin)
        .await?;
        let (slots, slots_live): (i64, i64) = sqlx::query_as(&format!(
            "select count(*), count(*) filter (where o.status in ('held', 'confirmed'))
             from {schema}.meal_order_slots sl join {schema}.meal_orders o on o.id = sl.meal_order_id
             where sl.period_start = $1"
        ))
        .bind(period)
        .fetch_one(&db.admin)
        .await?;
        if doubled > 0 || slots != live.len() as i64 || slots_live != slots {
            problems.push(format!(
                "{code}: {doubled} children with two live orders; {slots} slots ({slots_live} of live orders) for {} live orders",
                live.len()
            ));
        }
        let counter: Option<(i32, i32)> = sqlx::query_as(&format!(
            "select capacity, taken from {schema}.meal_capacity where item_id = $1 and period_start = $2"
        ))
        .bind(s.item)
        .bind(period)
        .fetch_optional(&db.admin)
        .await?;
        let (cap, taken) = counter.unwrap_or((-1, -1));
        // per served day: the held and confirmed orders eating the item
        let per_day: Vec<(NaiveDate, i64)> = sqlx::query_as(&format!(
            "select d, count(*) from {schema}.meal_orders o, unnest(o.days) d
             where o.status in ('held', 'confirmed') and o.item_id = $1 group by d order by d"
        ))
        .bind(s.item)
        .fetch_all(&db.admin)
        .await?;
        let over: Vec<String> = per_day
            .iter()
            .filter(|(_, n)| *n > s.capacity as i64)
            .map(|(d, n)| format!("{d}: {n}"))
            .collect();
        if cap != s.capacity as i32 || taken as usize != live.len() || !over.is_empty() {
            problems.push(format!(
                "{code}: capacity {} (counter {cap}), taken {taken}, live orders {}; days over capacity: {over:?}",
                s.capacity,
                live.len()
            ));
        }
        if per_day.len() != served && !live.is_empty() {
            problems.push(format!(
                "{code}: orders cover {} days, November has {served} served",
                per_day.len()
            ));
        }
        let refused_full = mine.iter().any(|a| a.code == "MEAL_SOLD_OUT");
        if refused_full && (taken as usize) < s.capacity {
            problems.push(format!(
                "{code}: answered MEAL_SOLD_OUT with only {taken} of {} places taken",
                s.capacity
            ));
        }
        let want = s.capacity.min(s.families.len());
        if live.len() != want {
            problems.push(format!(
                "{code}: {} children of {} ordered with {} places",
                live.len(),
                s.families.len(),
                s.capacity
            ));
        }
        let audited: i64 = sqlx::query_scalar(
            "select count(*) from platform.audit_log where action = 'meals.order.create' and tenant_id = $1",
        )
        .bind(s.t.tenant_id)
        .fetch_one(&db.admin)
        .await?;
        let expected = answered.len() as i64 + i64::from(i == 0);
        if audited != expected {
            problems.push(format!(
                "{code}: {audited} meals.order.create audit records, expected {expected}"
            ));
        }
        places_taken += i64::from(taken.max(0));
        places += s.capacity;
    }
    let queued: i64 = sqlx::query_scalar("select count(*) from platform.audit_pending")
        .fetch_one(&db.admin)
        .await?;
    let report = afterschool::audit::verify(&db.admin, &b.keys.audit).await?;
    if !report.is_intact() {
        problems.push(format!("audit chain broken: {report:?}"));
    }
    println!(
        "checks ({:.1} s; {queued} audit records still queued for the sealer when they began): {places_taken} places taken of {places}, \
         {ok} orders answered 200, audit chain {} records intact: {}",
        started.elapsed().as_secs_f64(),
        report.checked,
        if problems.is_empty() { "all passed" } else { "FAILED" }
    );
    println!("  answers: only 200, 409 MEAL_SOLD_OUT, 409 MEAL_ALREADY_ORDERED (the latter only for a child whose other tap ordered)");
    println!("  per school: live orders == the 200 answers (ids, children, item, all served days); a refusal left no row;");
    println!("              no child with two live orders; one slot per live order; full schools filled exactly, the others ordered for every child");
    println!("  per item and served day: held + confirmed orders <= capacity, == the counter's taken; MEAL_SOLD_OUT only when full");
    println!("  one meals.order.create audit record per order; audit chain verifies");
    for p in problems.iter().take(40) {
        println!("FAIL: {p}");
    }
    Ok(RushFigures {
        requests: answers.len(),
        orders: ok,
        rps,
        orders_per_sec: ok as f64 / wall.as_secs_f64(),
        p50: percentile(&lat, 0.5),
        p95: percentile(&lat, 0.95),
        p99: percentile(&lat, 0.99),
        checks_passed: problems.is_empty(),
    })
}

/// The tenant's live orders (id, student), by student.
pub(super) async fn live_orders(db: &Database, schema: &str) -> anyhow::Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as(&format!(
        "select id, student_id from {schema}.meal_orders
         where status in ('held', 'confirmed') order by student_id"
    ))
    .fetch_all(&db.admin)
    .await?)
}
