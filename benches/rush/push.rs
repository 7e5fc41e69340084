//! Issue #15's figure 3, behind `-- --push-compare <rounds>`: what writing the outbox event
//! adds to the transaction that confirms a booking.
//!
//! A booking writes no event: it is a hold (`held`), for a free course too (the hold
//! statement always writes `held`, and an order of nothing to pay is refused). The F4
//! event `enrollment.place` is written by the trigger `enrollments_push_change` when the
//! place becomes `confirmed`: in the payment settlement's transaction, or in the school
//! admin's offline-payment confirmation (`POST /school/enrollments/:id/confirm`). The
//! second is measured here: a real server transaction (session, the enrollment read, the
//! guarded update that fires the trigger, the waitlist entry, the read-back, the audit
//! record, the commit) and the shortest one that writes the event, so the event's share
//! of it is larger than of the settlement transaction (which also claims the callback,
//! locks the order and posts to the ledger).
//!
//! The rush's holds are shuffled and cut into `3 * rounds` equal parts; each part is
//! confirmed over HTTP with the rush's requests in flight, in one of three modes:
//!
//! - `event+notify`: as migrated (the enrollments' event triggers write the event, the
//!   outbox's statement trigger `outbox_notify` sends `NOTIFY afterschool_outbox`);
//! - `event only`: the same with `platform.outbox`'s `outbox_notify` disabled, to tell the
//!   row's cost from the notification's;
//! - `no event`: the enrollments' event triggers disabled.
//!
//! Triggers are switched with `alter table ... enable/disable trigger` as the cluster owner
//! between parts. Round r runs the modes rotated by r (a Latin square: each mode once in
//! each position), so warm-up and drift fall on every mode. No outbox worker runs in this
//! benchmark (nobody LISTENs; the events stay pending). Checks: every confirmation
//! answered 200 and `confirmed`, and the parts with the event wrote exactly one
//! `enrollment.place` event per confirmed enrollment (its entity, nothing twice), the
//! `no event` parts none. The figure is `event+notify` against `no event`.

use super::*;

/// The enrollments' event triggers of migration `tenant/school/0004_change_events.sql`.
const TRIGGERS: [&str; 2] = ["enrollments_push_new", "enrollments_push_change"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    EventNotify,
    EventOnly,
    NoEvent,
}

impl Mode {
    const ALL: [Mode; 3] = [Mode::EventNotify, Mode::EventOnly, Mode::NoEvent];

    fn name(self) -> &'static str {
        match self {
            Mode::EventNotify => "event+notify",
            Mode::EventOnly => "event only  ",
            Mode::NoEvent => "no event    ",
        }
    }

    fn writes_event(self) -> bool {
        self != Mode::NoEvent
    }
}

/// One part's figures.
struct Part {
    mode: Mode,
    requests: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Part {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// Counts `(relation, trigger)` pairs among `pairs` whose enabled state is not `on`.
async fn triggers_not(
    admin: &sqlx::PgPool,
    schemas: &[String],
    relation: &str,
    names: &[&str],
    on: bool,
) -> anyhow::Result<(i64, i64)> {
    let names: Vec<String> = names.iter().map(|t| t.to_string()).collect();
    Ok(sqlx::query_as(
        "select count(*) filter (where (t.tgenabled = 'D') = $4), count(*)
         from pg_trigger t
         join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
         where c.relname = $2 and n.nspname = any($1) and t.tgname = any($3)",
    )
    .bind(schemas)
    .bind(relation)
    .bind(&names)
    .bind(on)
    .fetch_one(admin)
    .await?)
}

/// Sets the triggers for `mode` (every school's enrollments, and the outbox's notify
/// trigger), and checks the catalog says so.
async fn set_mode(admin: &sqlx::PgPool, schools: &[School], mode: Mode) -> anyhow::Result<()> {
    let verb = |on: bool| if on { "enable" } else { "disable" };
    let events = mode.writes_event();
    let notify = mode == Mode::EventNotify || mode == Mode::NoEvent;
    for s in schools {
        for t in TRIGGERS {
            sqlx::raw_sql(&format!(
                "alter table {}.enrollments {} trigger {t}",
                s.schema,
                verb(events)
            ))
            .execute(admin)
            .await?;
        }
    }
    sqlx::raw_sql(&format!(
        "alter table platform.outbox {} trigger outbox_notify",
        verb(notify)
    ))
    .execute(admin)
    .await?;
    let schemas: Vec<String> = schools.iter().map(|s| s.schema.clone()).collect();
    let (wrong, found) = triggers_not(admin, &schemas, "enrollments", &TRIGGERS, events).await?;
    anyhow::ensure!(
        wrong == 0 && found as usize == schools.len() * TRIGGERS.len(),
        "enrollment event triggers not {}d: {wrong} in the wrong state, {found} found",
        verb(events)
    );
    let (wrong, found) = triggers_not(
        admin,
        &["platform".to_string()],
        "outbox",
        &["outbox_notify"],
        notify,
    )
    .await?;
    anyhow::ensure!(
        wrong == 0 && found == 1,
        "outbox_notify not {}d",
        verb(notify)
    );
    Ok(())
}

fn pooled(parts: &[Part], mode: Mode) -> (usize, Duration, Vec<Duration>) {
    let mut lat = Vec::new();
    let (mut n, mut wall) = (0, Duration::ZERO);
    for p in parts.iter().filter(|p| p.mode == mode) {
        n += p.requests;
        wall += p.wall;
        lat.extend(&p.latencies);
    }
    lat.sort();
    (n, wall, lat)
}

/// The comparison; `false` when a check failed.
pub(super) async fn push_compare(
    db: &Database,
    client: &reqwest::Client,
    address: &str,
    schools: &[School],
    admin_tokens: &[String],
    o: Opts,
    rounds: usize,
) -> anyhow::Result<bool> {
    // (school index, enrollment id) of every hold the rush left
    let mut holds: Vec<(usize, i64)> = Vec::new();
    for (i, s) in schools.iter().enumerate() {
        let ids: Vec<i64> = sqlx::query_scalar(&format!(
            "select id from {}.enrollments where status = 'held' and hold_expires_at > now()
             order by id",
            s.schema
        ))
        .fetch_all(&db.admin)
        .await?;
        holds.extend(ids.into_iter().map(|id| (i, id)));
    }
    let mut rng = StdRng::seed_from_u64(o.seed.wrapping_add(15));
    holds.shuffle(&mut rng);
    let n_parts = Mode::ALL.len() * rounds;
    let per = holds.len() / n_parts;
    anyhow::ensure!(per > 0, "{} holds for {n_parts} parts", holds.len());
    println!(
        "\n--- push compare (issue #15): {} holds confirmed by the school admin over HTTP \
         (POST /school/enrollments/:id/confirm) in {n_parts} parts of {per}, {} requests in flight, \
         server pool {}; modes event+notify / event only (outbox_notify disabled) / no event \
         ({} disabled), rotated per round; no outbox worker ---",
        per * n_parts,
        o.clients,
        o.pool,
        TRIGGERS.join(" + ")
    );
    let mut parts: Vec<Part> = Vec::new();
    let mut ok = true;
    for k in 0..n_parts {
        let (round, pos) = (k / Mode::ALL.len(), k % Mode::ALL.len());
        let mode = Mode::ALL[(pos + round) % Mode::ALL.len()];
        let chunk = &holds[k * per..(k + 1) * per];
        set_mode(&db.admin, schools, mode).await?;
        sqlx::raw_sql("checkpoint").execute(&db.admin).await?;
        let outbox_before: i64 =
            sqlx::query_scalar("select coalesce(max(id), 0) from platform.outbox")
                .fetch_one(&db.admin)
                .await?;
        let before_load = load();
        let sampler = Sampler::start(&db.admin, format!("usename = '{}'", db.roles.app()));
        let started = Instant::now();
        let answers: Vec<(usize, i64, u16, Value, Duration)> =
            futures::stream::iter(chunk.iter().map(|&(i, id)| {
                let client = client.clone();
                let url = format!(
                    "{address}/t/{}/api/v1/school/enrollments/{id}/confirm",
                    schools[i].code
                );
                let token = admin_tokens[i].clone();
                async move {
                    let t = Instant::now();
                    let (status, body) =
                        common::answer(client.post(&url).bearer_auth(&token).send().await).await;
                    (i, id, status, body, t.elapsed())
                }
            }))
            .buffer_unordered(o.clients)
            .collect()
            .await;
        let wall = started.elapsed();
        let (samples, activity) = sampler.finish().await?;
        let mut latencies: Vec<Duration> = answers.iter().map(|a| a.4).collect();
        latencies.sort();
        let part = Part {
            mode,
            requests: answers.len(),
            wall,
            latencies,
        };
        // --- this part's checks ---
        let bad: Vec<_> = answers
            .iter()
            .filter(|a| a.2 != 200 || a.3["status"] != "confirmed" || a.3["id"] != a.1)
            .collect();
        let expected: HashSet<String> = answers
            .iter()
            .filter(|a| a.2 == 200)
            .map(|a| format!("enrollment:{}:{}", schools[a.0].schema, a.1))
            .collect();
        let written: Vec<(String, String, bool)> = sqlx::query_as(
            "select kind, entity, coalesce((payload->>'ended')::boolean, false)
             from platform.outbox where id > $1 order by id",
        )
        .bind(outbox_before)
        .fetch_all(&db.admin)
        .await?;
        let places: Vec<&String> = written
            .iter()
            .filter(|w| w.0 == "enrollment.place")
            .map(|w| &w.1)
            .collect();
        let distinct: HashSet<&String> = places.iter().copied().collect();
        let others = written.len() - places.len();
        let ended = written.iter().filter(|w| w.2).count();
        let mut confirmed = 0i64;
        for (i, s) in schools.iter().enumerate() {
            let ids: Vec<i64> = chunk.iter().filter(|c| c.0 == i).map(|c| c.1).collect();
            confirmed += sqlx::query_scalar::<_, i64>(&format!(
                "select count(*) from {}.enrollments where id = any($1) and status = 'confirmed'",
                s.schema
            ))
            .bind(&ids)
            .fetch_one(&db.admin)
            .await?;
        }
        let events_ok = if mode.writes_event() {
            places.len() == expected.len()
                && distinct.len() == places.len()
                && distinct.iter().all(|e| expected.contains(*e))
                && ended == 0
        } else {
            places.is_empty()
        };
        let part_ok = bad.is_empty()
            && confirmed as usize == chunk.len()
            && events_ok
            && others == 0
            && answers.len() == chunk.len();
        let mut waits: Vec<(&String, &f64)> = activity
            .iter()
            .filter(|(w, _)| w.as_str() != "idle")
            .collect();
        waits.sort_by(|a, b| b.1.total_cmp(a.1));
        let waits: Vec<String> = waits
            .iter()
            .take(4)
            .map(|(w, v)| format!("{v:.1} {w}"))
            .collect();
        println!(
            "part {} (round {}) {}: {} confirmations in {:.2} s = {:.0} req/s; p50 {:.1} ms  p95 {:.1} ms  \
             p99 {:.1} ms  max {:.1} ms; 200 confirmed {}, other {}; {confirmed} confirmed in the database; \
             outbox +{} enrollment.place ({} distinct, {ended} ended), +{others} other; load average \
             {before_load} before, {} after: {}",
            k + 1,
            round + 1,
            mode.name(),
            part.requests,
            wall.as_secs_f64(),
            part.rps(),
            ms(percentile(&part.latencies, 0.5)),
            ms(percentile(&part.latencies, 0.95)),
            ms(percentile(&part.latencies, 0.99)),
            ms(*part.latencies.last().unwrap_or(&Duration::ZERO)),
            expected.len(),
            bad.len(),
            places.len(),
            distinct.len(),
            load(),
            if part_ok { "ok" } else { "FAILED" }
        );
        println!(
            "    server backends, average of {samples} samples: {}",
            waits.join("; ")
        );
        for a in bad.iter().take(5) {
            println!(
                "  e.g. {} enrollment {}: {} {}",
                schools[a.0].code, a.1, a.2, a.3
            );
        }
        if !events_ok {
            println!(
                "  FAIL: expected {} enrollment.place events (one per confirmed enrollment's entity, none ended), got {} ({} distinct)",
                if mode.writes_event() { expected.len() } else { 0 },
                places.len(),
                distinct.len()
            );
        }
        ok &= part_ok;
        parts.push(part);
    }
    // The triggers stay as the migrations made them.
    set_mode(&db.admin, schools, Mode::EventNotify).await?;

    let mut rps = BTreeMap::new();
    let mut p99 = BTreeMap::new();
    for mode in Mode::ALL {
        let (n, wall, lat) = pooled(&parts, mode);
        let r = n as f64 / wall.as_secs_f64();
        println!(
            "{} (its {rounds} parts): {n} confirmations in {:.2} s = {r:.0} req/s; p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms",
            mode.name(),
            wall.as_secs_f64(),
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.95)),
            ms(percentile(&lat, 0.99)),
        );
        rps.insert(mode.name(), r);
        p99.insert(mode.name(), ms(percentile(&lat, 0.99)));
    }
    // Cost per confirmation is 1 / throughput: what the event adds, relative to without.
    let cost = |m: Mode| (rps[Mode::NoEvent.name()] / rps[m.name()] - 1.0) * 100.0;
    let per_round = |m: Mode| -> Vec<String> {
        parts
            .chunks(Mode::ALL.len())
            .map(|round| {
                let of = |x: Mode| {
                    round
                        .iter()
                        .find(|p| p.mode == x)
                        .map_or(f64::NAN, Part::rps)
                };
                format!("{:+.1} %", (of(Mode::NoEvent) / of(m) - 1.0) * 100.0)
            })
            .collect()
    };
    println!(
        "RESULT push compare: writing the event costs {:+.1} % throughput per confirmation \
         ({:.0} req/s with it, {:.0} without; per round {}; goal < 10 %); p99 {:.1} ms with, {:.1} ms \
         without; the row alone (outbox_notify disabled) {:+.1} % ({:.0} req/s; per round {}); checks {}",
        cost(Mode::EventNotify),
        rps[Mode::EventNotify.name()],
        rps[Mode::NoEvent.name()],
        per_round(Mode::EventNotify).join(", "),
        p99[Mode::EventNotify.name()],
        p99[Mode::NoEvent.name()],
        cost(Mode::EventOnly),
        rps[Mode::EventOnly.name()],
        per_round(Mode::EventOnly).join(", "),
        if ok { "passed" } else { "FAILED" }
    );
    Ok(ok)
}
