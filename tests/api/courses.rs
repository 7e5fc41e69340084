//! After-school courses (F2; R-S06): every F2 field kept and read back, one refusal code per
//! bad input with nothing changed, the draft → published → closed life cycle, series with
//! sub-items, capacity against places taken, pictures in the object store, and who sees
//! which courses.

use afterschool::auth::model::Role;
use afterschool::people::sample;
use chrono::NaiveDate;
use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{refused_as, spawn_demo, SQSF_API};
use crate::fixtures::PNG_1X1;
use crate::helpers::TestApp;

async fn id_of(app: &TestApp, table: &str, code: &str) -> i64 {
    sqlx::query_scalar(&format!(
        "select id from school_sqsf.{table} where code = $1"
    ))
    .bind(code)
    .fetch_one(&app.db.admin)
    .await
    .expect("id by code")
}

/// Rows of every course table and the course audit records: what a refused request must
/// leave as it was.
async fn footprint(app: &TestApp) -> [i64; 4] {
    [
        app.count("select count(*) from school_sqsf.courses").await,
        app.count("select count(*) from school_sqsf.course_seats")
            .await,
        app.count("select count(*) from school_sqsf.course_teachers")
            .await,
        app.count("select count(*) from platform.audit_log where action like 'courses.%'")
            .await,
    ]
}

/// A staff member of sqsf (F3) created through the API; returns the staff id.
async fn staff(app: &TestApp, admin: &str, no: &str, name: &str, seq: u32) -> i64 {
    let idn = sample::id_number("442000", NaiveDate::from_ymd_opt(1985, 5, 20).unwrap(), seq);
    app.create_staff(
        admin,
        json!({
            "staff_no": no, "name": name, "id_number": idn, "phone": format!("1391234{seq:04}"),
        }),
    )
    .await
}

/// A training course with every F2 field set.
async fn training_body(app: &TestApp, code: &str, teacher: i64) -> Value {
    json!({
        "code": code,
        "class_type": "training",
        "name": "少儿创意美术",
        "category": "美术",
        "intro": "水彩、黏土与手工，每学期一次作品展。",
        "term_code": "2026-autumn",
        "period_id": id_of(app, "periods", "after").await,
        "venue_id": id_of(app, "venues", "art").await,
        "weekdays": [4, 2],
        "starts_at": "16:30",
        "ends_at": "18:00",
        "starts_on": "2026-10-19",
        "ends_on": "2027-01-15",
        "capacity": 30,
        "price": "1200.5",
        "pricing": "per_course",
        "eligible_levels": [4, 3],
        "reg_opens_at": "2026-10-01T09:00:00+08:00",
        "reg_closes_at": "2026-10-18T18:00:00+08:00",
        "allocation": "lottery",
        "hold_minutes": 45,
        "teacher_ids": [teacher],
    })
}

/// A custody course relying on every default: the term's dates, first come first served,
/// a 30-minute hold, no teachers.
fn custody_body(code: &str) -> Value {
    json!({
        "code": code,
        "class_type": "custody",
        "name": "午间托管",
        "category": "托管",
        "term_code": "2026-autumn",
        "weekdays": [1, 2, 3, 4, 5],
        "starts_at": "12:00",
        "ends_at": "14:00",
        "capacity": 200,
        "price": "15",
        "pricing": "per_day",
        "eligible_levels": [1, 2, 3, 4, 5, 6],
        "reg_opens_at": "2026-08-20T09:00:00+08:00",
        "reg_closes_at": "2026-09-10T18:00:00+08:00",
    })
}

fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

#[tokio::test]
async fn a_course_keeps_every_f2_field_and_reads_back_with_its_names() {
    let (app, admin) = spawn_demo().await;
    let teacher = staff(&app, &admin, "T001", "李美术", 11).await;
    let body = training_body(&app, "art-g34", teacher).await;

    let c = app.create_course(&admin, body).await;

    assert_eq!(c["code"], "art-g34");
    assert_eq!(c["class_type"], "training");
    assert_eq!(c["class_type_label"], "培训");
    assert_eq!(c["name"], "少儿创意美术");
    assert_eq!(c["category"], "美术");
    assert_eq!(c["intro"], "水彩、黏土与手工，每学期一次作品展。");
    assert_eq!(c["term_code"], "2026-autumn");
    assert_eq!(c["period_name"], "课后");
    assert_eq!(c["venue_name"], "美术室");
    assert_eq!(c["weekdays"], json!([2, 4]));
    assert_eq!(
        (&c["starts_at"], &c["ends_at"]),
        (&json!("16:30"), &json!("18:00"))
    );
    assert_eq!(
        (&c["starts_on"], &c["ends_on"]),
        (&json!("2026-10-19"), &json!("2027-01-15"))
    );
    assert_eq!(c["capacity"], 30);
    assert_eq!(
        (c["taken"].as_i64(), c["remaining"].as_i64()),
        (Some(0), Some(30))
    );
    assert_eq!(c["price"], "1200.50");
    assert_eq!(c["pricing"], "per_course");
    assert_eq!(c["eligible_levels"], json!([3, 4]));
    assert_eq!(c["reg_opens_at"], "2026-10-01T01:00:00+00:00");
    assert_eq!(c["reg_closes_at"], "2026-10-18T10:00:00+00:00");
    assert_eq!(c["allocation"], "lottery");
    assert_eq!(c["hold_minutes"], 45);
    assert_eq!(c["status"], "draft");
    assert_eq!(c["teachers"], json!([{ "id": teacher, "name": "李美术" }]));
    assert_eq!(c["pictures"], json!([]));
    assert_eq!(c["sub_items"], json!([]));

    let id = c["id"].as_i64().unwrap();
    let (s, read) = app.school_get(&admin, &format!("/courses/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(read, c);
    let seats: (i32, i32) =
        sqlx::query_as("select capacity, taken from school_sqsf.course_seats where course_id = $1")
            .bind(id)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(seats, (30, 0));
    let audit = app.audit_records("courses.course.create").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].1["code"], "art-g34");
    assert_eq!(audit[0].1["price"], "1200.50");
}

#[tokio::test]
async fn a_custody_course_takes_the_term_dates_and_the_defaults() {
    let (app, admin) = spawn_demo().await;

    let c = app.create_course(&admin, custody_body("noon-care")).await;

    assert_eq!(c["class_type_label"], "托管");
    assert_eq!(
        (&c["starts_on"], &c["ends_on"]),
        (&json!("2026-09-01"), &json!("2027-01-22"))
    );
    assert_eq!(c["allocation"], "fcfs");
    assert_eq!(c["hold_minutes"], 30);
    assert_eq!(c["price"], "15.00");
    assert_eq!(c["intro"], "");
    assert_eq!(c["period_id"], Value::Null);
    assert_eq!(c["teachers"], json!([]));
}

#[tokio::test]
async fn each_bad_input_is_refused_with_its_own_code_and_nothing_changes() {
    let (app, admin) = spawn_demo().await;
    let teacher = staff(&app, &admin, "T001", "李美术", 11).await;
    let gone = staff(&app, &admin, "T002", "王离职", 12).await;
    let (s, _) = app.school_delete(&admin, &format!("/staff/{gone}")).await;
    assert_eq!(s, 200);
    let good = training_body(&app, "art-g34", teacher).await;
    let before = footprint(&app).await;

    let cases: Vec<(Value, &str)> = vec![
        (json!({ "code": "Art G3" }), "COURSE_CODE_INVALID"),
        (json!({ "code": "-art" }), "COURSE_CODE_INVALID"),
        (json!({ "name": "  " }), "NAME_INVALID"),
        (json!({ "name": "班".repeat(51) }), "NAME_INVALID"),
        (json!({ "category": "" }), "NAME_INVALID"),
        (json!({ "weekdays": [] }), "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [0, 1] }), "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [2, 2] }), "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [8] }), "WEEKDAYS_INVALID"),
        (json!({ "ends_at": "16:00" }), "SCHEDULE_INVALID"),
        (json!({ "ends_at": "16:30" }), "SCHEDULE_INVALID"),
        (json!({ "starts_at": "4:30 pm" }), "SCHEDULE_INVALID"),
        (json!({ "starts_on": "2026-08-31" }), "SCHEDULE_INVALID"),
        (json!({ "ends_on": "2027-01-23" }), "SCHEDULE_INVALID"),
        (
            json!({ "starts_on": "2026-12-01", "ends_on": "2026-11-30" }),
            "SCHEDULE_INVALID",
        ),
        (json!({ "starts_on": "2026/10/19" }), "SCHEDULE_INVALID"),
        (json!({ "capacity": 0 }), "CAPACITY_INVALID"),
        (json!({ "capacity": -5 }), "CAPACITY_INVALID"),
        (json!({ "capacity": 2001 }), "CAPACITY_INVALID"),
        (json!({ "capacity": 1_000_000 }), "CAPACITY_INVALID"),
        (json!({ "price": "-1" }), "PRICE_INVALID"),
        (json!({ "price": "100000.01" }), "PRICE_INVALID"),
        (json!({ "price": "99999999" }), "PRICE_INVALID"),
        (json!({ "price": "12.345" }), "PRICE_INVALID"),
        (json!({ "price": "一百元" }), "PRICE_INVALID"),
        (json!({ "price": "1e3" }), "PRICE_INVALID"),
        (json!({ "price": "" }), "PRICE_INVALID"),
        (json!({ "pricing": "per_day" }), "PRICING_MISMATCH"),
        (json!({ "class_type": "custody" }), "PRICING_MISMATCH"),
        (json!({ "eligible_levels": [] }), "LEVELS_INVALID"),
        (json!({ "eligible_levels": [0] }), "LEVELS_INVALID"),
        (json!({ "eligible_levels": [10] }), "LEVELS_INVALID"),
        (json!({ "eligible_levels": [3, 3] }), "LEVELS_INVALID"),
        // sqsf is a primary school: grades 1..6 only
        (json!({ "eligible_levels": [6, 7] }), "LEVELS_INVALID"),
        (
            json!({ "reg_closes_at": "2026-10-01T08:00:00+08:00" }),
            "REG_WINDOW_INVALID",
        ),
        (
            json!({ "reg_closes_at": "2026-10-01T09:00:00+08:00" }),
            "REG_WINDOW_INVALID",
        ),
        // the course ends 2027-01-15 at 18:00
        (
            json!({ "reg_closes_at": "2027-01-15T18:01:00+08:00" }),
            "REG_WINDOW_INVALID",
        ),
        (
            json!({ "reg_opens_at": "2026-10-01 09:00" }),
            "REG_WINDOW_INVALID",
        ),
        (json!({ "hold_minutes": 4 }), "HOLD_INVALID"),
        (json!({ "hold_minutes": 1441 }), "HOLD_INVALID"),
        (
            json!({ "teacher_ids": [teacher, 999_999] }),
            "TEACHER_NOT_FOUND",
        ),
        (json!({ "teacher_ids": [gone] }), "TEACHER_NOT_FOUND"),
        (json!({ "term_code": "2030-spring" }), "TERM_NOT_FOUND"),
        (json!({ "period_id": 999_999 }), "PERIOD_NOT_FOUND"),
        (json!({ "venue_id": 999_999 }), "VENUE_NOT_FOUND"),
        (json!({ "parent_code": "no-such-series" }), "SERIES_INVALID"),
    ];
    for (change, code) in cases {
        let answer = app
            .school_post(&admin, "/courses", with(good.clone(), change.clone()))
            .await;
        refused_as(&answer, 422, code, &change.to_string());
        assert!(
            answer.1["message"].as_str().is_some_and(|m| !m.is_ascii()),
            "a Chinese message: {}",
            answer.1
        );
    }

    assert_eq!(footprint(&app).await, before, "nothing written");
    // The good body itself is accepted: each case failed for its one change.
    app.create_course(&admin, good).await;
}

#[tokio::test]
async fn issue13_a_course_without_a_code_gets_one_and_every_wrong_field_is_reported_at_once() {
    let (app, admin) = spawn_demo().await;

    // School staff need not invent an ASCII code: left out or empty, one is made up.
    let mut without = custody_body("");
    without.as_object_mut().unwrap().remove("code");
    let a = app.create_course(&admin, without).await;
    let b = app.create_course(&admin, custody_body("  ")).await;
    for c in [&a, &b] {
        let code = c["code"].as_str().unwrap();
        assert!(
            code.len() == 5
                && code.starts_with('c')
                && code[1..].bytes().all(|d| d.is_ascii_digit()),
            "{code}"
        );
    }
    assert_ne!(a["code"], b["code"]);

    // Three wrong fields at once: one answer naming all three, the first as before.
    let bad = with(
        custody_body(""),
        json!({ "name": " ", "price": "abc", "capacity": 0 }),
    );
    let (s, e) = app.school_post(&admin, "/courses", bad).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("NAME_INVALID")), "{e}");
    let fields: Vec<&str> = e["details"]["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("every error listed: {e}"))
        .iter()
        .filter_map(|x| x["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "capacity", "price"], "{e}");
}

#[tokio::test]
async fn a_taken_code_is_a_conflict_and_changes_nothing() {
    let (app, admin) = spawn_demo().await;
    app.create_course(&admin, custody_body("noon-care")).await;
    let before = footprint(&app).await;

    let answer = app
        .school_post(
            &admin,
            "/courses",
            with(custody_body("noon-care"), json!({ "name": "另一个托管" })),
        )
        .await;

    refused_as(&answer, 409, "COURSE_CODE_TAKEN", "duplicate code");
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn a_course_is_published_then_closed_and_never_the_other_way() {
    let (app, admin) = spawn_demo().await;
    let id = app.create_course(&admin, custody_body("noon-care")).await["id"]
        .as_i64()
        .unwrap();

    let answer = app
        .school(Method::POST, &admin, &format!("/courses/{id}/close"), None)
        .await;
    refused_as(&answer, 409, "COURSE_STATUS_INVALID", "close a draft");

    let (s, c) = app
        .school(
            Method::POST,
            &admin,
            &format!("/courses/{id}/publish"),
            None,
        )
        .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("published")), "{c}");
    let answer = app
        .school(
            Method::POST,
            &admin,
            &format!("/courses/{id}/publish"),
            None,
        )
        .await;
    refused_as(&answer, 409, "COURSE_STATUS_INVALID", "publish twice");

    let (s, c) = app
        .school(Method::POST, &admin, &format!("/courses/{id}/close"), None)
        .await;
    assert_eq!((s, c["status"].as_str()), (200, Some("closed")), "{c}");
    let answer = app
        .school(
            Method::POST,
            &admin,
            &format!("/courses/{id}/publish"),
            None,
        )
        .await;
    refused_as(
        &answer,
        409,
        "COURSE_STATUS_INVALID",
        "publish a closed course",
    );

    let answer = app
        .school(Method::POST, &admin, "/courses/999999/publish", None)
        .await;
    refused_as(&answer, 404, "COURSE_NOT_FOUND", "no such course");
    assert_eq!(app.audit_records("courses.course.publish").await.len(), 1);
    assert_eq!(app.audit_records("courses.course.close").await.len(), 1);
}

#[tokio::test]
async fn a_series_course_publishes_its_two_sub_items_with_it() {
    let (app, admin) = spawn_demo().await;
    let series = with(
        custody_body("robot"),
        json!({
            "class_type": "training", "pricing": "per_course", "name": "机器人系列课",
            "category": "科技", "price": "900.00",
        }),
    );
    let parent = app.create_course(&admin, series.clone()).await;
    let pid = parent["id"].as_i64().unwrap();
    let sub = |code: &str, name: &str, starts_on: &str, ends_on: &str| {
        with(
            series.clone(),
            json!({
                "code": code, "name": name, "parent_code": "robot", "price": "450",
                "starts_on": starts_on, "ends_on": ends_on,
            }),
        )
    };
    let a = app
        .create_course(
            &admin,
            sub("robot-1", "机器人入门", "2026-09-07", "2026-11-06"),
        )
        .await;
    let b = app
        .create_course(
            &admin,
            sub("robot-2", "机器人进阶", "2026-11-09", "2027-01-15"),
        )
        .await;
    assert_eq!(
        (a["parent_id"].as_i64(), a["parent_code"].as_str()),
        (Some(pid), Some("robot"))
    );

    // Listed once: the sub-items inside their series, not beside it.
    let (_, list) = app.school_get(&admin, "/courses").await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let codes: Vec<&str> = list[0]["sub_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["robot-1", "robot-2"]);

    let (s, c) = app
        .school(
            Method::POST,
            &admin,
            &format!("/courses/{pid}/publish"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{c}");
    let statuses: Vec<&str> = c["sub_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["published", "published"]);
    let published = app
        .count("select count(*) from school_sqsf.courses where status = 'published'")
        .await;
    assert_eq!(published, 3);
    let audit = app.audit_records("courses.course.publish").await;
    assert_eq!(audit[0].1["sub_items"], json!([a["id"], b["id"]]));

    // Series are one level deep and within one term.
    let (s, _) = app
        .school_post(
            &admin,
            "/terms",
            json!({
                "code": "2027-spring", "name": "2026—2027学年第二学期", "starts_on": "2027-02-22",
                "ends_on": "2027-07-02", "teaching_weekdays": [1, 2, 3, 4, 5],
            }),
        )
        .await;
    assert_eq!(s, 200);
    let before = footprint(&app).await;
    let answer = app
        .school_post(
            &admin,
            "/courses",
            with(
                sub("robot-3", "机器人竞赛", "2026-11-09", "2027-01-15"),
                json!({ "parent_code": "robot-1" }),
            ),
        )
        .await;
    refused_as(&answer, 422, "SERIES_INVALID", "a sub-item of a sub-item");
    let answer = app
        .school_post(
            &admin,
            "/courses",
            with(
                custody_body("robot-3"),
                json!({
                    "class_type": "training", "pricing": "per_course", "term_code": "2027-spring",
                    "parent_code": "robot", "reg_opens_at": "2027-02-01T09:00:00+08:00",
                    "reg_closes_at": "2027-02-20T09:00:00+08:00",
                }),
            ),
        )
        .await;
    refused_as(&answer, 422, "SERIES_INVALID", "a sub-item in another term");
    let other = app.create_course(&admin, custody_body("noon-care")).await["id"]
        .as_i64()
        .unwrap();
    let before = [before[0] + 1, before[1] + 1, before[2], before[3] + 1];
    let answer = app
        .school_patch(
            &admin,
            &format!("/courses/{pid}"),
            json!({ "parent_code": "noon-care" }),
        )
        .await;
    refused_as(&answer, 422, "SERIES_INVALID", "a series made a sub-item");
    let answer = app
        .school_patch(
            &admin,
            &format!("/courses/{other}"),
            json!({ "parent_code": "noon-care" }),
        )
        .await;
    refused_as(&answer, 422, "SERIES_INVALID", "a course its own sub-item");
    assert_eq!(footprint(&app).await, before);
}

#[tokio::test]
async fn capacity_cannot_drop_below_the_places_already_taken() {
    let (app, admin) = spawn_demo().await;
    let teacher = staff(&app, &admin, "T001", "李美术", 11).await;
    let c = app
        .create_course(&admin, training_body(&app, "art-g34", teacher).await)
        .await;
    let id = c["id"].as_i64().unwrap();
    sqlx::query("update school_sqsf.course_seats set taken = 20 where course_id = $1")
        .bind(id)
        .execute(&app.db.admin)
        .await
        .unwrap();
    let before = footprint(&app).await;

    let answer = app
        .school_patch(
            &admin,
            &format!("/courses/{id}"),
            json!({ "capacity": 19, "name": "改名也不应生效" }),
        )
        .await;

    refused_as(
        &answer,
        409,
        "CAPACITY_BELOW_TAKEN",
        "capacity 19 < 20 taken",
    );
    assert_eq!(answer.1["details"]["taken"], 20);
    assert_eq!(footprint(&app).await, before);
    let (s, unchanged) = app.school_get(&admin, &format!("/courses/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            &unchanged["capacity"],
            &unchanged["name"],
            &unchanged["remaining"]
        ),
        (&json!(30), &json!("少儿创意美术"), &json!(10))
    );

    let (s, changed) = app
        .school_patch(
            &admin,
            &format!("/courses/{id}"),
            json!({ "capacity": 20, "price": "980", "venue_id": null }),
        )
        .await;
    assert_eq!(s, 200, "{changed}");
    assert_eq!(
        (
            &changed["capacity"],
            &changed["remaining"],
            &changed["price"]
        ),
        (&json!(20), &json!(0), &json!("980.00"))
    );
    assert_eq!(changed["venue_name"], Value::Null);
    let seats = app
        .count(&format!(
            "select capacity::int8 from school_sqsf.course_seats where course_id = {id}"
        ))
        .await;
    assert_eq!(seats, 20, "the seat counter follows the course");
    let audit = app.audit_records("courses.course.update").await;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].1["capacity"], json!({ "from": 30, "to": 20 }));
    assert_eq!(
        audit[0].1["price"],
        json!({ "from": "1200.50", "to": "980.00" })
    );
    assert!(
        audit[0].1.get("name").is_none(),
        "only changes: {}",
        audit[0].1
    );
}

#[tokio::test]
async fn an_update_is_checked_as_the_course_will_be() {
    let (app, admin) = spawn_demo().await;
    let id = app.create_course(&admin, custody_body("noon-care")).await["id"]
        .as_i64()
        .unwrap();
    let before = footprint(&app).await;

    for (change, status, code) in [
        (json!({ "class_type": "training" }), 422, "PRICING_MISMATCH"),
        (json!({ "ends_at": "11:00" }), 422, "SCHEDULE_INVALID"),
        (json!({ "ends_on": "2027-03-01" }), 422, "SCHEDULE_INVALID"),
        (json!({ "price": "abc" }), 422, "PRICE_INVALID"),
        (json!({ "capacity": 5000 }), 422, "CAPACITY_INVALID"),
        (json!({ "eligible_levels": [9] }), 422, "LEVELS_INVALID"),
        (json!({ "teacher_ids": [424242] }), 422, "TEACHER_NOT_FOUND"),
        (
            json!({ "reg_opens_at": "2026-09-10T18:00:00+08:00" }),
            422,
            "REG_WINDOW_INVALID",
        ),
    ] {
        let answer = app
            .school_patch(&admin, &format!("/courses/{id}"), change.clone())
            .await;
        refused_as(&answer, status, code, &change.to_string());
    }
    let answer = app.school_patch(&admin, "/courses/999999", json!({})).await;
    refused_as(&answer, 404, "COURSE_NOT_FOUND", "no such course");
    assert_eq!(footprint(&app).await, before);

    let (s, c) = app
        .school_patch(
            &admin,
            &format!("/courses/{id}"),
            json!({ "class_type": "training", "pricing": "per_course", "price": "600" }),
        )
        .await;
    assert_eq!((s, c["pricing"].as_str()), (200, Some("per_course")), "{c}");
}

#[tokio::test]
async fn a_picture_round_trips_through_the_store_and_a_non_image_is_refused() {
    let (app, admin) = spawn_demo().await;
    let id = app.create_course(&admin, custody_body("noon-care")).await["id"]
        .as_i64()
        .unwrap();

    let (s, c) = app
        .put_picture(&admin, id, PNG_1X1.to_vec(), "封面.png", "image/png")
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        c["pictures"],
        json!([format!("/school/courses/{id}/pictures/0")])
    );
    let r = app
        .get_as(
            &admin,
            &format!("{SQSF_API}/school/courses/{id}/pictures/0"),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.bytes().await.unwrap().as_ref(), PNG_1X1);
    let keys: Vec<String> =
        sqlx::query_scalar("select unnest(pictures) from school_sqsf.courses where id = $1")
            .bind(id)
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert!(
        keys[0].starts_with("sqsf/course-pictures/") && keys[0].ends_with(".png"),
        "tenant-prefixed, server-chosen key: {keys:?}"
    );

    let text = b"name,price\nart,100\n".to_vec();
    let answer = app
        .put_picture(&admin, id, text.clone(), "课表.csv", "text/csv")
        .await;
    refused_as(&answer, 422, "UPLOAD_UNSUPPORTED_TYPE", "a CSV file");
    let answer = app
        .put_picture(&admin, id, text, "假图片.png", "image/png")
        .await;
    refused_as(&answer, 422, "UPLOAD_UNSUPPORTED_TYPE", "a CSV named .png");
    let pdf = b"%PDF-1.4\n%%EOF\n".to_vec();
    let answer = app
        .put_picture(&admin, id, pdf, "a.pdf", "application/pdf")
        .await;
    refused_as(&answer, 422, "UPLOAD_UNSUPPORTED_TYPE", "a PDF");
    let answer = app
        .put_picture(&admin, id, PNG_1X1.to_vec(), "a.jpg", "image/jpeg")
        .await;
    refused_as(
        &answer,
        422,
        "UPLOAD_TYPE_MISMATCH",
        "a PNG declared as JPEG",
    );
    let mut big = PNG_1X1.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let answer = app
        .put_picture(&admin, id, big, "big.png", "image/png")
        .await;
    refused_as(&answer, 422, "UPLOAD_TOO_LARGE", "over 5 MB");
    let (_, c) = app.school_get(&admin, &format!("/courses/{id}")).await;
    assert_eq!(
        c["pictures"].as_array().unwrap().len(),
        1,
        "refusals stored nothing"
    );

    let answer = app
        .school_get(&admin, &format!("/courses/{id}/pictures/1"))
        .await;
    refused_as(&answer, 404, "PICTURE_NOT_FOUND", "no second picture");

    for _ in 1..6 {
        let (s, _) = app
            .put_picture(&admin, id, PNG_1X1.to_vec(), "p.png", "image/png")
            .await;
        assert_eq!(s, 200);
    }
    let answer = app
        .put_picture(&admin, id, PNG_1X1.to_vec(), "p.png", "image/png")
        .await;
    refused_as(&answer, 409, "PICTURES_FULL", "a seventh picture");
    assert_eq!(app.audit_records("courses.picture.add").await.len(), 6);
}

#[tokio::test]
async fn a_parent_sees_only_published_courses_with_their_remaining_places() {
    let (app, admin) = spawn_demo().await;
    let open = app.create_course(&admin, custody_body("noon-care")).await["id"]
        .as_i64()
        .unwrap();
    let draft = app
        .create_course(
            &admin,
            with(custody_body("eve-care"), json!({ "name": "晚托" })),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let (s, _) = app
        .school(
            Method::POST,
            &admin,
            &format!("/courses/{open}/publish"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .put_picture(&admin, draft, PNG_1X1.to_vec(), "p.png", "image/png")
        .await;
    assert_eq!(s, 200);
    sqlx::query("update school_sqsf.course_seats set taken = 3 where course_id = $1")
        .bind(open)
        .execute(&app.db.admin)
        .await
        .unwrap();
    let (_, parent) = app
        .sign_in_as("13800138000", Role::Parent, Some("sqsf"))
        .await;

    let (s, list) = app.school_get(&parent, "/courses").await;

    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["code"], "noon-care");
    assert_eq!(
        (list[0]["capacity"].as_i64(), list[0]["remaining"].as_i64()),
        (Some(200), Some(197))
    );
    let answer = app.school_get(&parent, &format!("/courses/{draft}")).await;
    refused_as(&answer, 404, "COURSE_NOT_FOUND", "a parent reading a draft");
    let answer = app
        .school_get(&parent, &format!("/courses/{draft}/pictures/0"))
        .await;
    refused_as(
        &answer,
        404,
        "COURSE_NOT_FOUND",
        "a parent reading a draft's picture",
    );
    let (s, _) = app.school_get(&parent, &format!("/courses/{open}")).await;
    assert_eq!(s, 200);

    // Staff see drafts too, and the filters narrow the list.
    let (_, all) = app.school_get(&admin, "/courses").await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let (_, drafts) = app.school_get(&admin, "/courses?status=draft").await;
    assert_eq!(drafts[0]["code"], "eve-care");
    assert_eq!(drafts.as_array().unwrap().len(), 1);
    let (_, training) = app.school_get(&admin, "/courses?class_type=training").await;
    assert_eq!(training, json!([]));
    let (_, other_term) = app
        .school_get(&admin, "/courses?term_code=2027-spring")
        .await;
    assert_eq!(other_term, json!([]));
    let (_, this_term) = app
        .school_get(&admin, "/courses?term_code=2026-autumn")
        .await;
    assert_eq!(this_term.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_teacher_reads_courses_but_may_not_create_one() {
    let (app, admin) = spawn_demo().await;
    app.create_course(&admin, custody_body("noon-care")).await;
    let (_, teacher) = app
        .sign_in_as("13700137000", Role::Teacher, Some("sqsf"))
        .await;
    let before = footprint(&app).await;

    let answer = app
        .school_post(&teacher, "/courses", custody_body("eve-care"))
        .await;

    refused_as(
        &answer,
        403,
        "PERMISSION_DENIED",
        "a teacher creating a course",
    );
    assert_eq!(footprint(&app).await, before);
    let (s, list) = app.school_get(&teacher, "/courses").await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
}
