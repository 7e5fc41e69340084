//! Part 3 of the meals benchmark: rush orders paid over HTTP through the WeChat Pay
//! simulator, one stop registered by the school admin for each, then the school's refund
//! batch (`POST /school/meals/refund-batches`) and the wait until every refund has arrived,
//! with the ledger checked afterwards.

use super::*;

/// The figures of the refund part.
pub(super) struct RefundFigures {
    pub(super) stops: usize,
    pub(super) refunds: i64,
    pub(super) amount: String,
    pub(super) batches: usize,
    pub(super) batch_secs: f64,
    pub(super) submitted_secs: f64,
    pub(super) succeeded_secs: f64,
    pub(super) arrived_secs: f64,
    pub(super) invariant_ok: bool,
}

/// One stopped order.
struct Stopped {
    school: usize,
    order: i64,
    student: i64,
    first_day: String,
    last_day: String,
    days: usize,
    stop_id: i64,
}

/// Yuan as a number of fen.
fn fen(s: &str) -> i64 {
    let (y, f) = s.split_once('.').unwrap_or((s, "0"));
    let f = format!("{f:0<2}");
    y.parse::<i64>().unwrap_or(0) * 100 + f[..2].parse::<i64>().unwrap_or(0)
}

fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// A count of `platform.refunds` of the meal batches by status.
async fn refund_states(db: &Database, tenants: &[i64]) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "select status, count(*) from platform.refunds
         where source = 'meal' and tenant_id = any($1) group by 1",
    )
    .bind(tenants)
    .fetch_all(&db.admin)
    .await?;
    Ok(rows.into_iter().collect())
}

pub(super) async fn run(
    b: &Bench<'_>,
    schools: &[School],
    o: Opts,
    served_days: &[String],
) -> anyhow::Result<(bool, Option<RefundFigures>)> {
    let db = b.db;
    b.refresh_sessions().await?;
    let price = fen(PRICE);
    // The orders: from the schools where every child ordered first.
    let mut order: Vec<usize> = (0..schools.len()).filter(|i| !schools[*i].tight).collect();
    order.extend((0..schools.len()).filter(|i| schools[*i].tight));
    let mut picked: Vec<(usize, i64, i64)> = Vec::new();
    for i in order {
        if picked.len() >= o.stops {
            break;
        }
        for (id, student) in live_orders(db, &schools[i].t.schema).await? {
            if picked.len() >= o.stops {
                break;
            }
            picked.push((i, id, student));
        }
    }
    let mut involved: Vec<usize> = picked.iter().map(|p| p.0).collect();
    involved.dedup();
    let codes: Vec<&str> = involved
        .iter()
        .map(|i| schools[*i].t.code.as_str())
        .collect();
    println!(
        "\nrefunds: {} rush orders of {} paid over HTTP (payments order, the simulator's cashier, its callback), {} at a time ...",
        picked.len(),
        codes.join(", "),
        o.pay_parallel
    );
    if picked.len() < o.stops {
        println!(
            "FAIL: only {} live orders to pay, {} stops wanted",
            picked.len(),
            o.stops
        );
        return Ok((false, None));
    }

    // --- seeding: pay each order as its parent does ---------------------------------------
    let started = Instant::now();
    // Not more at once than a fraction of the pool: creating a payment order holds a pooled
    // connection while it calls WeChat, and the simulator answers from the same pool.
    let paid = in_parallel(
        picked.clone(),
        o.pay_parallel,
        |(i, id, student)| async move {
            let s = &schools[i];
            let token = &b.tokens[&(s.n, student)];
            let body = json!({ "meal_order_ids": [id], "channel": "h5",
                           "idempotency_key": format!("bench-meal-{id}-{student}") });
            let p = b
                .ok(
                    reqwest::Method::POST,
                    &s.t.code,
                    "/school/payments/orders",
                    token,
                    Some(body),
                )
                .await?;
            let prepay = p["pay"]["h5_url"]
                .as_str()
                .and_then(|u| u.split("prepay_id=").nth(1))
                .map(|p| p.split('&').next().unwrap_or(p).to_string())
                .ok_or_else(|| anyhow::anyhow!("no h5_url: {p}"))?;
            let r = b
                .client
                .post(format!("{}/sim/wxpay/cashier", b.address))
                .form(&[("prepay_id", prepay.as_str()), ("action", "pay")])
                .send()
                .await?;
            anyhow::ensure!(
                r.status().as_u16() == 200,
                "cashier answered {}",
                r.status()
            );
            anyhow::Ok(p["id"].as_i64().unwrap_or_default())
        },
    )
    .await;
    for r in &paid {
        if let Err(e) = r {
            anyhow::bail!("paying a meal order failed: {e}");
        }
    }
    let paid_at_cashier = started.elapsed();
    // the simulator's callbacks confirm the orders
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut confirmed = 0i64;
        for i in &involved {
            let ids: Vec<i64> = picked.iter().filter(|p| p.0 == *i).map(|p| p.1).collect();
            let n: i64 = sqlx::query_scalar(&format!(
                "select count(*) from {}.meal_orders where id = any($1) and status = 'confirmed'",
                schools[*i].t.schema
            ))
            .bind(&ids)
            .fetch_one(&db.admin)
            .await?;
            confirmed += n;
        }
        if confirmed == picked.len() as i64 {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "only {confirmed} of {} meal orders confirmed after 600 s",
            picked.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    println!(
        "refunds: {} payments made at the cashier in {:.1} s, all confirmed by the callbacks after {:.1} s",
        picked.len(),
        paid_at_cashier.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    // --- seeding: one stop per paid order, registered by the school admin ---------------------
    let started = Instant::now();
    let width = served_days.len();
    let plan: Vec<(usize, i64, i64, String, String, usize)> = picked
        .iter()
        .enumerate()
        .map(|(k, (i, id, student))| {
            let span = (1 + k % 5).min(width.max(1));
            let start = (k * 7) % (width - span + 1).max(1);
            (
                *i,
                *id,
                *student,
                served_days[start].clone(),
                served_days[start + span - 1].clone(),
                span,
            )
        })
        .collect();
    let registered = in_parallel(plan, 50, |(i, id, student, first, last, span)| async move {
        let s = &schools[i];
        let v = b
            .ok(
                reqwest::Method::POST,
                &s.t.code,
                "/school/meals/stops/register",
                &s.admin,
                Some(
                    json!({ "student_id": student, "first_day": first, "last_day": last,
                             "reason": "请假外出" }),
                ),
            )
            .await?;
        anyhow::ensure!(
            v["status"] == "approved"
                && v["day_count"].as_u64() == Some(span as u64)
                && fen(v["refund_amount"].as_str().unwrap_or("0")) == span as i64 * price,
            "stop of {student} ({first} .. {last}) answered {v}"
        );
        anyhow::Ok(Stopped {
            school: i,
            order: id,
            student,
            first_day: first,
            last_day: last,
            days: span,
            stop_id: v["id"].as_i64().unwrap_or_default(),
        })
    })
    .await;
    let mut stops = Vec::with_capacity(registered.len());
    for r in registered {
        stops.push(r?);
    }
    let days_total: usize = stops.iter().map(|s| s.days).sum();
    println!(
        "refunds: {} stops ({days_total} served days, {} yuan) registered by the school admins in {:.1} s",
        stops.len(),
        yuan(days_total as i64 * price),
        started.elapsed().as_secs_f64()
    );
    let mut problems: Vec<String> = Vec::new();
    // the refund desk shows what is due
    for i in &involved {
        let s = &schools[*i];
        let mine: Vec<&Stopped> = stops.iter().filter(|x| x.school == *i).collect();
        let due = refund_desk(b, s).await?;
        let days: usize = mine.iter().map(|x| x.days).sum();
        if due["stops"].as_u64() != Some(mine.len() as u64)
            || due["stop_days"].as_u64() != Some(days as u64)
            || fen(due["amount"].as_str().unwrap_or("0")) != days as i64 * price
        {
            problems.push(format!(
                "{}: refund desk shows {due}, expected {} stops, {days} days",
                s.t.code,
                mine.len()
            ));
        }
    }
    let tenant_ids: Vec<i64> = involved.iter().map(|i| schools[*i].t.tenant_id).collect();
    let before = refund_states(db, &tenant_ids).await?;
    if !before.is_empty() {
        problems.push(format!("meal refunds before any batch: {before:?}"));
    }

    // --- the batch: one per school at once, raced by a second one in the first school ------
    b.refresh_sessions().await?;
    println!(
        "refunds: POST /school/meals/refund-batches {{\"period_start\": \"{PERIOD}\"}} in {} school(s) at once, and a second one racing in {} ...",
        involved.len(),
        codes[0]
    );
    let started = Instant::now();
    let mut calls: Vec<(usize, bool)> = involved.iter().map(|i| (*i, false)).collect();
    calls.push((involved[0], true));
    let batch_answers = futures::future::join_all(calls.iter().map(|(i, racer)| {
        let s = &schools[*i];
        async move {
            let r = b
                .client
                .post(b.api(&s.t.code, "/school/meals/refund-batches"))
                .bearer_auth(&s.admin)
                .timeout(Duration::from_secs(900))
                .json(&json!({ "period_start": PERIOD }))
                .send()
                .await;
            let (status, body) = common::answer(r).await;
            (*i, *racer, status, body, started.elapsed())
        }
    }))
    .await;
    let mut batch_secs = 0f64;
    let mut refunds_sent = 0i64;
    let mut amount_sent = 0i64;
    let mut batches = 0usize;
    let mut batch_ids: HashMap<usize, i64> = HashMap::new();
    for i in &involved {
        let s = &schools[*i];
        let mine: Vec<&Stopped> = stops.iter().filter(|x| x.school == *i).collect();
        let days: usize = mine.iter().map(|x| x.days).sum();
        let answers: Vec<&(usize, bool, u16, Value, Duration)> =
            batch_answers.iter().filter(|a| a.0 == *i).collect();
        let real: Vec<&&(usize, bool, u16, Value, Duration)> = answers
            .iter()
            .filter(|a| a.2 == 200 && a.3["refunds"].as_i64().unwrap_or(0) > 0)
            .collect();
        let rest: Vec<&&(usize, bool, u16, Value, Duration)> = answers
            .iter()
            .filter(|a| !(a.2 == 200 && a.3["refunds"].as_i64().unwrap_or(0) > 0))
            .collect();
        let Some(batch) = real.first() else {
            problems.push(format!(
                "{}: no batch refunded anything: {answers:?}",
                s.t.code
            ));
            continue;
        };
        batches += 1;
        batch_secs = batch_secs.max(batch.4.as_secs_f64());
        let v = &batch.3;
        batch_ids.insert(*i, v["id"].as_i64().unwrap_or(-1));
        refunds_sent += v["refunds"].as_i64().unwrap_or(0);
        amount_sent += fen(v["amount"].as_str().unwrap_or("0"));
        println!(
            "  {}: 200 in {:.2} s: batch {} for {}: {} refunds, {} days, {} yuan, {}",
            s.t.code,
            batch.4.as_secs_f64(),
            v["id"],
            v["period_label"].as_str().unwrap_or("?"),
            v["refunds"],
            v["days"],
            v["amount"].as_str().unwrap_or("?"),
            v["progress_label"].as_str().unwrap_or("?")
        );
        // one order per payment here: one refund per stop
        if real.len() != 1
            || v["refunds"].as_u64() != Some(mine.len() as u64)
            || v["days"].as_u64() != Some(days as u64)
            || fen(v["amount"].as_str().unwrap_or("0")) != days as i64 * price
            || v["period_start"] != PERIOD
        {
            problems.push(format!(
                "{}: batch answered {v} ({} batches refunded), expected {} refunds of {days} days",
                s.t.code,
                real.len(),
                mine.len()
            ));
        }
        for a in rest {
            let raced_ok = (a.2 == 409 && a.3["code"] == "MEAL_REFUND_BATCH_RUNNING")
                || (a.2 == 200 && a.3["refunds"] == 0 && a.3["days"] == 0);
            println!(
                "  {}: the racing batch answered {} {} after {:.2} s",
                s.t.code,
                a.2,
                a.3["code"].as_str().unwrap_or(if a.2 == 200 {
                    "(nothing left to refund)"
                } else {
                    ""
                }),
                a.4.as_secs_f64()
            );
            if !raced_ok {
                problems.push(format!(
                    "{}: the racing batch answered {} {}",
                    s.t.code, a.2, a.3
                ));
            }
        }
    }

    // --- until every refund has arrived --------------------------------------------------------
    // The school admin's refund desk shows each batch's days 退款中 / 已到账 / 异常 (the
    // admin's list of stops shows only the newest 500, so not every stop of a large batch);
    // once the desk says 已到账, every stop's progress is read as its parent sees it.
    let mut submitted_secs = f64::NAN;
    let mut succeeded_secs = f64::NAN;
    let mut arrived_secs = f64::NAN;
    let deadline = Instant::now() + Duration::from_secs(o.refund_timeout_secs);
    let mut last_print = Instant::now();
    loop {
        let states = refund_states(db, &tenant_ids).await?;
        let total: i64 = states.values().sum();
        let requested = states.get("requested").copied().unwrap_or(0);
        if submitted_secs.is_nan() && total == refunds_sent && requested == 0 {
            submitted_secs = started.elapsed().as_secs_f64();
        }
        if succeeded_secs.is_nan() && states.get("succeeded").copied() == Some(refunds_sent) {
            succeeded_secs = started.elapsed().as_secs_f64();
        }
        let (mut arrived, mut processing, mut failed, mut days) = (0i64, 0i64, 0i64, 0i64);
        let mut labels: BTreeMap<String, usize> = BTreeMap::new();
        for i in &involved {
            let s = &schools[*i];
            let desk = refund_desk(b, s).await?;
            let ours = desk["batches"]
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .find(|x| x["id"].as_i64() == batch_ids.get(i).copied())
                })
                .cloned()
                .unwrap_or(Value::Null);
            arrived += ours["refunded_days"].as_i64().unwrap_or(0);
            processing += ours["processing_days"].as_i64().unwrap_or(0);
            failed += ours["failed_days"].as_i64().unwrap_or(0);
            days += ours["days"].as_i64().unwrap_or(0);
            *labels
                .entry(ours["progress_label"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        let every = labels.len() == 1 && labels.contains_key("已到账");
        if every && arrived == days_total as i64 {
            arrived_secs = started.elapsed().as_secs_f64();
            println!(
                "  {arrived_secs:.1} s: every batch 已到账 ({arrived} days); WeChat refunds {states:?}"
            );
            break;
        }
        if failed > 0 && processing == 0 {
            problems.push(format!(
                "refunds ended with {failed} days 异常 of {days}: batches {labels:?}, WeChat refunds {states:?}"
            ));
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            println!(
                "  {:.1} s: batch days {arrived} 已到账, {processing} 退款中, {failed} 异常 of {days}; WeChat refunds {states:?}",
                started.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        if Instant::now() >= deadline {
            problems.push(format!(
                "after {} s not every refund arrived: batches {labels:?} ({arrived} of {days} days), WeChat refunds {states:?}",
                o.refund_timeout_secs
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if submitted_secs.is_nan() {
        submitted_secs = arrived_secs;
    }
    if succeeded_secs.is_nan() {
        succeeded_secs = arrived_secs;
    }
    // every stop, as its parent sees it, and the admin's list of the newest
    let seen = in_parallel(
        stops
            .iter()
            .map(|x| (x.school, x.student, x.stop_id))
            .collect(),
        50,
        |(i, student, id)| async move {
            let s = &schools[i];
            let (st, v) = b
                .call(
                    reqwest::Method::GET,
                    &s.t.code,
                    &format!("/school/children/{student}/meals/stops"),
                    &b.tokens[&(s.n, student)],
                    None,
                )
                .await;
            let label = v
                .as_array()
                .and_then(|a| a.iter().find(|x| x["id"].as_i64() == Some(id)))
                .and_then(|x| x["progress_label"].as_str())
                .unwrap_or("?")
                .to_string();
            if st == 200 {
                label
            } else {
                format!("{st}")
            }
        },
    )
    .await;
    let mut parent_labels: BTreeMap<String, usize> = BTreeMap::new();
    for l in seen {
        *parent_labels.entry(l).or_default() += 1;
    }
    let mut admin_labels: BTreeMap<String, usize> = BTreeMap::new();
    for i in &involved {
        let s = &schools[*i];
        let list = b
            .ok(
                reqwest::Method::GET,
                &s.t.code,
                "/school/meals/stops?status=approved",
                &s.admin,
                None,
            )
            .await?;
        for v in list.as_array().cloned().unwrap_or_default() {
            *admin_labels
                .entry(v["progress_label"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
    }
    println!(
        "  every stop as its parent sees it: {parent_labels:?}; the admin's list of approved stops (the newest {}): {admin_labels:?}",
        admin_labels.values().sum::<usize>()
    );
    if parent_labels.get("已到账").copied() != Some(stops.len())
        || admin_labels.keys().any(|k| k != "已到账")
    {
        problems.push(format!(
            "stops' progress: parents see {parent_labels:?}, the admin's list {admin_labels:?}"
        ));
    }

    // --- a batch run again gives back nothing -------------------------------------------------
    for i in &involved {
        let s = &schools[*i];
        let (st, v) = b
            .call(
                reqwest::Method::POST,
                &s.t.code,
                "/school/meals/refund-batches",
                &s.admin,
                Some(json!({ "period_start": PERIOD })),
            )
            .await;
        if st != 200 || v["refunds"] != 0 || v["days"] != 0 {
            problems.push(format!("{}: a batch run again answered {st} {v}", s.t.code));
        }
    }

    // --- the ledger and the refunds afterwards --------------------------------------------------
    let mut conn = db.admin.acquire().await?;
    let report = afterschool::ledger::verify_balances(&mut conn).await?;
    drop(conn);
    if !report.is_clean() {
        problems.push(format!(
            "ledger verify_balances: {} differences, {} unbalanced journals (of {} lines)",
            report.differences.len(),
            report.unbalanced_journals.len(),
            report.lines_checked
        ));
    }
    // per meal line, from the entries: paid = released + refunded + reserved + held
    let (lines, broken, stored_differ, paid, refunded, reserved, held, released): (
        i64,
        i64,
        i64,
        rust_decimal::Decimal,
        rust_decimal::Decimal,
        rust_decimal::Decimal,
        rust_decimal::Decimal,
        rust_decimal::Decimal,
    ) = sqlx::query_as(
        "with agg as (
             select e.line_id,
                 coalesce(sum(e.credit) filter (where j.kind = 'payment' and e.account like 'held:%'), 0) as paid,
                 coalesce(sum(e.debit) filter (where j.kind in ('release', 'release_lesson', 'release_day')
                                               and e.account like 'held:%'), 0) as released,
                 coalesce(sum(e.credit - e.debit) filter (where e.account = 'refund:clearing'), 0) as reserved,
                 coalesce(sum(e.debit) filter (where j.kind = 'refund_settle' and e.account = 'refund:clearing'), 0)
                     as refunded,
                 coalesce(sum(e.credit - e.debit) filter (where e.account like 'held:%'), 0) as held
             from platform.ledger_entries e
             join platform.ledger_journals j on j.id = e.journal_id
             where e.line_id in (select id from platform.order_lines where meal_order_id is not null)
             group by e.line_id
         )
         select count(*),
                count(*) filter (where a.paid <> a.released + a.refunded + a.reserved + a.held),
                count(*) filter (where l.paid <> a.paid or l.released <> a.released
                                    or l.refund_reserved <> a.reserved or l.refunded <> a.refunded),
                coalesce(sum(a.paid), 0), coalesce(sum(a.refunded), 0), coalesce(sum(a.reserved), 0),
                coalesce(sum(a.held), 0), coalesce(sum(a.released), 0)
         from agg a join platform.ledger_lines l on l.line_id = a.line_id",
    )
    .fetch_one(&db.admin)
    .await?;
    if lines != stops.len() as i64 || broken > 0 || stored_differ > 0 {
        problems.push(format!(
            "{lines} paid meal lines (expected {}): {broken} with paid <> released + refunded + reserved + held, \
             {stored_differ} whose running balance differs from their entries",
            stops.len()
        ));
    }
    if fen(&refunded.to_string()) != days_total as i64 * price || !reserved.is_zero() {
        problems.push(format!(
            "meal lines: {refunded} refunded (expected {}), {reserved} still reserved",
            yuan(days_total as i64 * price)
        ));
    }
    let mut day_rows = 0i64;
    for i in &involved {
        let s = &schools[*i];
        let schema = &s.t.schema;
        let mine: Vec<&Stopped> = stops.iter().filter(|x| x.school == *i).collect();
        let days: usize = mine.iter().map(|x| x.days).sum();
        let (rows, refunded_rows, distinct): (i64, i64, i64) = sqlx::query_as(&format!(
            "select count(*), count(*) filter (where status = 'refunded'),
                    count(distinct (meal_order_id, day)) from {schema}.meal_refund_days"
        ))
        .fetch_one(&db.admin)
        .await?;
        day_rows += rows;
        // each given-back day is a stopped day of its order
        let stray: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {schema}.meal_refund_days r
             where not exists (select 1 from {schema}.meal_stop_days d
                               where d.meal_order_id = r.meal_order_id and d.day = r.day
                                 and d.stop_id = r.stop_id)"
        ))
        .fetch_one(&db.admin)
        .await?;
        let stops_refunded: i64 = sqlx::query_scalar(&format!(
            "select count(*) from {schema}.meal_stops where id = any($1) and refund_status = 'refunded'"
        ))
        .bind(mine.iter().map(|x| x.stop_id).collect::<Vec<_>>())
        .fetch_one(&db.admin)
        .await?;
        // each line refunded exactly its given-back days, nothing left reserved
        let lines_off: i64 = sqlx::query_scalar(&format!(
            "select count(*) from (select meal_order_id, sum(amount) as amount
                                   from {schema}.meal_refund_days group by 1) r
             join platform.order_lines ol on ol.tenant_id = $1 and ol.meal_order_id = r.meal_order_id and ol.live
             join platform.ledger_lines l on l.line_id = ol.id
             where l.refunded <> r.amount or l.refund_reserved <> 0"
        ))
        .bind(s.t.tenant_id)
        .fetch_one(&db.admin)
        .await?;
        // each WeChat refund carries exactly the sum of its days
        let (refund_rows, refunds_off, succeeded): (i64, i64, i64) = sqlx::query_as(&format!(
            "select count(*), count(*) filter (where f.amount <> coalesce(d.amount, 0)),
                    count(*) filter (where f.status = 'succeeded')
             from platform.refunds f
             left join (select refund_id, sum(amount) as amount from {schema}.meal_refund_days group by 1) d
               on d.refund_id = f.id
             where f.tenant_id = $1 and f.source = 'meal'"
        ))
        .bind(s.t.tenant_id)
        .fetch_one(&db.admin)
        .await?;
        if rows != days as i64
            || refunded_rows != rows
            || distinct != rows
            || stray > 0
            || stops_refunded != mine.len() as i64
            || lines_off > 0
            || refund_rows != mine.len() as i64
            || refunds_off > 0
            || succeeded != refund_rows
        {
            problems.push(format!(
                "{}: {rows} days given back ({refunded_rows} arrived, {distinct} distinct, {stray} not stopped) for {days} stopped; \
                 {stops_refunded} of {} stops refunded; {lines_off} lines refunded other than their days; \
                 {refund_rows} WeChat refunds ({succeeded} succeeded, {refunds_off} of another amount than their days) for {} payments",
                s.t.code,
                mine.len(),
                mine.len()
            ));
        }
    }
    let sample = stops.first().map(|s| {
        format!(
            "e.g. stop {} of order {} (student {}): {} .. {}, {} days",
            s.stop_id, s.order, s.student, s.first_day, s.last_day, s.days
        )
    });
    let invariant_ok = report.is_clean() && broken == 0 && stored_differ == 0 && lines > 0;
    println!(
        "checks: {lines} paid meal lines: paid {paid} = released {released} + refunded {refunded} + reserved {reserved} + held {held}; \
         verify_balances over {} lines: {}; {day_rows} days given back once each; {}: {}",
        report.lines_checked,
        if report.is_clean() { "clean" } else { "DIFFERENCES" },
        sample.unwrap_or_default(),
        if problems.is_empty() { "all passed" } else { "FAILED" }
    );
    for p in problems.iter().take(20) {
        println!("FAIL: refunds: {p}");
    }
    Ok((
        problems.is_empty(),
        Some(RefundFigures {
            stops: stops.len(),
            refunds: refunds_sent,
            amount: yuan(amount_sent),
            batches,
            batch_secs,
            submitted_secs,
            succeeded_secs,
            arrived_secs,
            invariant_ok,
        }),
    ))
}

/// The school's refund desk for the period: what is due and the batches with their progress.
async fn refund_desk(b: &Bench<'_>, s: &School) -> anyhow::Result<Value> {
    b.ok(
        reqwest::Method::GET,
        &s.t.code,
        &format!("/school/meals/refund-batches?period_start={PERIOD}"),
        &s.admin,
        None,
    )
    .await
}
