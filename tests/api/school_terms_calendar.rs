//! A school's terms and their calendar (R-S05): teaching days, holidays, closures and
//! make-up days, shown in the calendar at once; a change that breaks the calendar's rules is
//! refused with its code and leaves it as it was.

use serde_json::{json, Value};

use crate::client::{refused, spawn_demo};

// --- term calendar (R-S05) --------------------------------------------------------------

pub fn day<'a>(cal: &'a Value, date: &str) -> &'a Value {
    cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == date)
        .unwrap_or_else(|| panic!("{date} in calendar"))
}

fn school_days(cal: &Value) -> i64 {
    cal["term"]["school_days"].as_i64().unwrap()
}

#[tokio::test]
async fn calendar_edits_show_in_the_calendar_at_once() {
    let (app, token) = spawn_demo().await;
    let cal = app.school_ok(&token, "/calendar?term=2026-autumn").await;
    let base = school_days(&cal);
    assert_eq!(day(&cal, "2026-11-11")["kind"], "teaching"); // Wednesday
    assert_eq!(day(&cal, "2026-11-14")["kind"], "weekend"); // Saturday

    let (status, d) = app
        .school_put(
            &token,
            "/terms/2026-autumn/days/2026-11-11",
            json!({ "kind": "holiday", "name": "校运会补休" }),
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["kind"].as_str(), d["label"].as_str()),
        (Some("holiday"), Some("校运会补休"))
    );
    let cal = app.school_ok(&token, "/calendar?term=2026-autumn").await;
    assert_eq!(day(&cal, "2026-11-11")["kind"], "holiday");
    assert_eq!(school_days(&cal), base - 1);

    let (status, _) = app
        .school_put(
            &token,
            "/terms/2026-autumn/days/2026-11-14",
            json!({ "kind": "makeup", "name": "校运会调休上课" }),
        )
        .await;
    assert_eq!(status, 200);
    let cal = app.school_ok(&token, "/calendar?term=2026-autumn").await;
    assert_eq!(day(&cal, "2026-11-14")["kind"], "makeup");
    assert_eq!(school_days(&cal), base);

    // Replacing a holiday with a closure keeps it off; deleting brings the weekly rule back.
    let (status, _) = app
        .school_put(
            &token,
            "/terms/2026-autumn/days/2026-11-11",
            json!({ "kind": "closure", "name": "台风停课" }),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        day(&app.school_ok(&token, "/calendar").await, "2026-11-11")["kind"],
        "closure"
    );
    let (status, d) = app
        .school_delete(&token, "/terms/2026-autumn/days/2026-11-11")
        .await;
    assert_eq!((status, d["kind"].as_str()), (200, Some("teaching")));
    let cal = app.school_ok(&token, "/calendar").await;
    assert_eq!(school_days(&cal), base + 1);

    let set = app.audit_records("school.term.day_set").await;
    assert_eq!(set.len(), 3);
    assert_eq!(
        set[2].1["previous"],
        json!({ "kind": "holiday", "name": "校运会补休" })
    );
    assert_eq!(app.audit_records("school.term.day_delete").await.len(), 1);
}

#[tokio::test]
async fn calendar_days_that_break_the_rules_are_refused_and_change_nothing() {
    let (app, token) = spawn_demo().await;
    let before = app.school_ok(&token, "/calendar?term=2026-autumn").await;
    let put = |date: &'static str, kind: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            app.school_put(
                token,
                &format!("/terms/2026-autumn/days/{date}"),
                json!({ "kind": kind, "name": "测试" }),
            )
            .await
        }
    };

    refused(&put("2027-02-01", "holiday").await, 422, "DAY_OUTSIDE_TERM");
    refused(&put("2026-08-31", "makeup").await, 422, "DAY_OUTSIDE_TERM");
    refused(
        &put("2026-11-12", "makeup").await,
        422,
        "MAKEUP_ON_TEACHING_DAY",
    ); // Thursday
    refused(&put("2026-11-15", "holiday").await, 422, "NOT_A_SCHOOL_DAY"); // Sunday
    refused(&put("2026-11-15", "closure").await, 422, "NOT_A_SCHOOL_DAY");
    refused(&put("2026-11-12", "vacation").await, 422, "KIND_INVALID");
    refused(&put("2026-13-01", "holiday").await, 422, "DATE_INVALID");
    refused(
        &app.school_put(
            &token,
            "/terms/2026-autumn/days/2026-11-12",
            json!({ "kind": "holiday", "name": " " }),
        )
        .await,
        422,
        "NAME_INVALID",
    );
    refused(
        &app.school_put(
            &token,
            "/terms/1999-spring/days/1999-03-01",
            json!({ "kind": "holiday", "name": "x" }),
        )
        .await,
        404,
        "TERM_NOT_FOUND",
    );
    refused(
        &app.school_delete(&token, "/terms/2026-autumn/days/2026-11-12")
            .await,
        404,
        "DAY_NOT_FOUND",
    );

    assert_eq!(
        app.school_ok(&token, "/calendar?term=2026-autumn").await,
        before
    );
    assert!(app.audit_records("school.term.day_set").await.is_empty());
}

#[tokio::test]
async fn terms_are_created_and_changed_within_the_calendar_rules() {
    let (app, token) = spawn_demo().await;
    let autumn = app.school_ok(&token, "/calendar?term=2026-autumn").await;

    let (status, t) = app.school_post(&token, "/terms", json!({
            "code": "2027-spring", "name": "2026—2027学年第二学期",
            "starts_on": "2027-02-22", "ends_on": "2027-07-02", "teaching_weekdays": [1, 2, 3, 4, 5],
        }))
    .await;
    assert_eq!(status, 200, "{t}");
    // 19 weeks of five teaching days (Mon 22 Feb .. Fri 2 Jul).
    assert_eq!(t["school_days"], 95);
    let spring = app.school_ok(&token, "/calendar?term=2027-spring").await;
    assert_eq!(spring["days"].as_array().unwrap().len(), 131);

    let (status, t) = app
        .school_patch(
            &token,
            "/terms/2026-autumn",
            json!({ "name": "秋季学期", "ends_on": "2027-01-29" }),
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["name"], "秋季学期");
    assert_eq!(school_days(&json!({ "term": t })), school_days(&autumn) + 5);
    let upd = app.audit_records("school.term.update").await;
    assert_eq!(upd.len(), 1);
    assert_eq!(
        upd[0].1["ends_on"],
        json!({ "from": "2027-01-22", "to": "2027-01-29" })
    );
    assert_eq!(app.audit_records("school.term.create").await.len(), 1);
}

#[tokio::test]
async fn term_changes_that_break_the_calendar_are_refused_and_change_nothing() {
    let (app, token) = spawn_demo().await;
    let before = app.school_ok(&token, "/calendar?term=2026-autumn").await;
    let new_term = |code: &str, starts: &str, ends: &str, days: Value| json!({ "code": code, "name": "学期", "starts_on": starts, "ends_on": ends, "teaching_weekdays": days });

    for (body, status, code) in [
        (
            new_term(
                "2027-spring",
                "2027-02-22",
                "2027-02-21",
                json!([1, 2, 3, 4, 5]),
            ),
            422,
            "TERM_DATES_INVALID",
        ),
        (
            new_term(
                "2027-spring",
                "2027-02-22",
                "2027-09-10",
                json!([1, 2, 3, 4, 5]),
            ),
            422,
            "TERM_DATES_INVALID",
        ),
        (
            new_term("2027-spring", "2027-02-22", "2027-07-02", json!([])),
            422,
            "WEEKDAYS_INVALID",
        ),
        (
            new_term("2027-spring", "2027-02-30", "2027-07-02", json!([1])),
            422,
            "DATE_INVALID",
        ),
        (
            new_term("2027 spring", "2027-02-22", "2027-07-02", json!([1])),
            422,
            "CODE_INVALID",
        ),
        (
            new_term(
                "2027-spring",
                "2027-01-10",
                "2027-02-10",
                json!([1, 2, 3, 4, 5]),
            ),
            409,
            "TERM_OVERLAP",
        ),
        (
            new_term(
                "2026-autumn",
                "2028-02-21",
                "2028-07-01",
                json!([1, 2, 3, 4, 5]),
            ),
            409,
            "TERM_CODE_TAKEN",
        ),
    ] {
        refused(&app.school_post(&token, "/terms", body).await, status, code);
    }
    for (body, code) in [
        // 元旦 (2027-01-01..03) would fall outside.
        (json!({ "ends_on": "2026-12-31" }), "EXCEPTION_OUTSIDE_TERM"),
        // The 调休 Sunday 2026-09-20 would fall outside.
        (
            json!({ "starts_on": "2026-09-21" }),
            "EXCEPTION_OUTSIDE_TERM",
        ),
        // Saturdays become teaching days: the 调休 Saturday 2026-10-10 would make no sense.
        (
            json!({ "teaching_weekdays": [1, 2, 3, 4, 5, 6] }),
            "MAKEUP_ON_TEACHING_DAY",
        ),
        (json!({ "ends_on": "2026-08-01" }), "TERM_DATES_INVALID"),
    ] {
        refused(
            &app.school_patch(&token, "/terms/2026-autumn", body).await,
            422,
            code,
        );
    }
    refused(
        &app.school_patch(&token, "/terms/1999-spring", json!({ "name": "x" }))
            .await,
        404,
        "TERM_NOT_FOUND",
    );

    assert_eq!(
        app.school_ok(&token, "/calendar?term=2026-autumn").await,
        before
    );
    let terms: i64 = sqlx::query_scalar("select count(*) from school_sqsf.terms")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(terms, 1);
    assert!(app.audit_records("school.term.update").await.is_empty());
}
