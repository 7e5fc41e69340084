//! Meals end to end (issue #16; R-S07, R-S05, R-P07, R-P11, R-P12, R-S10's meal half): an
//! admin publishes items and packages with their rules, a parent orders next month's lunch
//! and pays through the same order, callback and escrow as a booking, the day close
//! releases one served day at a time, and bad input gets its own code and changes nothing.

use chrono::{Duration, NaiveDate};
use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::demo_with_families;
use crate::helpers::TestApp;

pub(crate) fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Weekdays of November 2026 (no holiday): what a November lunch is charged for.
const NOVEMBER_DAYS: usize = 21;

/// The rules that open November's window on the test clock (Monday 2026-10-12).
pub(crate) async fn open_november(app: &TestApp, admin: &str) {
    let (s, b) = app
        .school(
            Method::PATCH,
            admin,
            "/meals/rules",
            Some(json!({ "opens_days_before": 30, "closes_days_before": 1 })),
        )
        .await;
    assert_eq!(s, 200, "{b}");
}

async fn new_item(app: &TestApp, admin: &str, body: Value) -> (u16, Value) {
    app.school(Method::POST, admin, "/meals/items", Some(body))
        .await
}

/// A published item; answers its id.
pub(crate) async fn published_item(app: &TestApp, admin: &str, body: Value) -> i64 {
    let (s, b) = new_item(app, admin, body).await;
    assert_eq!(s, 200, "{b}");
    let id = b["id"].as_i64().unwrap();
    let (s, b) = app
        .school(
            Method::POST,
            admin,
            &format!("/meals/items/{id}/publish"),
            None,
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("published")), "{b}");
    id
}

pub(crate) fn lunch(price: &str) -> Value {
    json!({ "kind": "lunch", "name": "标准午餐", "price": price, "levels": [1, 2, 3, 4, 5, 6],
            "allergens": ["egg", "soy"] })
}

async fn order(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.school(Method::POST, token, "/meals/orders", Some(body))
        .await
}

/// Orders and pays a meal; answers the meal order's id.
pub(crate) async fn paid_meal(app: &TestApp, token: &str, body: Value, key: &str) -> i64 {
    let (s, o) = order(app, token, body).await;
    assert_eq!(s, 200, "{o}");
    let meal = o["id"].as_i64().unwrap();
    let body = json!({ "meal_order_ids": [meal], "channel": "h5", "idempotency_key": key });
    let (s, p) = app
        .school(Method::POST, token, "/payments/orders", Some(body))
        .await;
    assert_eq!(s, 200, "{p}");
    app.pay_at_cashier(p["pay"]["h5_url"].as_str().unwrap())
        .await;
    app.until_order(p["id"].as_i64().unwrap(), "paid").await;
    meal
}

pub(crate) async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

#[tokio::test]
async fn r_s07_an_admin_publishes_items_and_packages_and_bad_input_is_refused() {
    // Arrange
    let (app, fam) = demo_with_families(1).await;
    let admin = app.admin_token("sqsf").await;
    let lunch_id = published_item(&app, &admin, lunch("12.50")).await;
    let (s, tea) = new_item(
        &app,
        &admin,
        json!({ "kind": "afternoon_tea", "name": "水果下午茶", "price": "4", "levels": [1, 2, 3],
                "daily_capacity": 300, "allergens": ["milk"] }),
    )
    .await;
    assert_eq!(s, 200, "{tea}");
    let tea_id = tea["id"].as_i64().unwrap();

    // Act: a package of lunch and tea, published before and after its tea is
    let (s, pkg) = app
        .school(
            Method::POST,
            &admin,
            "/meals/packages",
            Some(
                json!({ "name": "午餐+下午茶", "price": "15.00", "item_ids": [lunch_id, tea_id] }),
            ),
        )
        .await;
    assert_eq!(s, 200, "{pkg}");
    let pkg_id = pkg["id"].as_i64().unwrap();
    let publish_pkg = format!("/meals/packages/{pkg_id}/publish");
    let (early, early_b) = app.school(Method::POST, &admin, &publish_pkg, None).await;
    app.school(
        Method::POST,
        &admin,
        &format!("/meals/items/{tea_id}/publish"),
        None,
    )
    .await;
    let (late, late_b) = app.school(Method::POST, &admin, &publish_pkg, None).await;

    // Assert
    assert_eq!(
        (early, early_b["code"].as_str()),
        (422, Some("MEAL_PACKAGE_ITEMS_INVALID"))
    );
    assert_eq!(late, 200, "{late_b}");
    assert_eq!(
        late_b["levels"],
        json!([1, 2, 3]),
        "the grades both items serve"
    );
    assert_eq!(late_b["allergen_labels"], json!(["蛋类", "大豆", "乳制品"]));
    assert_eq!(tea["kind_label"], "下午茶");
    let (s, list) = app.school(Method::GET, &admin, "/meals/items", None).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(2)));
    assert_eq!(list[0]["kind"], "lunch", "listed by kind: lunch before tea");

    // An item in a published package cannot be withdrawn before the package.
    let (s, b) = app
        .school(
            Method::POST,
            &admin,
            &format!("/meals/items/{tea_id}/withdraw"),
            None,
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (422, Some("MEAL_PACKAGE_ITEMS_INVALID")),
        "{b}"
    );

    // Bad input: each its own code, nothing written.
    let items_before = count(&app, "select count(*) from school_sqsf.meal_items").await;
    let packages_before = count(&app, "select count(*) from school_sqsf.meal_packages").await;
    let bad_items = [
        (lunch("-1"), "MEAL_PRICE_INVALID"),
        (lunch("999"), "MEAL_PRICE_INVALID"),
        (lunch("0"), "MEAL_PRICE_INVALID"),
        (lunch("12.345"), "MEAL_PRICE_INVALID"),
        (
            json!({ "kind": "lunch", "name": "", "price": "1", "levels": [1] }),
            "NAME_INVALID",
        ),
        (
            json!({ "kind": "lunch", "name": "x", "price": "1", "levels": [] }),
            "LEVELS_INVALID",
        ),
        (
            json!({ "kind": "lunch", "name": "x", "price": "1", "levels": [10] }),
            "LEVELS_INVALID",
        ),
        (
            json!({ "kind": "lunch", "name": "x", "price": "1", "levels": [1], "daily_capacity": -5 }),
            "CAPACITY_INVALID",
        ),
        (
            json!({ "kind": "lunch", "code": "Bad Code", "name": "x", "price": "1", "levels": [1] }),
            "MEAL_CODE_INVALID",
        ),
    ];
    for (body, code) in bad_items {
        let (s, b) = new_item(&app, &admin, body.clone()).await;
        assert_eq!((s, b["code"].as_str()), (422, Some(code)), "{body} → {b}");
        assert!(!b["message"].as_str().unwrap_or_default().is_empty());
    }
    let bad_packages = [
        (
            json!({ "name": "空套餐", "price": "10", "item_ids": [] }),
            422,
            "MEAL_PACKAGE_EMPTY",
        ),
        (
            json!({ "name": "两份午餐", "price": "10", "item_ids": [lunch_id, lunch_id + 1000] }),
            404,
            "MEAL_ITEM_NOT_FOUND",
        ),
        (
            json!({ "name": "午餐", "price": "-3", "item_ids": [lunch_id] }),
            422,
            "MEAL_PRICE_INVALID",
        ),
    ];
    for (body, status, code) in bad_packages {
        let (s, b) = app
            .school(Method::POST, &admin, "/meals/packages", Some(body.clone()))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
    }
    let second_lunch = published_item(&app, &admin, lunch("11")).await;
    let (s, b) = app
        .school(
            Method::POST,
            &admin,
            "/meals/packages",
            Some(
                json!({ "name": "两份午餐", "price": "20", "item_ids": [lunch_id, second_lunch] }),
            ),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (422, Some("MEAL_PACKAGE_ITEMS_INVALID")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("都是午餐"), "{b}");
    assert_eq!(
        count(&app, "select count(*) from school_sqsf.meal_items").await,
        items_before + 1,
        "only the good second lunch was added"
    );
    assert_eq!(
        count(&app, "select count(*) from school_sqsf.meal_packages").await,
        packages_before
    );

    // Parents read the menu but cannot publish.
    let (s, _) = new_item(&app, &fam[0].1, lunch("12")).await;
    assert_eq!(s, 403);
    assert!(
        count(
            &app,
            "select count(*) from platform.audit_log where action = 'meals.package.publish'"
        )
        .await
            == 1
    );
}

#[tokio::test]
async fn r_s05_meal_rules_and_excluded_days_decide_the_served_days() {
    // Arrange
    let (app, fam) = demo_with_families(1).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    published_item(&app, &admin, lunch("10")).await;

    // Act: the canteen closes on 2026-11-20 for maintenance
    let (s, r) = app
        .school(
            Method::POST,
            &admin,
            "/meals/excluded-days",
            Some(json!({ "day": "2026-11-20", "reason": "食堂检修" })),
        )
        .await;
    let (_, offer) = app
        .school(
            Method::GET,
            &fam[0].1,
            &format!("/children/{}/meals/offer", fam[0].0),
            None,
        )
        .await;

    // Assert
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["excluded_days"][0]["reason"], "食堂检修");
    let nov = offer["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["starts_on"] == "2026-11-01")
        .unwrap_or_else(|| panic!("November on offer: {offer}"));
    let days = nov["served_days"].as_array().unwrap();
    assert_eq!(days.len(), NOVEMBER_DAYS - 1, "{nov}");
    assert!(!days.contains(&json!("2026-11-20")));
    assert_eq!(nov["open"], true);
    assert_eq!(
        nov["choices"][0]["total"],
        format!("{}.00", 10 * (NOVEMBER_DAYS - 1))
    );
    // 2026-11-20 in the week view: no meal, with the canteen's reason.
    let (_, week) = app
        .school(Method::GET, &admin, "/meals/menu?day=2026-11-18", None)
        .await;
    let fri = &week[4];
    assert_eq!(
        (fri["day"].as_str(), fri["served"].as_bool()),
        (Some("2026-11-20"), Some(false))
    );
    assert!(fri["note"].as_str().unwrap().contains("食堂检修"), "{fri}");

    // Bad rules: each refused, nothing changed.
    for (body, field) in [
        (json!({ "opens_days_before": 0 }), "opens_days_before"),
        (json!({ "closes_days_before": 31 }), "closes_days_before"),
        (
            json!({ "opens_days_before": 5, "closes_days_before": 5 }),
            "closes_days_before",
        ),
        (json!({ "stop_cutoff": "25:00" }), "stop_cutoff"),
        (json!({ "hold_minutes": 2 }), "hold_minutes"),
    ] {
        let (s, b) = app
            .school(Method::PATCH, &admin, "/meals/rules", Some(body.clone()))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("MEAL_RULES_INVALID")),
            "{body}"
        );
        assert_eq!(b["details"]["field"], field, "{b}");
    }
    let (_, now) = app.school(Method::GET, &admin, "/meals/rules", None).await;
    assert_eq!(
        (
            now["opens_days_before"].as_i64(),
            now["stop_cutoff"].as_str()
        ),
        (Some(30), Some("15:00"))
    );
}

#[tokio::test]
async fn r_p07_a_parent_orders_next_months_lunch_pays_it_and_each_served_day_is_released() {
    // Arrange
    let (app, fam) = demo_with_families(1).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    let (s, b) = app
        .school(
            Method::PUT,
            &admin,
            &format!("/meals/items/{item}/menu"),
            Some(json!({ "days": [{ "day": "2026-11-02", "dishes": "番茄炒蛋、米饭" }] })),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    // Act: order, pay at the cashier
    let (s, o) = order(
        &app,
        &token,
        json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item }),
    )
    .await;
    assert_eq!(s, 200, "{o}");
    let meal = o["id"].as_i64().unwrap();
    let body =
        json!({ "meal_order_ids": [meal], "channel": "h5", "idempotency_key": "meal-pay-0001" });
    let (s, p) = app
        .school(Method::POST, &token, "/payments/orders", Some(body))
        .await;
    assert_eq!(s, 200, "{p}");
    app.pay_at_cashier(p["pay"]["h5_url"].as_str().unwrap())
        .await;
    app.until_order(p["id"].as_i64().unwrap(), "paid").await;

    // Assert: held, then confirmed by WeChat's word only
    let total = format!("{:.2}", 12.5 * NOVEMBER_DAYS as f64);
    assert_eq!(
        (
            o["status"].as_str(),
            o["amount"].as_str(),
            o["day_count"].as_i64()
        ),
        (
            Some("held"),
            Some(total.as_str()),
            Some(NOVEMBER_DAYS as i64)
        )
    );
    assert_eq!(p["amount"], total.as_str());
    assert_eq!(p["lines"][0]["meal_order_id"], meal);
    assert!(p["lines"][0]["enrollment_id"].is_null());
    let (_, records) = app
        .school(
            Method::GET,
            &token,
            &format!("/children/{child}/meals/orders"),
            None,
        )
        .await;
    assert_eq!(records[0]["status_label"], "已订餐", "{records}");
    assert_eq!(records[0]["period_label"], "2026年11月");
    let (_, week) = app
        .school(
            Method::GET,
            &token,
            &format!("/children/{child}/meals/week?day=2026-11-04"),
            None,
        )
        .await;
    let days = week["days"].as_array().unwrap();
    assert_eq!(days[0]["eats_at_school"], true, "{week}");
    assert_eq!(days[0]["meals"][0]["dishes"], "番茄炒蛋、米饭");
    assert_eq!(days[5]["eats_at_school"], false, "Saturday");
    let line = p["lines"][0]["id"].as_i64().unwrap();
    let paid: rust_decimal::Decimal =
        sqlx::query_scalar("select paid from platform.ledger_lines where line_id = $1")
            .bind(line)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(paid.to_string(), total);

    // The day close of Monday 2026-11-02 releases one day (12.50), twice run, once posted;
    // Sunday 2026-11-01 releases nothing.
    app.clock.advance(Duration::days(22) + Duration::hours(16)); // Tuesday 11-03 02:00
    let sunday = afterschool::payments::daily::close_day(&app.state, d("2026-11-01"))
        .await
        .unwrap();
    let first = afterschool::payments::daily::close_day(&app.state, d("2026-11-02"))
        .await
        .unwrap();
    let again = afterschool::payments::daily::close_day(&app.state, d("2026-11-02"))
        .await
        .unwrap();
    assert_eq!(sunday.released_lines, 0);
    assert_eq!(
        (first.released_lines, first.released.as_str()),
        (1, "12.50")
    );
    assert_eq!(again.released_lines, 0);
    let (released, held): (rust_decimal::Decimal, rust_decimal::Decimal) = sqlx::query_as(
        "select released, paid - released - refund_reserved - refunded from platform.ledger_lines
         where line_id = $1",
    )
    .bind(line)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(released.to_string(), "12.50");
    assert_eq!(
        held.to_string(),
        format!("{:.2}", 12.5 * (NOVEMBER_DAYS - 1) as f64),
        "paid = released + refunded + held"
    );
}

#[tokio::test]
async fn bad_meal_orders_are_refused_with_their_own_codes_and_change_nothing() {
    // Arrange: family 0 in 一年级 (level 1), family 1 in 三年级
    let (app, fam) = demo_with_families(2).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    let senior = published_item(
        &app,
        &admin,
        json!({ "kind": "dinner", "name": "高年级晚餐", "price": "15", "levels": [6] }),
    )
    .await;
    let (_, draft) = new_item(
        &app,
        &admin,
        json!({ "kind": "breakfast", "name": "早餐", "price": "5", "levels": [1] }),
    )
    .await;
    let nov = |extra: Value| {
        let mut b = json!({ "student_id": child, "period_start": "2026-11-01" });
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    let (s, first) = order(&app, &token, nov(json!({ "item_id": item }))).await;
    assert_eq!(s, 200, "{first}");
    let before = count(&app, "select count(*) from school_sqsf.meal_orders").await;

    // Act + Assert
    let cases = [
        (nov(json!({ "item_id": item })), 409, "MEAL_ALREADY_ORDERED"),
        (
            json!({ "student_id": child, "period_start": "2026-12-01", "item_id": item }),
            409,
            "MEAL_WINDOW_CLOSED",
        ),
        (
            json!({ "student_id": child, "period_start": "2026-11-02", "item_id": item }),
            422,
            "MEAL_PERIOD_INVALID",
        ),
        (
            nov(json!({ "item_id": senior })),
            422,
            "MEAL_GRADE_NOT_ELIGIBLE",
        ),
        (
            nov(json!({ "item_id": draft["id"] })),
            422,
            "MEAL_NOT_OFFERED",
        ),
        (nov(json!({})), 422, "MEAL_CHOICE_INVALID"),
        (
            nov(json!({ "item_id": item, "package_id": 1 })),
            422,
            "MEAL_CHOICE_INVALID",
        ),
        (nov(json!({ "item_id": 99999 })), 404, "MEAL_ITEM_NOT_FOUND"),
        (
            json!({ "student_id": fam[1].0, "period_start": "2026-11-01", "item_id": item }),
            404,
            "CHILD_NOT_FOUND",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) = order(&app, &token, body.clone()).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
        let msg = b["message"].as_str().unwrap_or_default();
        assert!(!msg.is_empty() && !msg.is_ascii(), "a Chinese message: {b}");
    }
    let (_, closed) = order(
        &app,
        &token,
        json!({ "student_id": child, "period_start": "2026-12-01", "item_id": item }),
    )
    .await;
    assert!(
        closed["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-01 00:00"),
        "{closed}"
    );

    // An allergen the child has warns until acknowledged.
    let (s, a) = app
        .school(
            Method::PUT,
            &fam[1].1,
            &format!("/children/{}/allergies", fam[1].0),
            Some(json!({ "allergens": ["egg"], "note": "鸡蛋过敏" })),
        )
        .await;
    assert_eq!((s, a["allergens"].clone()), (200, json!(["egg"])), "{a}");
    let other = json!({ "student_id": fam[1].0, "period_start": "2026-11-01", "item_id": item });
    let (s, warn) = order(&app, &fam[1].1, other.clone()).await;
    assert_eq!(
        (s, warn["code"].as_str()),
        (409, Some("MEAL_ALLERGEN_WARNING")),
        "{warn}"
    );
    assert_eq!(warn["details"]["allergens"], json!(["蛋类"]));
    assert_eq!(
        count(&app, "select count(*) from school_sqsf.meal_orders").await,
        before,
        "no refusal wrote an order"
    );
    let mut ack = other;
    ack["allergy_acknowledged"] = json!(true);
    let (s, b) = order(&app, &fam[1].1, ack).await;
    assert_eq!(s, 200, "{b}");
    let sealed: Vec<u8> = sqlx::query_scalar("select sealed from school_sqsf.student_allergies")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains("鸡蛋"),
        "allergies are encrypted at rest"
    );

    // Paying someone else's meal order, or a cancelled one, is refused.
    let body = json!({ "meal_order_ids": [b["id"]], "channel": "h5", "idempotency_key": "meal-not-mine-01" });
    let (s, e) = app
        .school(Method::POST, &token, "/payments/orders", Some(body))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (404, Some("MEAL_ORDER_NOT_FOUND")),
        "{e}"
    );
    let id = first["id"].as_i64().unwrap();
    let (s, c) = app
        .school(
            Method::POST,
            &token,
            &format!("/meals/orders/{id}/cancel"),
            None,
        )
        .await;
    assert_eq!(
        (s, c["status_label"].as_str()),
        (200, Some("已取消")),
        "{c}"
    );
    let body =
        json!({ "meal_order_ids": [id], "channel": "h5", "idempotency_key": "meal-cancelled-1" });
    let (s, e) = app
        .school(Method::POST, &token, "/payments/orders", Some(body))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("MEAL_ORDER_NOT_HELD")),
        "{e}"
    );
    let (s, again) = order(&app, &token, nov(json!({ "item_id": item }))).await;
    assert_eq!(s, 200, "a cancelled order gives the lunch back: {again}");
}

#[tokio::test]
async fn concurrent_orders_never_exceed_capacity_nor_order_one_childs_lunch_twice() {
    // Arrange: 6 families, a lunch with 3 places a day
    let (app, fam) = demo_with_families(6).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let mut body = lunch("10");
    body["daily_capacity"] = json!(3);
    let item = published_item(&app, &admin, body).await;

    // Act: every family at once, and the first one four times at once
    let mut tries = Vec::new();
    for (i, (child, token)) in fam.iter().enumerate() {
        for _ in 0..if i == 0 { 4 } else { 1 } {
            let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item });
            tries.push(order(&app, token, b));
        }
    }
    let codes: Vec<String> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|(s, b)| match s {
            200 => "OK".to_string(),
            _ => b["code"].as_str().unwrap_or("?").to_string(),
        })
        .collect();

    // Assert
    let ok = codes.iter().filter(|c| *c == "OK").count();
    assert_eq!(ok, 3, "{codes:?}");
    assert!(
        codes
            .iter()
            .all(|c| c == "OK" || c == "MEAL_SOLD_OUT" || c == "MEAL_ALREADY_ORDERED"),
        "{codes:?}"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from school_sqsf.meal_orders where status = 'held'"
        )
        .await,
        3
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from (select student_id from school_sqsf.meal_orders
             where status = 'held' group by student_id having count(*) > 1) x"
        )
        .await,
        0,
        "no child holds two lunches"
    );
    assert_eq!(
        count(&app, "select taken::bigint from school_sqsf.meal_capacity").await,
        3
    );

    // A hold that runs out gives its place back to the next parent.
    app.clock.advance(Duration::minutes(121));
    let mut placed = 0;
    for (i, (child, _)) in fam.iter().enumerate() {
        let token = crate::fixtures::relogin(&app, i).await;
        let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item });
        if order(&app, &token, b).await.0 == 200 {
            placed += 1;
        }
    }
    assert_eq!(placed, 3, "three places again after the holds ran out");
    assert_eq!(
        count(
            &app,
            "select count(*) from school_sqsf.meal_orders where status = 'expired'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn the_canteen_counts_each_items_meals_per_class_with_allergy_flags_and_downloads_them() {
    // Arrange: child 0 (一年级1班) orders lunch; child 1 (三年级2班), allergic to eggs,
    // the lunch + tea package; child 2 (一年级1班) orders nothing.
    let (app, fam) = demo_with_families(3).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let lunch_id = published_item(&app, &admin, lunch("12.50")).await;
    let tea = published_item(
        &app,
        &admin,
        json!({ "kind": "afternoon_tea", "name": "水果下午茶", "price": "4", "levels": [1, 2, 3] }),
    )
    .await;
    let (_, pkg) = app
        .school(
            Method::POST,
            &admin,
            "/meals/packages",
            Some(json!({ "name": "午餐+下午茶", "price": "15", "item_ids": [lunch_id, tea] })),
        )
        .await;
    let pkg = pkg["id"].as_i64().unwrap();
    app.school(
        Method::POST,
        &admin,
        &format!("/meals/packages/{pkg}/publish"),
        None,
    )
    .await;
    app.school(
        Method::PUT,
        &fam[1].1,
        &format!("/children/{}/allergies", fam[1].0),
        Some(json!({ "allergens": ["egg"], "note": "" })),
    )
    .await;
    let nov = |child: i64, choice: Value| {
        let mut b = json!({ "student_id": child, "period_start": "2026-11-01",
                            "allergy_acknowledged": true });
        b.as_object_mut()
            .unwrap()
            .extend(choice.as_object().unwrap().clone());
        b
    };
    paid_meal(
        &app,
        &fam[0].1,
        nov(fam[0].0, json!({ "item_id": lunch_id })),
        "canteen-0001",
    )
    .await;
    paid_meal(
        &app,
        &fam[1].1,
        nov(fam[1].0, json!({ "package_id": pkg })),
        "canteen-0002",
    )
    .await;

    // Act
    let (s, v) = app
        .school(Method::GET, &admin, "/meals/counts?day=2026-11-02", None)
        .await;
    let (s_sat, sat) = app
        .school(Method::GET, &admin, "/meals/counts?day=2026-11-07", None)
        .await;
    let r = app
        .request(
            Method::GET,
            &format!(
                "{}/school/meals/counts/download?day=2026-11-02",
                crate::client::SQSF_API
            ),
            Some(&admin),
        )
        .send()
        .await
        .unwrap();
    let (s_file, bytes) = (r.status().as_u16(), r.bytes().await.unwrap());
    let (s_parent, _) = app
        .school(Method::GET, &fam[0].1, "/meals/counts?day=2026-11-02", None)
        .await;

    // Assert
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["total"].as_i64(), v["is_final"].as_bool()),
        (Some(3), Some(false)),
        "{v}"
    );
    let lunch_row = &v["items"][0];
    assert_eq!(
        (lunch_row["name"].as_str(), lunch_row["total"].as_i64()),
        (Some("标准午餐"), Some(2))
    );
    let classes = lunch_row["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 2, "{lunch_row}");
    assert_eq!(
        (
            classes[0]["class_name"].as_str(),
            classes[0]["count"].as_i64()
        ),
        (Some("一年级1班"), Some(1))
    );
    let flag = &classes[1]["allergies"][0];
    assert_eq!(
        (flag["allergens"].clone(), flag["conflict"].as_bool()),
        (json!(["蛋类"]), Some(true))
    );
    assert!(
        flag["student"].as_str().unwrap().contains('*'),
        "masked: {flag}"
    );
    let tea_row = &v["items"][1];
    assert_eq!(
        (
            tea_row["total"].as_i64(),
            tea_row["classes"][0]["allergies"][0]["conflict"].as_bool()
        ),
        (Some(1), Some(false))
    );
    assert_eq!(
        (s_sat, sat["served"].as_bool(), sat["total"].as_i64()),
        (200, Some(false), Some(0))
    );
    assert_eq!(s_file, 200);
    assert_eq!(&bytes[..2], b"PK", "an xlsx workbook");
    let sheets =
        afterschool::tabular::read(&bytes, "c.xlsx", &afterschool::tabular::Limits::default())
            .unwrap();
    assert_eq!(sheets[0].name, "备餐数");
    assert_eq!(
        s_parent, 403,
        "children's allergies are for the school only"
    );
}

#[tokio::test]
async fn r_t09_teachers_see_who_paid_and_remind_the_unpaid_parents_once_a_day() {
    // Arrange: 4 children; 一年级1班 holds children 0 and 2, 三年级2班 children 1 and 3.
    // Child 0 paid November's lunch, child 2 ordered without paying, the others nothing.
    let (app, fam) = demo_with_families(4).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    let body = |child: i64| {
        json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item,
                "allergy_acknowledged": true })
    };
    paid_meal(&app, &fam[0].1, body(fam[0].0), "stats-pay-0001").await;
    let (s, held) = order(&app, &fam[2].1, body(fam[2].0)).await;
    assert_eq!(s, 200, "{held}");
    let teacher =
        crate::fixtures::homeroom(&app, &admin, "一年级1班", "T811", 811, "13800138811").await;

    // Act
    let (s, mine) = app
        .school(
            Method::GET,
            &teacher,
            "/meals/payments?period_start=2026-11-01",
            None,
        )
        .await;
    let (_, all) = app
        .school(
            Method::GET,
            &admin,
            "/meals/payments?period_start=2026-11-01",
            None,
        )
        .await;
    let remind = json!({ "period_start": "2026-11-01" });
    let (s1, first) = app
        .school(
            Method::POST,
            &teacher,
            "/meals/payments/remind",
            Some(remind.clone()),
        )
        .await;
    let (s2, again) = app
        .school(Method::POST, &admin, "/meals/payments/remind", Some(remind))
        .await;
    let (s_other, other) = app
        .school(
            Method::POST,
            &teacher,
            "/meals/payments/remind",
            Some(
                json!({ "period_start": "2026-11-01", "class_id": all["classes"][1]["class_id"] }),
            ),
        )
        .await;
    let (s_parent, _) = app
        .school(
            Method::GET,
            &fam[0].1,
            "/meals/payments?period_start=2026-11-01",
            None,
        )
        .await;

    // Assert
    assert_eq!(s, 200, "{mine}");
    let classes = mine["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 1, "the teacher's own class only: {mine}");
    let c = &classes[0];
    assert_eq!(
        (
            c["students"].as_i64(),
            c["paid"].as_i64(),
            c["unpaid"].as_i64(),
            c["not_ordered"].as_i64()
        ),
        (Some(2), Some(1), Some(1), Some(0)),
        "{c}"
    );
    let labels: Vec<&str> = c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["state_label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["已缴费", "待缴费"]);
    assert_eq!(all["classes"].as_array().map(Vec::len), Some(2));
    assert_eq!(all["classes"][1]["not_ordered"], 2);
    assert_eq!(
        (
            s1,
            first["unpaid_students"].as_i64(),
            first["sent"].as_i64()
        ),
        (200, Some(1), Some(1)),
        "{first}"
    );
    assert_eq!(
        (
            s2,
            again["unpaid_students"].as_i64(),
            again["sent"].as_i64(),
            again["already_today"].as_i64()
        ),
        (200, Some(3), Some(2), Some(1)),
        "the admin reaches the school; today's parent is not reminded twice: {again}"
    );
    assert_eq!(
        (s_other, other["code"].as_str()),
        (404, Some("CLASS_NOT_FOUND")),
        "{other}"
    );
    assert_eq!(s_parent, 403);
    assert_eq!(
        count(
            &app,
            "select count(*) from platform.outbox where kind = 'notify.message'
             and idem_key like 'notify:payment_reminder:%'"
        )
        .await,
        3,
        "one message per reminded parent"
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from platform.audit_log where action = 'meals.payment.remind'"
        )
        .await,
        2
    );
    let (s, closed) = app
        .school(
            Method::POST,
            &admin,
            "/meals/payments/remind",
            Some(json!({ "period_start": "2026-12-01" })),
        )
        .await;
    assert_eq!(
        (s, closed["code"].as_str()),
        (409, Some("MEAL_WINDOW_CLOSED")),
        "{closed}"
    );
}

#[tokio::test]
async fn r_s10_the_settlement_statement_shows_meals_by_item_and_adds_up_to_the_ledger() {
    // Arrange: one paid November lunch, one day of it released
    let (app, fam) = demo_with_families(1).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    let body = json!({ "student_id": fam[0].0, "period_start": "2026-11-01", "item_id": item,
                       "allergy_acknowledged": true });
    paid_meal(&app, &fam[0].1, body, "settle-meal-01").await;
    app.clock.advance(Duration::days(22) + Duration::hours(16)); // Tuesday 11-03 02:00
    afterschool::payments::daily::close_day(&app.state, d("2026-11-02"))
        .await
        .unwrap();
    let admin = app.admin_token("sqsf").await;

    // Act
    let (s, v) = app
        .school(
            Method::GET,
            &admin,
            "/payments/settlement?from=2026-10-01&to=2026-11-30&group=course",
            None,
        )
        .await;

    // Assert
    assert_eq!(s, 200, "{v}");
    let row = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "订餐：标准午餐")
        .unwrap_or_else(|| panic!("a meal row: {v}"));
    let total = format!("{:.2}", 12.5 * NOVEMBER_DAYS as f64);
    assert_eq!(
        (row["paid"].as_str(), row["released"].as_str()),
        (Some(total.as_str()), Some("12.50")),
        "{row}"
    );
    assert_eq!(row["key"], format!("meal-item-{item}"));
}
