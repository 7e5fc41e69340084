//! Part 2 of the meals benchmark: the canteen's count of a served day for a large school
//! (`GET /school/meals/counts`), timed request after request, each answer checked against
//! the orders made.

use super::*;

/// The day counted: a Monday of November 2026.
const DAY: &str = "2026-11-16";

/// The canteen school and its catalogue.
pub(super) struct Canteen {
    pub(super) n: usize,
    t: Tenant,
    admin: String,
    pub(super) families: Vec<(i64, i64)>,
    lunch: i64,
    halal: i64,
    tea: i64,
    package: i64,
}

/// The figures of the canteen part.
pub(super) struct CanteenFigures {
    pub(super) total: i64,
    pub(super) p50: Duration,
    pub(super) p95: Duration,
    pub(super) max: Duration,
    pub(super) xlsx_p50: Duration,
}

/// What a child of the canteen school orders, by student id: lunch, the other lunch or the
/// lunch + tea package, afternoon tea on its own with the first lunch for some, nothing for
/// one in twenty.
fn choice(student: i64) -> (Option<&'static str>, bool) {
    match student % 20 {
        0..=4 => (Some("lunch"), true),
        5..=9 => (Some("lunch"), false),
        10..=13 => (Some("halal"), false),
        14..=18 => (Some("package"), false),
        _ => (None, false),
    }
}

/// One in twenty children has an egg allergy recorded (all of them eat the first lunch).
fn allergic(student: i64) -> bool {
    student % 20 == 0
}

/// One in fifty children (of those who eat) is stopped on the counted day.
fn stopped(student: i64) -> bool {
    student % 50 == 1 && choice(student).0.is_some()
}

impl Canteen {
    /// Publishes the canteen school's catalogue: two lunches, afternoon tea, and a lunch +
    /// tea package.
    pub(super) async fn publish(
        b: &Bench<'_>,
        n: usize,
        t: Tenant,
        admin: String,
        families: Vec<(i64, i64)>,
    ) -> anyhow::Result<Self> {
        let code = t.code.clone();
        let all = json!([1, 2, 3, 4, 5, 6]);
        let lunch = publish_item(
            b,
            &code,
            &admin,
            json!({ "code": "lunch", "kind": "lunch", "name": "标准午餐", "price": "12.50",
                    "levels": all, "allergens": ["egg", "soy"] }),
        )
        .await?;
        let halal = publish_item(
            b,
            &code,
            &admin,
            json!({ "code": "halal", "kind": "lunch", "name": "清真午餐", "price": "13.00",
                    "levels": all, "allergens": ["fish"] }),
        )
        .await?;
        let tea = publish_item(
            b,
            &code,
            &admin,
            json!({ "code": "tea", "kind": "afternoon_tea", "name": "水果下午茶", "price": "4.00",
                    "levels": all, "allergens": ["milk"] }),
        )
        .await?;
        let p = b
            .ok(
                reqwest::Method::POST,
                &code,
                "/school/meals/packages",
                &admin,
                Some(
                    json!({ "code": "lunch-tea", "name": "午餐+下午茶", "price": "15.00",
                             "item_ids": [lunch, tea] }),
                ),
            )
            .await?;
        let package = p["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("package without id: {p}"))?;
        b.ok(
            reqwest::Method::POST,
            &code,
            &format!("/school/meals/packages/{package}/publish"),
            &admin,
            None,
        )
        .await?;
        Ok(Canteen {
            n,
            t,
            admin,
            families,
            lunch,
            halal,
            tea,
            package,
        })
    }

    /// Seeds the orders (over HTTP, confirmed by SQL) and stops, then times the count.
    pub(super) async fn run(
        &self,
        b: &Bench<'_>,
        o: Opts,
    ) -> anyhow::Result<(bool, CanteenFigures)> {
        let (code, schema) = (&self.t.code, &self.t.schema);
        b.refresh_sessions().await?;
        println!(
            "\ncanteen: {} students of {code} order (two lunches, afternoon tea, a lunch + tea package), 1 in 20 with an egg allergy recorded ...",
            self.families.len()
        );
        let started = Instant::now();
        let students: Vec<i64> = self.families.iter().map(|f| f.0).collect();
        // allergies, by the parents
        let allergic_ones: Vec<i64> = students.iter().copied().filter(|s| allergic(*s)).collect();
        let answers = in_parallel(allergic_ones.clone(), 50, |s| async move {
            b.call(
                reqwest::Method::PUT,
                code,
                &format!("/school/children/{s}/allergies"),
                &b.tokens[&(self.n, s)],
                Some(json!({ "allergens": ["egg"], "note": "对鸡蛋过敏" })),
            )
            .await
        })
        .await;
        if let Some((s, body)) = answers.iter().find(|(s, _)| *s != 200) {
            anyhow::bail!("{code}: recording allergies answered {s} {body}");
        }
        // orders, by the parents
        let mut orders: Vec<(i64, Value)> = Vec::new();
        for s in &students {
            let (main, tea) = choice(*s);
            let body = |item: Option<i64>, package: Option<i64>| {
                json!({ "student_id": s, "period_start": PERIOD, "item_id": item,
                        "package_id": package, "allergy_acknowledged": true })
            };
            match main {
                Some("lunch") => orders.push((*s, body(Some(self.lunch), None))),
                Some("halal") => orders.push((*s, body(Some(self.halal), None))),
                Some(_) => orders.push((*s, body(None, Some(self.package)))),
                None => {}
            }
            if tea {
                orders.push((*s, body(Some(self.tea), None)));
            }
        }
        let n_orders = orders.len();
        let answers = in_parallel(orders, 50, |(s, body)| async move {
            b.call(
                reqwest::Method::POST,
                code,
                "/school/meals/orders",
                &b.tokens[&(self.n, s)],
                Some(body),
            )
            .await
        })
        .await;
        if let Some((s, body)) = answers.iter().find(|(s, _)| *s != 200) {
            anyhow::bail!("{code}: an order answered {s} {body}");
        }
        // Seeding shortcut: the orders are confirmed as a payment would (the payment path is
        // measured by the refund part).
        let confirmed = sqlx::query(&format!(
            "update {schema}.meal_orders set status = 'confirmed', confirmed_at = $1, hold_expires_at = null
             where status = 'held'"
        ))
        .bind(b.clock.now())
        .execute(&b.db.admin)
        .await?
        .rows_affected();
        // stops on the counted day, registered by the school admin
        let stop_ones: Vec<i64> = students.iter().copied().filter(|s| stopped(*s)).collect();
        let answers = in_parallel(stop_ones.clone(), 20, |s| async move {
            b.call(
                reqwest::Method::POST,
                code,
                "/school/meals/stops/register",
                &self.admin,
                Some(json!({ "student_id": s, "first_day": DAY, "reason": "请假外出" })),
            )
            .await
        })
        .await;
        if let Some((s, body)) = answers
            .iter()
            .find(|(s, b)| *s != 200 || b["status"] != "approved")
        {
            anyhow::bail!("{code}: registering a stop answered {s} {body}");
        }
        sqlx::raw_sql("vacuum analyze").execute(&b.db.admin).await?;
        println!(
            "canteen: {} allergies, {n_orders} orders over HTTP, {confirmed} confirmed by SQL, {} stops on {DAY} registered in {:.1} s",
            allergic_ones.len(),
            stop_ones.len(),
            started.elapsed().as_secs_f64()
        );

        // what the canteen must be told: per item, the children eating it that day
        let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
        let mut flags = 0i64;
        for s in &students {
            let (main, tea) = choice(*s);
            if main.is_none() || stopped(*s) {
                continue;
            }
            let mut items = Vec::new();
            match main {
                Some("lunch") => items.push(self.lunch),
                Some("halal") => items.push(self.halal),
                _ => items.extend([self.lunch, self.tea]),
            }
            if tea {
                items.push(self.tea);
            }
            for i in items {
                *expected.entry(i).or_default() += 1;
                if allergic(*s) {
                    flags += 1;
                }
            }
        }
        let total: i64 = expected.values().sum();
        let check = |v: &Value| -> Option<String> {
            let items = v["items"].as_array().cloned().unwrap_or_default();
            let got: BTreeMap<i64, i64> = items
                .iter()
                .map(|i| {
                    (
                        i["item_id"].as_i64().unwrap_or(-1),
                        i["total"].as_i64().unwrap_or(-1),
                    )
                })
                .collect();
            let by_class: i64 = items
                .iter()
                .flat_map(|i| i["classes"].as_array().cloned().unwrap_or_default())
                .map(|c| c["count"].as_i64().unwrap_or(0))
                .sum();
            let got_flags: usize = items
                .iter()
                .flat_map(|i| i["classes"].as_array().cloned().unwrap_or_default())
                .map(|c| c["allergies"].as_array().map_or(0, Vec::len))
                .sum();
            let ok = v["served"] == true
                && v["day"] == DAY
                && v["total"].as_i64() == Some(total)
                && got == expected
                && by_class == total
                && got_flags as i64 == flags;
            (!ok).then(|| {
                format!(
                    "total {} (expected {total}), per item {got:?} (expected {expected:?}), per class {by_class}, \
                     allergy flags {got_flags} (expected {flags}), served {}",
                    v["total"], v["served"]
                )
            })
        };
        let path = format!("/school/meals/counts?day={DAY}");
        let mut problems = Vec::new();
        for _ in 0..3 {
            let (s, v) = b
                .call(reqwest::Method::GET, code, &path, &self.admin, None)
                .await;
            if s != 200 {
                problems.push(format!("warm-up count answered {s} {v}"));
            }
        }
        let mut lat = Vec::with_capacity(o.canteen_requests);
        for _ in 0..o.canteen_requests {
            let t = Instant::now();
            let (s, v) = b
                .call(reqwest::Method::GET, code, &path, &self.admin, None)
                .await;
            lat.push(t.elapsed());
            if s != 200 {
                problems.push(format!("count answered {s} {v}"));
            } else if let Some(p) = check(&v) {
                problems.push(p);
            }
        }
        lat.sort();
        let mut xlsx = Vec::new();
        for _ in 0..10 {
            let t = Instant::now();
            let r = b
                .client
                .get(b.api(code, &format!("/school/meals/counts/download?day={DAY}")))
                .bearer_auth(&self.admin)
                .send()
                .await?;
            let status = r.status().as_u16();
            let bytes = r.bytes().await?;
            xlsx.push(t.elapsed());
            if status != 200 || !bytes.starts_with(b"PK") {
                problems.push(format!("download answered {status}, {} bytes", bytes.len()));
            }
        }
        xlsx.sort();
        problems.dedup();
        println!(
            "canteen: GET {path} x {}: p50 {:.1} ms  p95 {:.1} ms  max {:.1} ms; {total} meals counted ({} items, {flags} allergy flags) \
             in every answer: {}; .xlsx download x 10: p50 {:.1} ms  max {:.1} ms",
            o.canteen_requests,
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.95)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            expected.len(),
            if problems.is_empty() { "checked" } else { "FAILED" },
            ms(percentile(&xlsx, 0.5)),
            ms(*xlsx.last().unwrap_or(&Duration::ZERO))
        );
        for p in problems.iter().take(10) {
            println!("FAIL: canteen: {p}");
        }
        Ok((
            problems.is_empty(),
            CanteenFigures {
                total,
                p50: percentile(&lat, 0.5),
                p95: percentile(&lat, 0.95),
                max: *lat.last().unwrap_or(&Duration::ZERO),
                xlsx_p50: percentile(&xlsx, 0.5),
            },
        ))
    }
}
