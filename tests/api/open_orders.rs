//! Open orders and what orders say (issue 13; R-P06, R-P03, R-S08): a parent pays an order
//! left unpaid again, in its own channel or the other one, or cancels it; an order's label
//! and what each line has left to refund follow its refunds; a clash is explained before
//! booking.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::{families, insert_course, Course};
use crate::helpers::{spawn_app, TestApp};
use crate::paying::{book, count, order, order_status, paid};

const T: &str = "/t/sqsf/api/v1";

async fn school(n: usize) -> (TestApp, Vec<(i64, String)>, i64) {
    let app = spawn_app().await;
    app.apply_demo().await;
    let fam = families(&app, n).await;
    let course = insert_course(&app, &Course::new(&app, "swim", "游泳")).await;
    (app, fam, course)
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    app.send_json(Method::POST, Some(token), &format!("{T}{path}"), body)
        .await
}

async fn mine(app: &TestApp, token: &str) -> Value {
    let (s, v) = app
        .send_json(
            Method::GET,
            Some(token),
            &format!("{T}/school/payments/orders/mine"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn r_p06_an_open_order_is_paid_again_and_replaced_when_paid_the_other_way() {
    let (app, fam, course) = school(1).await;
    let token = fam[0].1.clone();
    let e = book(&app, &token, fam[0].0, course).await;
    let (s, o) = order(&app, &token, &[e], "open-order-0001").await;
    assert_eq!(s, 200, "{o}");
    let id = o["id"].as_i64().unwrap();
    assert_eq!(
        (o["payable"].as_bool(), o["amount"].as_str()),
        (Some(true), Some("300.00"))
    );

    // The same way again: the same order, with its payment parameters.
    let (s, again) = post(
        &app,
        &token,
        &format!("/school/payments/orders/{id}/pay"),
        Some(json!({ "channel": "h5" })),
    )
    .await;
    assert_eq!((s, again["id"].as_i64()), (200, Some(id)), "{again}");
    assert!(again["pay"]["h5_url"].as_str().is_some(), "{again}");

    // Now inside WeChat: the H5 order closes, a JSAPI one opens for the same place (which
    // first needs the openid).
    let (s, wx) = post(
        &app,
        &token,
        &format!("/school/payments/orders/{id}/pay"),
        Some(json!({ "channel": "jsapi" })),
    )
    .await;
    assert_eq!(
        (s, wx["code"].as_str()),
        (409, Some("WX_OPENID_REQUIRED")),
        "{wx}"
    );
    let new_id = wx["details"]["order_id"].as_i64().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(order_status(&app, id).await, "closed");
    assert_eq!(order_status(&app, new_id).await, "created");
    let reason: String =
        sqlx::query_scalar("select close_reason from platform.payment_orders where id = $1")
            .bind(id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(reason, "已改用其他方式支付");
}

#[tokio::test]
async fn r_p06_a_parent_cancels_their_own_unpaid_order_and_the_place_stays_held() {
    let (app, fam, course) = school(2).await;
    let token = fam[0].1.clone();
    let e = book(&app, &token, fam[0].0, course).await;
    let (_, o) = order(&app, &token, &[e], "cancel-order-01").await;
    let id = o["id"].as_i64().unwrap();

    // Another parent's order is not found, and stays open.
    let (s, other) = post(
        &app,
        &fam[1].1,
        &format!("/school/payments/orders/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(
        (s, other["code"].as_str()),
        (404, Some("ORDER_NOT_FOUND")),
        "{other}"
    );
    assert_eq!(order_status(&app, id).await, "created");

    let (s, closed) = post(
        &app,
        &token,
        &format!("/school/payments/orders/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(
        (closed["status_label"].as_str(), closed["payable"].as_bool()),
        (Some("已关闭"), Some(false))
    );
    assert_eq!(crate::paying::enrollment_status(&app, e).await, "held");
    // Cancelled is cancelled: paying it again is refused; the place takes a new order.
    let (s, again) = post(
        &app,
        &token,
        &format!("/school/payments/orders/{id}/pay"),
        Some(json!({ "channel": "h5" })),
    )
    .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (409, Some("ORDER_CLOSED")),
        "{again}"
    );
    let (s, fresh) = order(&app, &token, &[e], "cancel-order-02").await;
    assert_eq!(s, 200, "{fresh}");
    assert_ne!(fresh["id"].as_i64(), Some(id));
    assert_eq!(
        count(
            &app,
            "select count(*) from platform.audit_log where action = 'payment.order.cancel'"
        )
        .await,
        1
    );
}

async fn refund(app: &TestApp, line: i64, amount: Option<&str>) {
    let admin = app.admin_token("sqsf").await;
    let (s, r) = post(
        app,
        &admin,
        "/school/payments/refunds",
        Some(json!({ "line_id": line, "amount": amount, "reason": "学校停课" })),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let id = r["id"].as_i64().unwrap();
    for _ in 0..200 {
        let _ = app.sim_control(json!({ "deliver_due": true })).await;
        let st: String = sqlx::query_scalar("select status from platform.refunds where id = $1")
            .bind(id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
        if st == "succeeded" {
            return;
        }
        app.clock.advance(chrono::Duration::seconds(10));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("refund {id} never arrived");
}

#[tokio::test]
async fn r_s08_an_orders_label_and_what_is_left_to_refund_follow_its_refunds() {
    let (app, fam, course) = school(1).await;
    let token = fam[0].1.clone();
    let (_, _, line) = paid(&app, &token, fam[0].0, course, "label-refund-01").await;
    let o = &mine(&app, &token).await[0];
    assert_eq!(
        (
            o["status_label"].as_str(),
            o["lines"][0]["refundable"].as_str()
        ),
        (Some("已支付"), Some("300.00"))
    );

    refund(&app, line, Some("100.00")).await;
    let o = &mine(&app, &token).await[0];
    assert_eq!(o["status_label"], "部分退款", "{o}");
    assert_eq!(
        (o["refunded"].as_str(), o["lines"][0]["refundable"].as_str()),
        (Some("100.00"), Some("200.00"))
    );

    refund(&app, line, None).await;
    let o = &mine(&app, &token).await[0];
    assert_eq!(o["status_label"], "已退款", "{o}");
    assert_eq!(
        (o["refunded"].as_str(), o["lines"][0]["refundable"].as_str()),
        (Some("300.00"), Some("0.00"))
    );
    // The admin's list reads the same.
    let admin = app.admin_token("sqsf").await;
    let (_, all) = app
        .get_json_as(&admin, &format!("{T}/school/payments/orders"))
        .await;
    assert_eq!(all[0]["status_label"], "已退款", "{all}");
}

#[tokio::test]
async fn r_p03_a_clash_is_explained_before_booking() {
    let (app, fam, football) = school(1).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let basketball = insert_course(
        &app,
        &Course {
            weekdays: &[3],
            starts_at: "17:00",
            ends_at: "18:30",
            ..Course::new(&app, "basketball", "篮球队")
        },
    )
    .await;
    let path = format!("{T}/school/children/{child}/offers/{basketball}/clashes");
    let (s, none) = app.get_json_as(&token, &path).await;
    assert_eq!((s, none), (200, json!([])));

    book(&app, &token, child, football).await;
    let (s, clash) = app.get_json_as(&token, &path).await;
    assert_eq!(s, 200, "{clash}");
    assert_eq!(clash[0]["with_course_id"].as_i64(), Some(football));
    assert_eq!(clash[0]["weekdays"], json!([3]));
    assert_eq!(
        (clash[0]["starts_at"].as_str(), clash[0]["ends_at"].as_str()),
        (Some("17:00"), Some("18:00"))
    );
    // The very words the booking's refusal carries.
    let (s, refused) = post(
        &app,
        &token,
        "/school/enrollments",
        Some(json!({ "student_id": child, "course_id": basketball })),
    )
    .await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (409, Some("ENROLL_TIME_CONFLICT"))
    );
    assert_eq!(refused["message"], clash[0]["message"]);
}
