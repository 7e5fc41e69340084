//! The pages' guards over plain HTTP (issue #7, R-X03): sign-in through the form and its
//! cookie, sign-in redirects, CSRF and origin checks on every post, errors as pages next to
//! their field, and a parent's pages never showing another family's child.

use afterschool::auth::model::Role;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use crate::client::spawn_demo;
use crate::fixtures::{demo_with_families, FIRST_PHONE};
use crate::helpers::{spawn_app, TestApp, PASSWORD};

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
    let r = form_sign_in(&app, "13900001112", PASSWORD).await;
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
    let (app, fam) = demo_with_families(2).await;
    let r = form_sign_in(&app, &FIRST_PHONE.to_string(), PASSWORD).await;
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
    let (roster, _) =
        afterschool::people::sample::roster(2, &["一年级1班", "三年级2班"], FIRST_PHONE);
    assert!(
        !html.contains(&roster[1][0]),
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

// ---------------------------------------------------------------------------------------
// Issue 13, staff and consoles (items 6–8, 10)
// ---------------------------------------------------------------------------------------

/// The text of a page without its tags and attributes: what a reader sees.
fn visible_text(html: &str) -> String {
    html.split('>')
        .map(|p| p.split('<').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The demo street as `demo` seeds it: tenants, the demo accounts, the demo school's
/// people and courses. Returns each demo account's (phone, role, tenant, session cookie).
async fn demo_street(app: &TestApp) -> Vec<(&'static str, Role, Option<&'static str>, String)> {
    use afterschool::clock::Clock;
    app.apply_demo().await;
    let mut out = Vec::new();
    for (phone, _, role, tenant) in afterschool::auth::bootstrap::demo_accounts() {
        let (_, token) = app.sign_in_as(phone, role, tenant).await;
        out.push((phone, role, tenant, format!("as_session={token}")));
    }
    let school = app.tenant("sqsf").await;
    let admin = sqlx::query_scalar::<_, i64>(
        "select a.id from platform.accounts a join platform.role_assignments r on r.account_id = a.id where r.role = 'school_admin' and r.tenant_id = $1 limit 1",
    )
    .bind(school.id)
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    afterschool::people::sample::seed_demo(
        &app.db.admin,
        &app.keys,
        &school,
        admin,
        app.clock.now().date_naive(),
    )
    .await
    .unwrap();
    afterschool::courses::sample::seed_demo(&app.state, &school, admin, app.clock.now())
        .await
        .unwrap();
    out
}

#[tokio::test]
async fn issue13_every_demo_account_starts_on_a_page_with_something_to_do() {
    // Arrange
    let app = spawn_app().await;
    let accounts = demo_street(&app).await;

    for (phone, role, tenant, cookie) in &accounts {
        // Act: the home page sends the account to its start page, which is a page.
        let r = app
            .client
            .get(format!("{}/home", app.address))
            .header(COOKIE, cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303, "{phone}");
        let start = r.headers()[LOCATION].to_str().unwrap().to_string();
        assert_eq!(
            start,
            afterschool::auth::pages::sign_in::home_url(*role, *tenant),
            "{phone}"
        );
        let (status, html) = page(&app, cookie, &start).await;

        // Assert: something to do, never a refusal, and a plain word on what is coming
        // where the role's work is mostly still to be built.
        assert_eq!(status, 200, "{phone} {start}: {html}");
        assert!(!html.contains("无权访问"), "{phone} {start}");
        let wants: &[&str] = match role {
            Role::OperatorSec => &["id=\"platform-roles\"", "id=\"role-form\""],
            Role::OperatorSys => &["id=\"tenants\""],
            Role::OperatorAudit => &["id=\"audit-records\""],
            Role::BureauOfficer => &["id=\"bureau-schools\"", "id=\"coming-soon\""],
            Role::SchoolAdmin => &["常用操作"],
            Role::HomeroomTeacher => &["本班学生报名情况", "id=\"school-courses\""],
            Role::Teacher => &[
                "id=\"teacher-timetable\"",
                "id=\"school-courses\"",
                "id=\"coming-soon\"",
            ],
            Role::Inspector => &["id=\"school-courses\"", "今日上课", "巡课记录"],
            Role::Parent => &[],
            Role::AgencyAdmin => &["id=\"agency-members\"", "id=\"coming-soon\""],
            Role::AgencyTeacher => &["id=\"agency-summary\"", "id=\"coming-soon\""],
        };
        for w in wants {
            assert!(html.contains(w), "{phone} {start} lacks {w}: {html}");
        }
    }

    // Issue 13 item 10: the demo school's people look real: no digits in names, women
    // teachers recorded as women (from the ID number), both sexes among the children, and
    // each child's age fits the grade of their class in the autumn-2026 term.
    let staff: Vec<(String, String)> =
        sqlx::query_as("select name, sex from school_sqsf.staff order by staff_no")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    assert!(staff.contains(&("陈慧敏".into(), "F".into())), "{staff:?}");
    assert!(staff.contains(&("林建华".into(), "M".into())), "{staff:?}");
    assert!(staff.contains(&("吴晓燕".into(), "F".into())), "{staff:?}");
    let kids: Vec<(String, String, chrono::NaiveDate, i16)> = sqlx::query_as(
        "select s.name, s.sex, s.birth_date, g.level from school_sqsf.students s
         join school_sqsf.classes c on c.id = s.class_id join school_sqsf.grades g on g.id = c.grade_id",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    assert!(!kids.is_empty());
    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 8, 31).unwrap();
    for (name, _, birth, level) in &kids {
        assert!(!name.chars().any(|c| c.is_ascii_digit()), "{name}");
        assert_eq!(
            cutoff.years_since(*birth),
            Some(5 + *level as u32),
            "{name} born {birth} in grade {level}"
        );
    }
    assert!(kids.iter().any(|k| k.1 == "F") && kids.iter().any(|k| k.1 == "M"));
    let guardians: Vec<String> = sqlx::query_scalar("select name from school_sqsf.guardians")
        .fetch_all(&app.db.admin)
        .await
        .unwrap();
    assert!(
        guardians
            .iter()
            .all(|n| !n.chars().any(|c| c.is_ascii_digit())),
        "{guardians:?}"
    );

    // The tenant links `demo` prints are pages: a stranger is sent to sign in.
    for code in ["sqsf", "ycys"] {
        let r = app.get(&format!("/t/{code}/console")).await;
        assert_eq!(r.status(), 303, "{code}");
        assert!(r.headers()[LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login?next="));
    }
}

#[tokio::test]
async fn issue13_the_security_administrator_grants_an_operator_role_on_a_page() {
    // Arrange
    let app = spawn_app().await;
    app.apply_demo().await;
    let (_, token) = app.sign_in_as("18800000002", Role::OperatorSec, None).await;
    let cookie = format!("as_session={token}");
    let (_, html) = page(&app, &cookie, "/console/platform/roles").await;
    let csrf = csrf_of(&html);

    // Act: a wrong phone first, then a right one.
    let post = |phone: &'static str| {
        app.client
            .post(format!(
                "{}/console/platform/roles?_csrf={csrf}",
                app.address
            ))
            .header(COOKIE, &cookie)
            .header("origin", &app.address)
            .form(&[
                ("phone", phone),
                ("name", "新审计员"),
                ("role", "operator_audit"),
            ])
            .send()
    };
    let bad = post("12345").await.unwrap();
    let bad_status = bad.status().as_u16();
    let bad_html = bad.text().await.unwrap();
    let good = post("18800000099").await.unwrap();
    let good_status = good.status().as_u16();
    let good_html = good.text().await.unwrap();

    // Assert
    assert_eq!(bad_status, 422, "{bad_html}");
    assert!(bad_html.contains("id=\"phone-error\""), "{bad_html}");
    assert_eq!(good_status, 200, "{good_html}");
    assert!(good_html.contains("id=\"role-granted\""), "{good_html}");
    let table = &good_html[good_html.find("id=\"platform-roles\"").unwrap()..];
    assert!(
        table.contains("新审计员") && table.contains("审计管理员"),
        "{table}"
    );
    assert!(!visible_text(table).contains("operator_"), "{table}");
}

#[tokio::test]
async fn issue13_r_s10_the_settlement_file_holds_amounts_as_numbers_and_no_codes() {
    use calamine::{Data, DataType, Reader, Xlsx};

    // Arrange: a paid booking of a course, in the demo school.
    let (app, fam) = demo_with_families(1).await;
    let course = crate::fixtures::published_course(
        &app,
        &crate::fixtures::Course::new(&app, "noon-custody", "午间托管"),
    )
    .await;
    app.paid(&fam[0].1, fam[0].0, course, "xlsx-money-0001")
        .await;
    let admin = app.admin_token("sqsf").await;
    let cookie = format!("as_session={admin}");

    for group in ["course", "item", "day"] {
        // Act: the console's download and page.
        let r = app
            .client
            .get(format!(
                "{}/t/sqsf/console/settlement/download?from=2026-10-01&to=2026-10-31&group={group}&format=xlsx",
                app.address
            ))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{group}");
        let bytes = r.bytes().await.unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let sheet = book.worksheet_range("结算报表").unwrap();
        let (_, page_html) = page(
            &app,
            &cookie,
            &format!("/t/sqsf/console/settlement?from=2026-10-01&to=2026-10-31&group={group}"),
        )
        .await;

        // Assert: every amount a number (Excel can sum it), and no code or English word.
        let rows: Vec<&[Data]> = sheet.rows().collect();
        let headers: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        let paid_col = headers.iter().position(|h| h.starts_with("实收")).unwrap();
        let orders_col = headers.iter().position(|h| h == "订单数").unwrap();
        assert!(rows.len() >= 3, "{group}: a row and the totals");
        for row in &rows[1..] {
            assert!(
                matches!(row[paid_col], Data::Float(_) | Data::Int(_)),
                "{group}: amount stored as {:?}",
                row[paid_col]
            );
            assert!(matches!(row[orders_col], Data::Float(_) | Data::Int(_)));
            for cell in row.iter() {
                let t = cell.to_string();
                assert!(t != "total" && !t.contains("noon-custody"), "{group}: {t}");
            }
        }
        let last = rows.last().unwrap();
        assert!(
            last.iter()
                .any(|c| matches!(c, Data::String(s) if s == "合计")),
            "{group}"
        );
        assert_eq!(last[paid_col].as_f64(), Some(300.0), "{group}");
        let table = &page_html[page_html.find("id=\"settlement\"").unwrap()..];
        assert!(
            !table.contains("noon-custody") && !table.contains(">total<"),
            "{group}"
        );
    }
    // The course list shows names, never the code school staff did not choose.
    let (_, list) = page(&app, &cookie, "/t/sqsf/console/courses").await;
    let shown = visible_text(&list);
    assert!(
        shown.contains("午间托管") && !shown.contains("noon-custody"),
        "{shown}"
    );
}

#[tokio::test]
async fn issue13_the_course_form_reports_every_wrong_field_at_once_and_needs_no_code() {
    // Arrange
    let (app, admin) = spawn_demo().await;
    let cookie = format!("as_session={admin}");
    let (_, form) = page(&app, &cookie, "/t/sqsf/console/courses/new").await;
    let csrf = csrf_of(&form);
    let post = |fields: Vec<(&'static str, &'static str)>| {
        app.client
            .post(format!(
                "{}/t/sqsf/console/courses/new?_csrf={csrf}",
                app.address
            ))
            .header(COOKIE, &cookie)
            .header("origin", &app.address)
            .form(&fields)
            .send()
    };
    let base = vec![
        ("code", ""),
        ("class_type", "custody"),
        ("category", "托管"),
        ("term_code", "2026-autumn"),
        ("weekdays", "1"),
        ("weekdays", "3"),
        ("starts_at", "12:00"),
        ("ends_at", "14:00"),
        ("pricing", "per_day"),
        ("eligible_levels", "3"),
        ("reg_opens_at", "2026-10-01T08:00"),
        ("reg_closes_at", "2026-10-20T20:00"),
        ("allocation", "fcfs"),
        ("hold_minutes", "30"),
    ];

    // Act: three wrong fields, then the same form put right with no code typed.
    let mut wrong = base.clone();
    wrong.extend([("name", ""), ("price", "十五元"), ("capacity", "0")]);
    let r = post(wrong).await.unwrap();
    let (status, html) = (r.status().as_u16(), r.text().await.unwrap());
    let mut right = base.clone();
    right.extend([("name", "午间托管"), ("price", "15"), ("capacity", "100")]);
    let created = post(right).await.unwrap();

    // Assert
    assert_eq!(status, 422, "{html}");
    for f in ["name", "price", "capacity"] {
        assert!(
            html.contains(&format!("id=\"{f}-error\"")),
            "{f} not reported: {html}"
        );
    }
    assert_eq!(created.status(), 303);
    let code: String =
        sqlx::query_scalar("select code from school_sqsf.courses where name = '午间托管'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert!(
        code.starts_with('c') && code[1..].bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
}

/// The secret the authenticator set-up page shows.
fn shown_secret(html: &str) -> String {
    let at = html
        .find("id=\"totp-secret\">")
        .expect("the secret is shown")
        + 17;
    html[at..].split('<').next().unwrap().to_string()
}

#[tokio::test]
async fn issue13_a_mistyped_code_keeps_the_authenticator_secret_until_it_is_bound() {
    use afterschool::clock::Clock;

    // Arrange: an operator who has not bound an authenticator signs in with the form.
    let app = spawn_app().await;
    app.sign_in_as("18800000001", Role::OperatorSys, None).await;
    let signed = form_sign_in(&app, "18800000001", PASSWORD).await;
    assert_eq!(signed.headers()[LOCATION], "/account/totp");
    let cookie = session_cookie(&signed);
    let (_, first) = page(&app, &cookie, "/account/totp").await;
    let secret = shown_secret(&first);
    let post = |code: String| {
        app.client
            .post(format!(
                "{}/account/totp?_csrf={}",
                app.address,
                csrf_of(&first)
            ))
            .header(COOKIE, &cookie)
            .header("origin", &app.address)
            .form(&[("code", code)])
            .send()
    };

    // Act: a typo, a reload, then the right code for the secret first shown.
    let typo = post("000000".into()).await.unwrap();
    let typo_status = typo.status().as_u16();
    let typo_html = typo.text().await.unwrap();
    let (_, reloaded) = page(&app, &cookie, "/account/totp").await;
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.trim().as_bytes())
        .unwrap();
    let code = afterschool::auth::totp::code_at(&raw, app.clock.now().timestamp());
    let bound = post(code).await.unwrap();

    // Assert
    assert_eq!(typo_status, 422, "{typo_html}");
    assert!(typo_html.contains("id=\"code-error\""), "{typo_html}");
    assert_eq!(shown_secret(&typo_html), secret, "the typo kept the secret");
    assert_eq!(shown_secret(&reloaded), secret, "a reload kept the secret");
    assert_eq!(bound.status(), 303, "the first secret binds");
}
