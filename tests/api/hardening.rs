//! Issue 13, "Security and robustness": input the platform must refuse in one place for
//! every route (NUL characters, oversized uploads, strings that are numbers), answers that
//! keep to the OpenAPI document (405 with `Allow`, 415 declared), the session cookie over
//! HTTPS, the sign-in's `next`, and conflicting tenant headers. R-X04 (等保 baseline).

use reqwest::header::{ALLOW, LOCATION, SET_COOKIE};
use reqwest::Method;
use serde_json::json;

use crate::client::{spawn_demo, SQSF_API};
use crate::fixtures::{published_course, Course};
use crate::helpers::{spawn_app, TestApp, PASSWORD};

async fn departments(app: &TestApp, token: &str) -> Vec<String> {
    let (status, list) = app.school_get(token, "/departments").await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn text_with_a_nul_character_is_refused_with_400_wherever_it_comes_and_changes_nothing() {
    let (app, token) = spawn_demo().await;
    let before = departments(&app, &token).await;

    // A JSON body, a query parameter, a path segment and a page form.
    let (json_status, json_body) = app
        .school_post(&token, "/departments", json!({ "name": "教务\u{0}处" }))
        .await;
    let (query_status, query_body) = app
        .school_get(&token, "/courses?term_code=2026%00autumn")
        .await;
    let (path_status, path_body) = app.school_get(&token, "/terms/2026-aut%00umn/days").await;
    let page = app
        .client
        .post(format!("{}/login", app.address))
        .form(&[("phone", "1880000\u{0}0005"), ("password", "x")])
        .send()
        .await
        .unwrap();
    let page_status = page.status().as_u16();
    let page_type = page
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    let page_html = page.text().await.unwrap();

    for (what, status, body) in [
        ("json body", json_status, &json_body),
        ("query", query_status, &query_body),
        ("path", path_status, &path_body),
    ] {
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["code"], "INPUT_NUL_CHARACTER", "{what}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("控制字符"),
            "{body}"
        );
    }
    assert_eq!(page_status, 400);
    assert!(page_type.starts_with("text/html"), "{page_type}");
    assert!(page_html.contains("INPUT_NUL_CHARACTER") && page_html.contains("控制字符"));
    assert_eq!(
        departments(&app, &token).await,
        before,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_number_for_a_text_field_is_refused_naming_the_field() {
    let (app, token) = spawn_demo().await;
    let before = departments(&app, &token).await;

    let (status, body) = app
        .school_post(&token, "/departments", json!({ "name": 12345 }))
        .await;
    let (bool_status, bool_body) = app
        .post_json(
            None,
            "/api/v1/auth/login",
            json!({ "phone": 18800000005u64, "password": true }),
        )
        .await;

    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("FIELD_TYPE_INVALID")),
        "{body}"
    );
    assert_eq!(body["details"]["field"], "name");
    assert!(body["message"].as_str().unwrap().contains("name"));
    assert_eq!(
        (bool_status, bool_body["code"].as_str()),
        (400, Some("FIELD_TYPE_INVALID"))
    );
    assert_eq!(departments(&app, &token).await, before);
}

#[tokio::test]
async fn a_wrong_method_names_the_allowed_ones_and_a_wrong_media_type_is_a_declared_415() {
    let (app, token) = spawn_demo().await;

    let r = app
        .client
        .delete(format!("{}{SQSF_API}/school/departments", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let allow = r
        .headers()
        .get(ALLOW)
        .map(|v| v.to_str().unwrap().to_string());
    let body: serde_json::Value = r.json().await.unwrap();
    let wrong_type = app
        .client
        .post(format!("{}{SQSF_API}/school/departments", app.address))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("name=教务处")
        .send()
        .await
        .unwrap();
    let wrong_status = wrong_type.status().as_u16();
    let wrong_body: serde_json::Value = wrong_type.json().await.unwrap();

    assert_eq!(status, 405);
    assert_eq!(allow.as_deref(), Some("GET, HEAD, POST"));
    assert_eq!(body["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(wrong_status, 415, "{wrong_body}");
    assert_eq!(wrong_body["code"], "UNSUPPORTED_MEDIA_TYPE");
    // Both answers are in the document, for clients generated from it.
    let spec: serde_json::Value = serde_json::from_str(&afterschool::http::spec_json()).unwrap();
    let op = &spec["paths"]["/school/departments"]["post"]["responses"];
    assert!(op["405"]["headers"]["Allow"].is_object() && op["415"].is_object());
    assert!(spec["paths"]["/school/departments"]["get"]["responses"]["415"].is_null());
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_on_the_picture_and_import_endpoints() {
    let (app, token) = spawn_demo().await;
    let course = published_course(&app, &Course::new(&app, "swim", "游泳")).await;
    let big = vec![b'x'; 12 * 1024 * 1024];

    for (method, path) in [
        (
            Method::PUT,
            format!("{SQSF_API}/school/courses/{course}/pictures"),
        ),
        (
            Method::POST,
            format!("{SQSF_API}/school/imports?kind=students"),
        ),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(big.clone())
                .file_name("big.png")
                .mime_str("image/png")
                .unwrap(),
        );
        let r = app
            .client
            .request(method.clone(), format!("{}{path}", app.address))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await;
        // The server may answer before the whole body is sent, and close: the client then
        // sees either the 413 or a reset; it must never see a 500.
        match r {
            Ok(r) => {
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                assert_eq!(status, 413, "{method} {path}: {body}");
                assert_eq!(body["code"], "PAYLOAD_TOO_LARGE");
            }
            Err(e) => assert!(!e.is_status(), "{method} {path}: {e}"),
        }
    }
    // The console's upload forms get the refusal as a page, not as JSON.
    for path in [
        "/t/sqsf/console/imports".to_string(),
        format!("/t/sqsf/console/courses/{course}/pictures"),
    ] {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(big.clone()).file_name("big.xlsx"),
        );
        if let Ok(r) = app
            .client
            .post(format!("{}{path}", app.address))
            .multipart(form)
            .send()
            .await
        {
            assert_eq!(r.status(), 413, "{path}");
            let html = r.text().await.unwrap();
            assert!(
                html.contains("<html") && html.contains("文件过大"),
                "{path}: {html}"
            );
        }
    }
}

#[tokio::test]
async fn the_session_cookie_is_secure_when_the_browser_came_over_https() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as(
        "18899991234",
        afterschool::auth::model::Role::Parent,
        Some("sqsf"),
    )
    .await;
    let sign_in = |proto: Option<&'static str>| {
        let mut req = app.client.post(format!("{}/login", app.address)).form(&[
            ("phone", "18899991234"),
            ("password", PASSWORD),
            ("next", ""),
        ]);
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };

    let plain = sign_in(None).await.unwrap();
    let proxied = sign_in(Some("https")).await.unwrap();
    let cookie = |r: &reqwest::Response| {
        r.headers()
            .get(SET_COOKIE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };

    assert_eq!(plain.status(), 303);
    assert!(cookie(&plain).starts_with("as_session=") && !cookie(&plain).contains("Secure"));
    assert_eq!(proxied.status(), 303);
    assert!(
        cookie(&proxied).contains("; Secure"),
        "{}",
        cookie(&proxied)
    );
}

#[tokio::test]
async fn sign_in_never_sends_the_browser_to_another_site() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as(
        "18899991235",
        afterschool::auth::model::Role::Parent,
        Some("sqsf"),
    )
    .await;
    for next in [
        "/\t/evil.example/",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
    ] {
        let r = app
            .client
            .post(format!("{}/login", app.address))
            .form(&[
                ("phone", "18899991235"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{next:?}");
        let to = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(
            to.starts_with('/') && !to.contains("evil"),
            "{next:?} led to {to}"
        );
    }
}

#[tokio::test]
async fn two_tenant_headers_naming_different_tenants_are_ambiguous() {
    let (app, token) = spawn_demo().await;

    let r = app
        .client
        .get(format!("{}/api/v1/tenant", app.address))
        .bearer_auth(&token)
        .header("x-tenant", "sqsf")
        .header("x-tenant", "sqhb")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.unwrap();
    let same = app
        .client
        .get(format!("{}/api/v1/tenant", app.address))
        .bearer_auth(&token)
        .header("x-tenant", "sqsf")
        .header("x-tenant", "sqsf")
        .send()
        .await
        .unwrap();

    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("TENANT_AMBIGUOUS"))
    );
    assert_eq!(same.status(), 200);
}

#[test]
fn the_suites_answer_check_fails_on_an_answer_the_document_does_not_promise() {
    use crate::helpers::assert_conforms;
    // A real answer shape passes ...
    assert_conforms(
        "GET",
        "/t/sqsf/api/v1/school/departments",
        200,
        &json!([{ "id": 1, "name": "教务处", "members": 3 }]),
    );
    // ... a null where the document promises text, an undeclared status, and a number
    // for a string do not.
    for (status, body) in [
        (200, json!([{ "id": 1, "name": null, "members": 3 }])),
        (418, json!({ "code": "X", "message": "x", "details": {} })),
        (200, json!([{ "id": 1, "name": 7, "members": 3 }])),
    ] {
        let caught = std::panic::catch_unwind(|| {
            assert_conforms("GET", "/t/sqsf/api/v1/school/departments", status, &body)
        });
        assert!(caught.is_err(), "{status} {body} was let through");
    }
}
