//! The HTTP skeleton (issue #2 item 6): health, readiness, request ids, the uniform error
//! shape, tenant routing and suspension, the OpenAPI document and its committed copy, and
//! the school read views (R-S02, R-S05).

use afterschool::tenancy::repo;

use crate::client::spawn_demo;
use crate::helpers::{repo_root, spawn_app};

#[tokio::test]
async fn health_and_readiness_answer_and_every_response_has_a_request_id() {
    let app = spawn_app().await;

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let id = health
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );

    let echoed = app
        .get_with("/healthz", "X-Request-Id", "trace-abc-123")
        .await;
    assert_eq!(echoed.headers()["x-request-id"], "trace-abc-123");
}

#[tokio::test]
async fn readiness_fails_with_a_coded_error_when_the_database_is_gone() {
    let app = spawn_app().await;
    app.db.app.close().await;

    let (status, body) = app.get_json("/readyz").await;

    assert_eq!(status, 503);
    assert_eq!(body["code"], "DB_UNAVAILABLE");
}

#[tokio::test]
async fn errors_have_one_shape_with_a_chinese_message() {
    let app = spawn_app().await;
    app.apply_demo().await;

    let (status, body) = app.get_json("/api/v1/no/such/route").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    assert!(body["message"].as_str().unwrap().contains("不存在"));
    assert!(body["details"].is_object());

    let (status, body) = app.get_json("/t/sqsf/api/v1/tenant").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("UNAUTHENTICATED"))
    );

    let token = app.admin_token("sqsf").await;
    let (status, body) = app.get_json_as(&token, "/api/v1/tenant").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("TENANT_REQUIRED"))
    );

    let (status, body) = app.get_json("/t/nosuch/api/v1/tenant").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("TENANT_NOT_FOUND"))
    );

    let (status, body) = app.get_json("/t/NOT_A_CODE!/api/v1/tenant").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("TENANT_NOT_FOUND"))
    );

    let ambiguous = app
        .get_with("/t/sqsf/api/v1/tenant", "X-Tenant", "sqhb")
        .await;
    assert_eq!(ambiguous.status(), 400);
    assert_eq!(
        ambiguous.json::<serde_json::Value>().await.unwrap()["code"],
        "TENANT_AMBIGUOUS"
    );

    let (status, body) = app
        .get_json_as(&token, "/t/ycys/api/v1/school/classes")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("TENANT_KIND_UNSUPPORTED"))
    );

    let (status, body) = app.school_get(&token, "/calendar?term=1999-spring").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("TERM_NOT_FOUND"))
    );
    assert!(body["message"].as_str().unwrap().contains("1999-spring"));
}

#[tokio::test]
async fn a_suspended_tenant_answers_403_to_every_request_until_resumed() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let sqhb = app.admin_token("sqhb").await;
    let sqsf = app.admin_token("sqsf").await;
    assert_eq!(
        app.get_as(&sqhb, "/t/sqhb/api/v1/tenant").await.status(),
        200
    );

    repo::set_status(&app.db.admin, "sqhb", true, Some("测试"))
        .await
        .unwrap();

    for path in [
        "/t/sqhb/api/v1/tenant",
        "/t/sqhb/api/v1/school/classes",
        "/t/sqhb/api/v1/no/route",
    ] {
        let (status, body) = app.get_json_as(&sqhb, path).await;
        assert_eq!(status, 403, "{path}");
        assert_eq!(body["code"], "TENANT_SUSPENDED");
        assert!(body["message"].as_str().unwrap().contains("石岐湖滨小学"));
    }
    // Other tenants are unaffected.
    assert_eq!(
        app.get_as(&sqsf, "/t/sqsf/api/v1/tenant").await.status(),
        200
    );

    repo::set_status(&app.db.admin, "sqhb", false, None)
        .await
        .unwrap();
    assert_eq!(
        app.get_as(&sqhb, "/t/sqhb/api/v1/tenant").await.status(),
        200
    );
}

#[tokio::test]
async fn the_three_ways_of_naming_a_tenant_reach_the_same_tenant() {
    let app = spawn_app().await;
    app.apply_demo().await;

    let token = app.admin_token("sqqh").await;
    let (_, by_path) = app.get_json_as(&token, "/t/sqqh/api/v1/tenant").await;
    let by_header: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/tenant", app.address))
        .header("X-Tenant", "sqqh")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let by_host: serde_json::Value = app
        .client
        .get(format!("{}/api/v1/tenant", app.address))
        .header("Host", format!("sqqh.afterschool.test:{}", app.port))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(by_path["name"], "石岐启航初级中学");
    assert_eq!(by_path["kind"], "school");
    assert_eq!(by_path, by_header);
    assert_eq!(by_path, by_host);
}

#[tokio::test]
async fn school_views_show_classes_with_aliases_venues_periods_and_the_term_calendar() {
    let (app, token) = spawn_demo().await;
    let (status, grades) = app.school_get(&token, "/classes").await;
    assert_eq!(status, 200);
    let grades = grades.as_array().unwrap();
    assert_eq!(grades.len(), 6);
    assert_eq!(grades[0]["name"], "一年级");
    assert_eq!(grades[0]["classes"][0]["name"], "一年级1班");
    assert_eq!(grades[0]["classes"][0]["alias"], "向日葵班");

    let (_, venues) = app.school_get(&token, "/venues").await;
    assert!(venues
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["kind"] == "canteen"));
    let (_, periods) = app.school_get(&token, "/periods").await;
    let names: Vec<&str> = periods
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["周六日", "午托", "课后", "晚托"]);

    // Without ?term the test clock (2026-10-12) picks the autumn term.
    let (status, cal) = app.school_get(&token, "/calendar").await;
    assert_eq!(status, 200);
    assert_eq!(cal["term"]["code"], "2026-autumn");
    let day = |d: &str| {
        cal["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["date"] == d)
            .cloned()
            .unwrap()
    };
    assert_eq!(day("2026-10-01")["kind"], "holiday");
    assert_eq!(day("2026-10-01")["label"], "国庆节");
    assert_eq!(day("2026-09-20")["kind"], "makeup");
    assert_eq!(day("2026-10-10")["kind"], "makeup");
    assert_eq!(day("2026-10-12")["kind"], "teaching");
    assert_eq!(day("2026-10-17")["kind"], "weekend");
    // 2026-09-01..2027-01-22 has 104 weekdays; minus 中秋 Fri 9-25, 国庆 Thu-Wed (5
    // weekdays), 元旦 Fri 1-1; plus the two 调休 weekend days.
    assert_eq!(cal["term"]["school_days"], 104 - 1 - 5 - 1 + 2);
}

#[tokio::test]
async fn the_openapi_document_is_served_and_matches_the_committed_copy() {
    let app = spawn_app().await;

    let served = app.get("/api/openapi.json").await;
    assert_eq!(served.status(), 200);
    let served: serde_json::Value = served.json().await.unwrap();
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        served, committed,
        "docs/openapi.json is stale: run `cargo run -- openapi > docs/openapi.json`"
    );
    assert!(served["paths"]["/school/classes"]["get"].is_object());

    let docs = app.get("/api/docs").await;
    assert_eq!(docs.status(), 200);
    assert!(docs
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("swagger"));
}
