//! Open orders and what orders say (issue 13; R-P06, R-P03, R-S08): a parent pays an order
//! left unpaid again, in its own channel or the other one, or cancels it; an order's label
//! and what each line has left to refund follow its refunds; a clash is explained before
//! booking.

use reqwest::Method;
use serde_json::json;

use crate::fixtures::{published_course, school_with_families, Course};
use crate::helpers::TestApp;

#[tokio::test]
async fn r_p06_an_open_order_is_paid_again_and_replaced_when_paid_the_other_way() {
    let (app, fam, course) = school_with_families(1, 20).await;
    let token = fam[0].1.clone();
    let e = app.booked(&token, fam[0].0, course).await;
    let (s, o) = app.order(&token, &[e], "open-order-0001").await;
    assert_eq!(s, 200, "{o}");
    let id = o["id"].as_i64().unwrap();
    assert_eq!(
        (o["payable"].as_bool(), o["amount"].as_str()),
        (Some(true), Some("300.00"))
    );

    // The same way again: the same order, with its payment parameters.
    let (s, again) = app
        .school_post(
            &token,
            &format!("/payments/orders/{id}/pay"),
            json!({ "channel": "h5" }),
        )
        .await;
    assert_eq!((s, again["id"].as_i64()), (200, Some(id)), "{again}");
    assert!(again["pay"]["h5_url"].as_str().is_some(), "{again}");

    // Now inside WeChat: the H5 order closes, a JSAPI one opens for the same place (which
    // first needs the openid).
    let (s, wx) = app
        .school_post(
            &token,
            &format!("/payments/orders/{id}/pay"),
            json!({ "channel": "jsapi" }),
        )
        .await;
    assert_eq!(
        (s, wx["code"].as_str()),
        (409, Some("WX_OPENID_REQUIRED")),
        "{wx}"
    );
    let new_id = wx["details"]["order_id"].as_i64().unwrap();
    assert_ne!(new_id, id);
    assert_eq!(app.order_status(id).await, "closed");
    assert_eq!(app.order_status(new_id).await, "created");
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
    let (app, fam, course) = school_with_families(2, 20).await;
    let token = fam[0].1.clone();
    let e = app.booked(&token, fam[0].0, course).await;
    let (_, o) = app.order(&token, &[e], "cancel-order-01").await;
    let id = o["id"].as_i64().unwrap();

    // Another parent's order is not found, and stays open.
    let (s, other) = app
        .school(
            Method::POST,
            &fam[1].1,
            &format!("/payments/orders/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (s, other["code"].as_str()),
        (404, Some("ORDER_NOT_FOUND")),
        "{other}"
    );
    assert_eq!(app.order_status(id).await, "created");

    let (s, closed) = app
        .school(
            Method::POST,
            &token,
            &format!("/payments/orders/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(
        (closed["status_label"].as_str(), closed["payable"].as_bool()),
        (Some("已关闭"), Some(false))
    );
    assert_eq!(app.enrollment_status(e).await, "held");
    // Cancelled is cancelled: paying it again is refused; the place takes a new order.
    let (s, again) = app
        .school_post(
            &token,
            &format!("/payments/orders/{id}/pay"),
            json!({ "channel": "h5" }),
        )
        .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (409, Some("ORDER_CLOSED")),
        "{again}"
    );
    let (s, fresh) = app.order(&token, &[e], "cancel-order-02").await;
    assert_eq!(s, 200, "{fresh}");
    assert_ne!(fresh["id"].as_i64(), Some(id));
    assert_eq!(
        app.count("select count(*) from platform.audit_log where action = 'payment.order.cancel'")
            .await,
        1
    );
}

async fn refund(app: &TestApp, line: i64, amount: Option<&str>) {
    let admin = app.admin_token("sqsf").await;
    let (s, r) = app.refund(&admin, line, amount, "学校停课").await;
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
    let (app, fam, course) = school_with_families(1, 20).await;
    let token = fam[0].1.clone();
    let (_, _, line) = app.paid(&token, fam[0].0, course, "label-refund-01").await;
    let o = &app.my_orders(&token).await[0];
    assert_eq!(
        (
            o["status_label"].as_str(),
            o["lines"][0]["refundable"].as_str()
        ),
        (Some("已支付"), Some("300.00"))
    );

    refund(&app, line, Some("100.00")).await;
    let o = &app.my_orders(&token).await[0];
    assert_eq!(o["status_label"], "部分退款", "{o}");
    assert_eq!(
        (o["refunded"].as_str(), o["lines"][0]["refundable"].as_str()),
        (Some("100.00"), Some("200.00"))
    );

    refund(&app, line, None).await;
    let o = &app.my_orders(&token).await[0];
    assert_eq!(o["status_label"], "已退款", "{o}");
    assert_eq!(
        (o["refunded"].as_str(), o["lines"][0]["refundable"].as_str()),
        (Some("300.00"), Some("0.00"))
    );
    // The admin's list reads the same.
    let admin = app.admin_token("sqsf").await;
    let (_, all) = app.school_get(&admin, "/payments/orders").await;
    assert_eq!(all[0]["status_label"], "已退款", "{all}");
}

#[tokio::test]
async fn r_p03_a_clash_is_explained_before_booking() {
    let (app, fam, football) = school_with_families(1, 20).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let basketball = published_course(
        &app,
        &Course {
            weekdays: &[3],
            starts_at: "17:00",
            ends_at: "18:30",
            ..Course::new(&app, "basketball", "篮球队")
        },
    )
    .await;
    let path = format!("/children/{child}/offers/{basketball}/clashes");
    let (s, none) = app.school_get(&token, &path).await;
    assert_eq!((s, none), (200, json!([])));

    app.booked(&token, child, football).await;
    let (s, clash) = app.school_get(&token, &path).await;
    assert_eq!(s, 200, "{clash}");
    assert_eq!(clash[0]["with_course_id"].as_i64(), Some(football));
    assert_eq!(clash[0]["weekdays"], json!([3]));
    assert_eq!(
        (clash[0]["starts_at"].as_str(), clash[0]["ends_at"].as_str()),
        (Some("17:00"), Some("18:00"))
    );
    // The very words the booking's refusal carries.
    let (s, refused) = app.book(&token, child, basketball).await;
    assert_eq!(
        (s, refused["code"].as_str()),
        (409, Some("ENROLL_TIME_CONFLICT"))
    );
    assert_eq!(refused["message"], clash[0]["message"]);
}
