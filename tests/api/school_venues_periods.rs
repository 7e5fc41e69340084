//! A school's venues and periods (R-S05): created, changed and deleted with an audit
//! record each; a refusal is a specific code that leaves the data as it was.

use serde_json::{json, Value};

use crate::client::{refused, spawn_demo};
use crate::school_grades_classes::class_in;

// --- venues (R-S05) ---------------------------------------------------------------------

#[tokio::test]
async fn a_venue_is_created_updated_and_deleted_with_audit_records() {
    let (app, token) = spawn_demo().await;

    let (status, v) = app
        .school_post(
            &token,
            "/venues",
            json!({ "code": "lib", "name": "图书馆", "kind": "hall", "capacity": 120 }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let id = v["id"].as_i64().unwrap();
    let (status, v) = app
        .school_patch(
            &token,
            &format!("/venues/{id}"),
            json!({ "capacity": 150, "kind": "other" }),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (
            v["capacity"].as_i64(),
            v["kind"].as_str(),
            v["name"].as_str()
        ),
        (Some(150), Some("other"), Some("图书馆"))
    );
    let listed = app.school_ok(&token, "/venues").await;
    assert!(listed
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["code"] == "lib" && x["capacity"] == 150));
    let (status, _) = app.school_delete(&token, &format!("/venues/{id}")).await;
    assert_eq!(status, 200);

    assert!(app
        .school_ok(&token, "/venues")
        .await
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["code"] != "lib"));
    assert_eq!(
        app.audit_records("school.venue.create").await[0].0,
        format!("venue:{id}")
    );
    let upd = app.audit_records("school.venue.update").await;
    assert_eq!(upd[0].1["capacity"], json!({ "from": 120, "to": 150 }));
    assert_eq!(app.audit_records("school.venue.delete").await.len(), 1);
}

#[tokio::test]
async fn invalid_or_duplicate_venues_are_refused_and_change_nothing() {
    let (app, token) = spawn_demo().await;
    let before = app.school_ok(&token, "/venues").await;
    let gym = before
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "gym")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    refused(
        &app.school_post(
            &token,
            "/venues",
            json!({ "code": "gym", "name": "新体育馆", "kind": "gym", "capacity": 10 }),
        )
        .await,
        409,
        "VENUE_CODE_TAKEN",
    );
    refused(
        &app.school_patch(&token, &format!("/venues/{gym}"), json!({ "code": "hall" }))
            .await,
        409,
        "VENUE_CODE_TAKEN",
    );
    for (body, code) in [
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "pool", "capacity": 10 }),
            "KIND_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "gym", "capacity": 0 }),
            "CAPACITY_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "游泳馆", "kind": "gym", "capacity": 10001 }),
            "CAPACITY_INVALID",
        ),
        (
            json!({ "code": "Pool", "name": "游泳馆", "kind": "gym", "capacity": 10 }),
            "CODE_INVALID",
        ),
        (
            json!({ "code": "pool", "name": "", "kind": "gym", "capacity": 10 }),
            "NAME_INVALID",
        ),
    ] {
        refused(&app.school_post(&token, "/venues", body).await, 422, code);
    }
    refused(
        &app.school_patch(&token, &format!("/venues/{gym}"), json!({ "capacity": -1 }))
            .await,
        422,
        "CAPACITY_INVALID",
    );
    refused(
        &app.school_delete(&token, "/venues/999999").await,
        404,
        "VENUE_NOT_FOUND",
    );

    assert_eq!(app.school_ok(&token, "/venues").await, before);
    assert!(app.audit_records("school.venue.create").await.is_empty());
}

#[tokio::test]
async fn a_venue_used_as_a_home_classroom_cannot_be_deleted() {
    let (app, token) = spawn_demo().await;
    let venues = app.school_ok(&token, "/venues").await;
    let art = venues
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["code"] == "art")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let list = app.school_ok(&token, "/classes").await;
    let g4c2 = class_in(&list, "g4c2").unwrap()["id"].as_i64().unwrap();
    let (status, _) = app
        .school_patch(
            &token,
            &format!("/classes/{g4c2}"),
            json!({ "venue_id": art }),
        )
        .await;
    assert_eq!(status, 200);

    let answer = app.school_delete(&token, &format!("/venues/{art}")).await;

    refused(&answer, 409, "VENUE_IN_USE");
    assert_eq!(answer.1["details"]["classes"], json!(["四年级2班"]));
    assert_eq!(app.school_ok(&token, "/venues").await, venues);
}

// --- periods (R-S05) --------------------------------------------------------------------

#[tokio::test]
async fn a_period_is_created_updated_and_deleted_with_audit_records() {
    let (app, token) = spawn_demo().await;

    let (status, p) = app
        .school_post(
            &token,
            "/periods",
            json!({
                "code": "morning", "name": "早托", "kind": "after_school",
                "starts_at": "07:00", "ends_at": "07:50", "weekdays": [5, 1, 3],
            }),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["weekdays"], json!([1, 3, 5]));
    assert_eq!(p["starts_at"], "07:00:00");
    let id = p["id"].as_i64().unwrap();
    let (status, p) = app
        .school_patch(
            &token,
            &format!("/periods/{id}"),
            json!({ "ends_at": "08:00", "weekdays": [1, 2, 3, 4, 5] }),
        )
        .await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["ends_at"].as_str(), p["name"].as_str()),
        (Some("08:00:00"), Some("早托"))
    );
    let (status, _) = app.school_delete(&token, &format!("/periods/{id}")).await;
    assert_eq!(status, 200);

    assert!(app
        .school_ok(&token, "/periods")
        .await
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["code"] != "morning"));
    assert_eq!(app.audit_records("school.period.create").await.len(), 1);
    let upd = app.audit_records("school.period.update").await;
    assert_eq!(
        upd[0].1["ends_at"],
        json!({ "from": "07:50", "to": "08:00" })
    );
    assert_eq!(
        app.audit_records("school.period.delete").await[0].0,
        format!("period:{id}")
    );
}

#[tokio::test]
async fn invalid_periods_are_refused_with_their_codes_and_change_nothing() {
    let (app, token) = spawn_demo().await;
    let before = app.school_ok(&token, "/periods").await;
    let noon = before
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "noon")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let period = |patch: Value| {
        let mut p = json!({
            "code": "late", "name": "延时", "kind": "evening",
            "starts_at": "18:00", "ends_at": "19:00", "weekdays": [1, 2, 3, 4, 5],
        });
        for (k, v) in patch.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };

    for (patch, status, code) in [
        (json!({ "ends_at": "18:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "ends_at": "17:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "starts_at": "25:00" }), 422, "PERIOD_TIME_INVALID"),
        (json!({ "weekdays": [] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [1, 8] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [0] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "weekdays": [2, 2] }), 422, "WEEKDAYS_INVALID"),
        (json!({ "kind": "night" }), 422, "KIND_INVALID"),
        (json!({ "code": "noon" }), 409, "PERIOD_CODE_TAKEN"),
    ] {
        refused(
            &app.school_post(&token, "/periods", period(patch)).await,
            status,
            code,
        );
    }
    refused(
        &app.school_patch(
            &token,
            &format!("/periods/{noon}"),
            json!({ "starts_at": "15:00" }),
        )
        .await,
        422,
        "PERIOD_TIME_INVALID",
    );
    refused(
        &app.school_delete(&token, "/periods/999999").await,
        404,
        "PERIOD_NOT_FOUND",
    );

    assert_eq!(app.school_ok(&token, "/periods").await, before);
    assert!(app.audit_records("school.period.create").await.is_empty());
}
