//! A paid booking arranged through the API, as a parent's phone would do it: book, order,
//! pay at the WeChat Pay simulator's cashier, wait for the callback. Shared by the payment
//! tests and the browser journeys that start from a paid booking.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::TestApp;

const T: &str = "/t/sqsf/api/v1";

pub async fn book(app: &TestApp, token: &str, student: i64, course: i64) -> i64 {
    let (s, b) = app
        .send_json(
            Method::POST,
            Some(token),
            &format!("{T}/school/enrollments"),
            Some(json!({ "student_id": student, "course_id": course })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    b[0]["id"].as_i64().unwrap()
}

pub async fn order(app: &TestApp, token: &str, enrollments: &[i64], key: &str) -> (u16, Value) {
    app.send_json(
        Method::POST,
        Some(token),
        &format!("{T}/school/payments/orders"),
        Some(json!({ "enrollment_ids": enrollments, "channel": "h5", "idempotency_key": key })),
    )
    .await
}

/// Pays at the simulated cashier (the page's 确认支付 button).
pub async fn pay_at_cashier(app: &TestApp, h5_url: &str) {
    let prepay = h5_url.split("prepay_id=").nth(1).unwrap().to_string();
    let r = app
        .client
        .post(format!("{}/sim/wxpay/cashier", app.address))
        .form(&[("prepay_id", prepay.as_str()), ("action", "pay")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

pub async fn order_status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select status from platform.payment_orders where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

pub async fn enrollment_status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select status from school_sqsf.enrollments where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// Waits (real time) until the order reaches `status`.
pub async fn until_order(app: &TestApp, id: i64, status: &str) {
    for _ in 0..100 {
        if order_status(app, id).await == status {
            return;
        }
        let _ = app.sim_control(json!({ "deliver_due": true })).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "order {id} never became {status}: {}",
        order_status(app, id).await
    );
}

/// Lets the simulator complete refunds (moving the clock past its delay) until the line's
/// refund reaches `status`; the last status seen.
pub async fn until_refund(app: &TestApp, line: i64, status: &str) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        let _ = app.sim_control(json!({ "deliver_due": true })).await;
        seen = sqlx::query_scalar("select status from platform.refunds where line_id = $1")
            .bind(line)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
        if seen == status {
            break;
        }
        app.clock.advance(chrono::Duration::seconds(10));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// A paid enrollment: booked, ordered, paid at the cashier, confirmed. Returns
/// (enrollment, order id, line id).
pub async fn paid(
    app: &TestApp,
    token: &str,
    student: i64,
    course: i64,
    key: &str,
) -> (i64, i64, i64) {
    let e = book(app, token, student, course).await;
    let (s, o) = order(app, token, &[e], key).await;
    assert_eq!(s, 200, "{o}");
    pay_at_cashier(app, o["pay"]["h5_url"].as_str().unwrap()).await;
    let id = o["id"].as_i64().unwrap();
    until_order(app, id, "paid").await;
    (e, id, o["lines"][0]["id"].as_i64().unwrap())
}
