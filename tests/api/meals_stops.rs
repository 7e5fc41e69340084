//! Meal stops end to end (issue #16; R-P08, R-T10): a parent asks to stop meals for a day or
//! a range, the homeroom teacher approves or rejects, staff register stops directly, the
//! cut-off refuses late ones naming the deadline, the stop lists page and filter, and bad
//! input gets its own code and changes nothing.

use chrono::Duration;
use reqwest::Method;
use serde_json::json;

use crate::fixtures::demo_with_families;
use crate::meals::{count, d, lunch, open_november, paid_meal, published_item};

#[tokio::test]
async fn r_p08_r_t10_a_parent_asks_to_stop_meals_the_homeroom_teacher_decides_and_bad_stops_are_refused(
) {
    // Arrange: both children have November's lunch; a homeroom teacher for 一年级1班
    let (app, fam) = demo_with_families(2).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item,
                        "allergy_acknowledged": true });
        paid_meal(&app, token, b, &format!("stop-pay-000{i}")).await;
    }
    let teacher =
        crate::fixtures::homeroom(&app, &admin, "一年级1班", "T801", 801, "13800138801").await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let stop = |first: &str, last: Option<&str>| json!({ "student_id": child, "first_day": first, "last_day": last, "reason": "外出探亲" });

    // Act: a three-day stop, approved; a one-day stop, rejected; a withdrawn one
    let (s, a) = app
        .school(
            Method::POST,
            &token,
            "/meals/stops",
            Some(stop("2026-11-03", Some("2026-11-05"))),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let (_, list) = app
        .school(Method::GET, &teacher, "/meals/stops?status=pending", None)
        .await;
    let (s, ok) = app
        .school(
            Method::POST,
            &teacher,
            &format!("/meals/stops/{}/approve", a["id"]),
            Some(json!({})),
        )
        .await;
    let (_, b) = app
        .school(
            Method::POST,
            &token,
            "/meals/stops",
            Some(stop("2026-11-10", None)),
        )
        .await;
    let (s_no_reason, no_reason) = app
        .school(
            Method::POST,
            &teacher,
            &format!("/meals/stops/{}/reject", b["id"]),
            Some(json!({})),
        )
        .await;
    let (s_rej, rej) = app
        .school(
            Method::POST,
            &teacher,
            &format!("/meals/stops/{}/reject", b["id"]),
            Some(json!({ "comment": "当天有集体活动，请在校用餐" })),
        )
        .await;
    let (_, c) = app
        .school(
            Method::POST,
            &token,
            "/meals/stops",
            Some(stop("2026-11-12", None)),
        )
        .await;
    let (s_w, w) = app
        .school(
            Method::POST,
            &token,
            &format!("/meals/stops/{}/withdraw", c["id"]),
            None,
        )
        .await;

    // Assert
    assert_eq!(
        (a["status_label"].as_str(), a["day_count"].as_i64()),
        (Some("申请中"), Some(3))
    );
    assert_eq!(a["refund_amount"], "37.50");
    assert_eq!(
        (
            list["total"].as_i64(),
            list["items"].as_array().map(Vec::len)
        ),
        (Some(1), Some(1)),
        "the teacher sees their class's: {list}"
    );
    assert_eq!(
        (s, ok["progress_label"].as_str()),
        (200, Some("已批准")),
        "{ok}"
    );
    assert_eq!(
        (s_no_reason, no_reason["code"].as_str()),
        (422, Some("COMMENT_INVALID"))
    );
    assert_eq!(
        (s_rej, rej["status_label"].as_str()),
        (200, Some("已驳回")),
        "{rej}"
    );
    assert_eq!(
        (s_w, w["status_label"].as_str()),
        (200, Some("已撤销")),
        "{w}"
    );
    let (_, mine) = app
        .school(
            Method::GET,
            &token,
            &format!("/children/{child}/meals/stops"),
            None,
        )
        .await;
    assert_eq!(mine.as_array().map(Vec::len), Some(3), "{mine}");
    // The approved days: not eaten, not counted, not released.
    let (_, week) = app
        .school(
            Method::GET,
            &token,
            &format!("/children/{child}/meals/week?day=2026-11-03"),
            None,
        )
        .await;
    let eats: Vec<bool> = week["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["eats_at_school"] == true)
        .collect();
    assert_eq!(
        eats,
        [true, false, false, false, true, false, false],
        "{week}"
    );
    assert_eq!(week["days"][1]["note"], "已停餐");
    let (_, counts) = app
        .school(Method::GET, &admin, "/meals/counts?day=2026-11-04", None)
        .await;
    assert_eq!(
        counts["total"], 1,
        "only the other child eats on 11-04: {counts}"
    );
    let (_, counts) = app
        .school(Method::GET, &admin, "/meals/counts?day=2026-11-10", None)
        .await;
    assert_eq!(counts["total"], 2, "a rejected stop changes nothing");

    // Bad stops: each its own code, nothing written.
    let before = count(&app, "select count(*) from school_sqsf.meal_stops").await;
    let other = json!({ "student_id": fam[1].0, "first_day": "2026-11-20", "reason": "外出" });
    let cases = [
        (stop("2026-11-04", None), 409, "MEAL_STOP_OVERLAP"),
        (stop("2026-10-12", None), 422, "MEAL_STOP_PAST"),
        (
            stop("2026-10-20", Some("2026-10-23")),
            422,
            "MEAL_STOP_NOT_ORDERED",
        ),
        (
            stop("2026-11-20", Some("2026-11-19")),
            422,
            "MEAL_STOP_RANGE_INVALID",
        ),
        (
            json!({ "student_id": child, "first_day": "2026-11-20", "reason": " " }),
            422,
            "REASON_INVALID",
        ),
        (other.clone(), 404, "CHILD_NOT_FOUND"),
    ];
    for (body, status, code) in cases {
        let (s, b) = app
            .school(Method::POST, &token, "/meals/stops", Some(body.clone()))
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (status, Some(code)),
            "{body} → {b}"
        );
    }
    // The teacher cannot register for a child outside their class, nor review it.
    let (s, b) = app
        .school(Method::POST, &teacher, "/meals/stops/register", Some(other))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("CHILD_NOT_FOUND")),
        "{b}"
    );
    assert_eq!(
        count(&app, "select count(*) from school_sqsf.meal_stops").await,
        before
    );

    // Registered by the teacher directly: approved at once.
    let (s, r) = app
        .school(
            Method::POST,
            &teacher,
            "/meals/stops/register",
            Some(stop("2026-11-24", None)),
        )
        .await;
    assert_eq!(
        (s, r["status_label"].as_str(), r["by_staff"].as_bool()),
        (200, Some("已批准"), Some(true)),
        "{r}"
    );

    // After 15:00 the day before, the day can no longer be stopped; the message names it.
    app.clock.advance(Duration::days(21) + Duration::hours(6)); // Monday 11-02 16:00
    let token = crate::fixtures::relogin(&app, 0).await;
    let (s, late) = app
        .school(
            Method::POST,
            &token,
            "/meals/stops",
            Some(stop("2026-11-03", Some("2026-11-03"))),
        )
        .await;
    assert_eq!(
        (s, late["code"].as_str()),
        (409, Some("MEAL_STOP_AFTER_CUTOFF")),
        "{late}"
    );
    assert!(
        late["message"]
            .as_str()
            .unwrap()
            .contains("2026-11-02 15:00"),
        "{late}"
    );

    // The day close releases nothing for a stopped day.
    app.clock.advance(Duration::days(2)); // Wednesday 11-04 16:00
    let closed = afterschool::payments::daily::close_day(&app.state, d("2026-11-03"))
        .await
        .unwrap();
    assert_eq!(
        closed.released_lines, 1,
        "only the other child's lunch: {closed:?}"
    );
}

#[tokio::test]
async fn r_t10_the_stop_lists_filter_by_state_and_class_page_and_refuse_bad_filters() {
    // Arrange: three children with November's lunch, one stop each (the third registered,
    // so approved at once, by the admin)
    let (app, fam) = demo_with_families(3).await;
    let admin = app.admin_token("sqsf").await;
    open_november(&app, &admin).await;
    let item = published_item(&app, &admin, lunch("12.50")).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item,
                        "allergy_acknowledged": true });
        paid_meal(&app, token, b, &format!("list-pay-000{i}")).await;
        let stop = json!({ "student_id": child, "first_day": format!("2026-11-1{i}"),
                           "reason": "外出" });
        let path = if i == 2 {
            "/meals/stops/register"
        } else {
            "/meals/stops"
        };
        let who = if i == 2 { &admin } else { token };
        let (s, b) = app.school(Method::POST, who, path, Some(stop)).await;
        assert_eq!(s, 200, "{b}");
    }
    let class_of = |child: i64| {
        let db = app.db.admin.clone();
        async move {
            sqlx::query_scalar::<_, i64>("select class_id from school_sqsf.students where id = $1")
                .bind(child)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let class0 = class_of(fam[0].0).await;
    let in_class0 = count(
        &app,
        &format!(
            "select count(*) from school_sqsf.meal_stops t join school_sqsf.students s
               on s.id = t.student_id where s.class_id = {class0}"
        ),
    )
    .await;
    let list = |q: String| {
        let (app, admin) = (&app, &admin);
        async move { app.school(Method::GET, admin, &q, None).await }
    };

    // Act
    let (s_all, all) = list("/meals/stops".into()).await;
    let (s_pending, pending) = list("/meals/stops?status=pending".into()).await;
    let (s_page1, page1) = list("/meals/stops?limit=2".into()).await;
    let (s_page2, page2) = list("/meals/stops?limit=2&offset=2".into()).await;
    let (s_class, class) = list(format!("/meals/stops?class_id={class0}")).await;
    let teacher =
        crate::fixtures::homeroom(&app, &admin, "一年级1班", "T811", 811, "13800138811").await;
    let (s_foreign, foreign) = app
        .school(Method::GET, &teacher, "/meals/stops?class_id=999999", None)
        .await;
    let mut refusals = Vec::new();
    for q in [
        "/meals/stops?status=done",
        "/meals/stops?limit=0",
        "/meals/stops?limit=501",
        "/meals/stops?offset=-1",
    ] {
        let (s, b) = list(q.into()).await;
        refusals.push((
            q,
            s,
            b["code"].as_str().map(str::to_string),
            b["message"].clone(),
        ));
    }

    // Assert
    let ids = |v: &serde_json::Value| -> Vec<i64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        (s_all, all["total"].as_i64(), ids(&all).len()),
        (200, Some(3), 3),
        "{all}"
    );
    assert_eq!(
        (s_pending, pending["total"].as_i64()),
        (200, Some(2)),
        "{pending}"
    );
    assert!(pending["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["status"] == "pending"));
    assert_eq!((s_page1, s_page2), (200, 200));
    assert_eq!(
        (page1["total"].as_i64(), page2["total"].as_i64()),
        (Some(3), Some(3))
    );
    let mut paged = ids(&page1);
    paged.extend(ids(&page2));
    assert_eq!(paged, ids(&all), "two pages are the whole list in order");
    assert_eq!(
        (s_class, class["total"].as_i64()),
        (200, Some(in_class0)),
        "{class}"
    );
    assert!(class["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["class_id"] == class0));
    assert_eq!(
        (s_foreign, foreign["code"].as_str()),
        (404, Some("CLASS_NOT_FOUND")),
        "a teacher cannot list another class: {foreign}"
    );
    for (q, s, code, message) in refusals {
        assert_eq!(
            (s, code.as_deref()),
            (422, Some("MEAL_FILTER_INVALID")),
            "{q}: {message}"
        );
        let m = message.as_str().unwrap_or_default();
        assert!(
            m.contains("审批状态") || m.contains("每页条数") || m.contains("跳过"),
            "{q}: {m}"
        );
    }
}
