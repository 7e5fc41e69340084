//! One Casbin permission check with the full policy loaded (issue #3: p99 under 20 µs).
//! Criterion reports the mean; the p99 of single checks is measured directly, once on one
//! thread and once with two threads sharing the enforcer (no lock).
//!
//! Run: `cargo bench --bench authz`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use afterschool::auth::authz::Authz;
use afterschool::auth::model::{Domain, Role};
use criterion::Criterion;

const CHECKS: [(Role, Domain, &str, &str); 4] = [
    (Role::SchoolAdmin, Domain::School, "school.org", "read"),
    (Role::Teacher, Domain::School, "tenant.roles", "write"),
    (Role::Parent, Domain::School, "school.calendar", "read"),
    (
        Role::OperatorAudit,
        Domain::Platform,
        "platform.audit",
        "read",
    ),
];

fn p99(authz: &Authz, n: usize) -> (Duration, Duration, Duration) {
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let (role, dom, obj, act) = CHECKS[i % CHECKS.len()];
        let t = Instant::now();
        black_box(authz.allows(black_box(role), dom, obj, act));
        samples.push(t.elapsed());
    }
    samples.sort();
    (samples[n / 2], samples[n * 99 / 100], samples[n - 1])
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let authz = Arc::new(rt.block_on(Authz::embedded()).expect("policy"));

    let mut c = Criterion::default().configure_from_args();
    c.bench_function("authz/allowed", |b| {
        b.iter(|| {
            authz.allows(
                black_box(Role::SchoolAdmin),
                Domain::School,
                "school.org",
                "read",
            )
        })
    });
    c.bench_function("authz/denied", |b| {
        b.iter(|| {
            authz.allows(
                black_box(Role::Teacher),
                Domain::School,
                "tenant.roles",
                "write",
            )
        })
    });
    c.final_summary();

    let n = 200_000;
    let (p50, p99v, max) = p99(&authz, n);
    println!("single thread: p50 {p50:?}  p99 {p99v:?}  max {max:?}  over {n} checks");
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let a = authz.clone();
            std::thread::spawn(move || p99(&a, n))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let (p50, p99v, max) = h.join().expect("thread");
        println!("2 threads, thread {i}: p50 {p50:?}  p99 {p99v:?}  max {max:?}  over {n} checks");
    }
}
