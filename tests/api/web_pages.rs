//! The pages' guards over plain HTTP (issue #7, R-X03): sign-in through the form and its
//! cookie, sign-in redirects, CSRF and origin checks on every post, errors as pages next to
//! their field, and a parent's pages never showing another family's child.

use afterschool::auth::model::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::fixtures::{families, FIRST_PHONE};
use crate::helpers::{spawn_app, TestApp};

/// Signs in through the form; returns the `as_session=…` cookie pair.
async fn form_sign_in(app: &TestApp, phone: &str, password: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/login", app.address))
        .form(&[("phone", phone), ("password", password), ("next", "")])
        .send()
        .await
        .unwrap()
}

fn session_cookie(resp: &reqwest::Response) -> String {
    let set = resp
        .headers()
        .get(SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    set.split(';').next().unwrap().to_string()
}

/// The CSRF token the page put into its forms' actions.
fn csrf_of(html: &str) -> String {
    let at = html.find("_csrf=").expect("a form with a token") + 6;
    html[at..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect()
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(format!("{}{path}", app.address))
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn pages_send_strangers_to_sign_in_and_come_back_after() {
    let app = spawn_app().await;
    app.apply_demo().await;

    let r = app.get("/t/sqsf/m/courses?child=1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()[LOCATION],
        "/login?next=%2Ft%2Fsqsf%2Fm%2Fcourses%3Fchild%3D1"
    );
    let login = app.get("/login?next=%2Ft%2Fsqsf%2Fm").await;
    assert_eq!(login.status(), 200);
    let html = login.text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/t/sqsf/m\""), "{html}");
    assert!(html.contains("lang=\"zh-CN\""));
}

#[tokio::test]
async fn a_wrong_password_is_shown_under_the_password_field_and_keeps_the_phone() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13900001111", Role::Parent, Some("sqsf"))
        .await;

    let r = form_sign_in(&app, "13900001111", "Wrong#2026x").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get(SET_COOKIE).is_none());
    let html = r.text().await.unwrap();
    assert!(html.contains("id=\"password-error\""), "{html}");
    assert!(html.contains("手机号或密码错误"));
    assert!(html.contains("value=\"13900001111\""));

    let r = form_sign_in(&app, "1390000", "x").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"phone-error\""));
}

#[tokio::test]
async fn a_post_without_the_session_token_or_from_another_site_changes_nothing() {
    let app = spawn_app().await;
    app.apply_demo().await;
    app.sign_in_as("13900001112", Role::Parent, Some("sqsf"))
        .await;
    let r = form_sign_in(&app, "13900001112", "Test#2026ok").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()[LOCATION], "/home");
    let cookie = session_cookie(&r);
    let consents = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from platform.consents")
            .fetch_one(&app.db.admin)
            .await
            .unwrap()
    };

    // The consent page is what a parent sees first; its form carries the token.
    let (status, html) = page(&app, &cookie, "/t/sqsf/m").await;
    assert_eq!(status, 200);
    let token = csrf_of(&html);
    assert_eq!(token.len(), 32);

    let no_token = app
        .client
        .post(format!("{}/t/sqsf/m/consent", app.address))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(no_token.text().await.unwrap().contains("CSRF_REJECTED"));

    let other_site = app
        .client
        .post(format!("{}/t/sqsf/m/consent?_csrf={token}", app.address))
        .header(COOKIE, &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(other_site.status(), 403);
    assert_eq!(consents().await, 0);

    let ok = app
        .client
        .post(format!("{}/t/sqsf/m/consent?_csrf={token}", app.address))
        .header(COOKIE, &cookie)
        .header("origin", app.address.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 303);
    assert_eq!(consents().await, 1);
}

#[tokio::test]
async fn a_parent_cannot_open_another_familys_child() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let fam = families(&app, 2).await;
    let r = form_sign_in(&app, &FIRST_PHONE.to_string(), "Test#2026ok").await;
    let cookie = session_cookie(&r);
    let (_, html) = page(&app, &cookie, "/t/sqsf/m").await;
    let token = csrf_of(&html);
    app.client
        .post(format!("{}/t/sqsf/m/consent?_csrf={token}", app.address))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();

    let (status, html) = page(
        &app,
        &cookie,
        &format!("/t/sqsf/m/timetable?child={}", fam[0].0),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    let (status, html) = page(
        &app,
        &cookie,
        &format!("/t/sqsf/m/timetable?child={}", fam[1].0),
    )
    .await;
    assert_eq!(status, 404);
    assert!(html.contains("页面不存在"), "{html}");
    assert!(
        !html.contains("陈子轩1"),
        "another family's child must not be named"
    );
}

#[tokio::test]
async fn unknown_pages_are_pages_and_the_api_keeps_its_json() {
    let app = spawn_app().await;
    let r = app.get("/no/such/page").await;
    assert_eq!(r.status(), 404);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let (status, body) = app.get_json("/api/v1/no/such/route").await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "ROUTE_NOT_FOUND");
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), 200);
    assert!(css.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
}
