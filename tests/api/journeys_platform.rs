//! Platform console journeys in a real browser (issue #7 item 2; R-B01, R-X02, R-X03): the
//! operator's system administrator signs in with a password and enrols an authenticator,
//! sees the tenant registry, reads a parent's sign-in code in the SMS simulator, finds the
//! paid order in the WeChat Pay simulator and closes the escrow day (a wrong date first);
//! the audit administrator searches, exports and checks the trail; the bureau officer sees
//! the district's overview; a parent is refused the operator's pages.

use afterschool::auth::model::Role;
use afterschool::pii::Phone;

use crate::browser::Browser;
use crate::fixtures::{demo_with_families, families, published_course, Course, FIRST_PHONE};
use crate::helpers::{spawn_app, TestApp, PASSWORD};

const OPERATOR: &str = "18800000001";
const AUDITOR: &str = "18800000003";
const BUREAU: &str = "18800000004";

/// A course booked, ordered and paid at the WeChat Pay simulator's cashier by family 0, as
/// the payments tests arrange it; returns the order's `out_trade_no`.
async fn paid_order(app: &TestApp, student: i64, token: &str) -> String {
    let course = published_course(app, &Course::new(app, "fb-plat", "足球兴趣班")).await;
    let (_, order, _) = app
        .paid(token, student, course, "platform-journey-0001")
        .await;
    sqlx::query_scalar("select out_trade_no from platform.payment_orders where id = $1")
        .bind(order)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// Issue 13 item 9: at 1366 px (the window `shot` leaves) every column of `table`, the last
/// one included, is inside its card without scrolling sideways.
async fn every_column_shows_at_1366(b: &Browser, table: &str) {
    b.client.set_window_size(1366, 900).await.unwrap();
    let seen = b
        .client
        .execute(
            "const t = document.querySelector(arguments[0]);
             const w = t.closest('.table-wrap');
             const last = t.querySelector('thead th:last-child').getBoundingClientRect();
             const box = w.getBoundingClientRect();
             return { hidden: w.scrollWidth - w.clientWidth, past: last.right - box.right };",
            vec![serde_json::json!(table)],
        )
        .await
        .unwrap();
    let hidden = seen["hidden"].as_f64().unwrap();
    let past = seen["past"].as_f64().unwrap();
    assert!(
        hidden <= 1.0 && past <= 1.0,
        "{table}: {hidden}px hidden past the right edge, last column {past}px out"
    );
}

#[tokio::test]
async fn r_x02_the_operator_reads_the_simulators_and_closes_an_escrow_day() {
    // Arrange: the demo street, a family, a paid course, the operator's account.
    let app = spawn_app().await;
    let applied = app.apply_demo().await;
    let fam = families(&app, 1).await;
    let trade_no = paid_order(&app, fam[0].0, &fam[0].1).await;
    app.sign_in_as(OPERATOR, Role::OperatorSys, None).await;
    let mut b = Browser::start("platform_operator", &app.address).await;

    // A parent asks for a sign-in code on the sign-in page.
    let parent = FIRST_PHONE.to_string();
    b.goto("/login?mode=sms").await;
    b.fill("#phone", &parent).await;
    b.click("button[formaction='/login/sms']").await;
    let sent = b.find(".notice.ok").await.text().await.unwrap();
    assert!(sent.contains("验证码已发送"), "{sent}");

    // The operator signs in with the password and enrols an authenticator.
    let secret = b.sign_in_admin(&app, OPERATOR).await;
    assert_eq!(b.path().await, "/console/platform");
    let tenants = b.find("#tenants").await.text().await.unwrap();
    assert!(!applied.is_empty());
    for t in &applied {
        assert!(tenants.contains(&t.code), "{} missing: {tenants}", t.code);
    }
    let registered = app.count("select count(*) from platform.tenants").await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#tenants tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, registered);
    let sqsf = b.text("#tenants tr[data-code=sqsf]").await;
    assert!(sqsf.contains("学校") && sqsf.contains("正常"), "{sqsf}");
    b.shot("tenants").await;

    // The SMS simulator shows the code that was sent, to a masked phone.
    b.click_link("短信收件箱").await;
    let outbox = b.find("#sms-outbox").await.text().await.unwrap();
    let phone = Phone::parse(&parent).unwrap();
    let body = afterschool::auth::sms::latest_for(&app.db.admin, &app.keys.pii, &phone)
        .await
        .unwrap()
        .expect("a code was sent");
    assert!(body.contains("验证码"), "{body}");
    assert!(outbox.contains(&body), "{outbox}");
    assert!(outbox.contains(&phone.masked()), "{outbox}");
    assert!(
        !outbox.contains(&parent),
        "the phone is shown masked: {outbox}"
    );
    b.shot("sms-outbox").await;

    // The WeChat Pay simulator shows the paid order and its delivered callback.
    b.click_link("微信支付").await;
    let order = b
        .text(&format!("#wxpay-orders tr[data-trade-no='{trade_no}']"))
        .await;
    assert!(order.contains("支付成功"), "{order}");
    assert!(order.contains("¥300.00"), "{order}");
    let callbacks = b.find("#wxpay-notifications").await.text().await.unwrap();
    assert!(callbacks.contains("已送达"), "{callbacks}");
    b.shot("wxpay").await;
    every_column_shows_at_1366(&b, "#wxpay-orders").await;

    // The escrow day close refuses a day that is not over, and a date that is no date,
    // next to the field, and books nothing.
    b.click_link("监管银行").await;
    b.fill("#date", "2026-10-12").await;
    b.click("#close-submit").await;
    let err = b.find("#date-error").await.text().await.unwrap();
    assert!(err.contains("已结束"), "{err}");
    b.fill("#date", "2026-13-45").await;
    b.click("#close-submit").await;
    let err = b.find("#date-error").await.text().await.unwrap();
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    assert_eq!(
        b.find("#date")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("2026-13-45"),
        "what was typed stays in the field"
    );
    assert_eq!(
        app.count("select count(*) from platform.reconciliation_runs")
            .await,
        0
    );
    assert_eq!(
        app.count("select count(*) from platform.bank_statement_lines")
            .await,
        0
    );
    b.shot("bank-refused").await;

    // Next night: the day is over (the idle session has ended meanwhile).
    app.clock.advance(chrono::Duration::hours(16));
    b.sign_in_with_code(&app, OPERATOR, &secret).await;
    b.goto("/console/platform/sim/bank").await;
    b.fill("#date", "2026-10-12").await;
    b.click("#close-submit").await;
    let result = b.find("#close-result").await.text().await.unwrap();
    assert!(result.contains("2026-10-12 日终处理完成"), "{result}");
    assert_eq!(b.text("#settled").await, "¥300.00");
    assert_eq!(b.text("#matched").await, "1 笔");
    assert!(result.contains("对账无差异"), "{result}");
    let statement = b.find("#statement").await.text().await.unwrap();
    assert!(statement.contains("WXSETTLE20261012"), "{statement}");
    assert!(statement.contains("¥300.00"), "{statement}");
    assert!(b.text("#statement-totals").await.contains("收入 ¥300.00"));
    assert_eq!(
        app.count("select count(*) from platform.reconciliation_runs")
            .await,
        1
    );
    assert_eq!(
        app.count("select count(*) from platform.bank_statement_lines where reference = 'WXSETTLE20261012'")
        .await,
        1
    );
    b.shot("bank-closed").await;

    // The statement of any day can be looked up; a wrong date is named next to its field.
    b.goto("/console/platform/sim/bank?day=2026-10-12").await;
    assert!(b
        .find("#reconciliation-runs")
        .await
        .text()
        .await
        .unwrap()
        .contains("无差异"));
    b.goto("/console/platform/sim/bank?day=12/10/2026").await;
    assert!(b
        .find("#day-error")
        .await
        .text()
        .await
        .unwrap()
        .contains("YYYY-MM-DD"));

    // R-X01: the city supervision platform's simulator holds the course (F2), the paid
    // place (F4) and the escrow settlement (F5), personal fields masked.
    b.goto("/console/platform/sim/supervision").await;
    let f5 = b
        .reload_until("#supsim-sets tr[data-set='F5']", "财务")
        .await;
    assert!(f5.contains("财务"), "{f5}");
    b.reload_until("#supsim-sets tr[data-set='F4'] td:nth-child(3)", "1")
        .await;
    let records = b.find("#supsim-records").await.text().await.unwrap();
    assert!(records.contains("微信支付结算至存管账户"), "{records}");
    assert!(!records.contains("{"), "raw JSON shown: {records}");
    // The operator makes it refuse everything; the form says so and the queue shows it.
    b.client
        .execute("document.querySelector('#fault').value = 'refuse';", vec![])
        .await
        .unwrap();
    b.click("#supsim-fault-form button[type=submit]").await;
    assert!(b.text("#supsim-fault").await.contains("拒绝服务"));
    b.shot("supervision-sim").await;
    b.goto("/console/platform/outbox").await;
    assert!(b.exists("#outbox-pending").await);
    assert!(b.text("#outbox-dead").await.contains('0'));
    b.shot("outbox").await;

    // Issue #15: the parent's 报名成功 message went by SMS (no WeChat subscription), and
    // the log shows it with the child's name masked.
    b.goto("/console/platform/notify").await;
    let log = b.reload_until("#notify-log", "报名成功通知").await;
    assert!(log.contains("短信") && log.contains("已送达"), "{log}");
    assert!(!log.contains("{"), "raw JSON shown: {log}");
    b.shot("notify-log").await;
    b.goto("/console/platform/sim/wechat-messages").await;
    assert_eq!(b.text("#wxmsg-messages").await, "0");
    b.client
        .execute("document.querySelector('#fault').value = 'busy';", vec![])
        .await
        .unwrap();
    b.click("#wxmsg-fault-form button[type=submit]").await;
    assert!(b.text("#wxmsg-fault").await.contains("系统繁忙"));
    b.shot("wechat-messages-sim").await;
    b.close().await;
}

#[tokio::test]
async fn r_b01_the_auditor_checks_the_trail_the_bureau_sees_its_schools_and_a_parent_is_refused() {
    // Arrange
    let (app, fam) = demo_with_families(1).await;
    paid_order(&app, fam[0].0, &fam[0].1).await;
    app.sign_in_as(AUDITOR, Role::OperatorAudit, None).await;
    app.sign_in_as(BUREAU, Role::BureauOfficer, None).await;
    let mut b = Browser::start("platform_audit_bureau", &app.address).await;

    // The audit administrator lands on the audit trail, not on a refusal.
    b.sign_in_admin(&app, AUDITOR).await;
    assert_eq!(b.path().await, "/console/platform/audit");
    let all = b.find("#audit-records").await.text().await.unwrap();
    // Issue 13 item 7: actions, roles and details read in Chinese, never as codes or JSON.
    assert!(all.contains("登录") && all.contains("审计管理员"), "{all}");
    for raw in [
        "auth.login",
        "operator_audit",
        "school_admin",
        "{\"",
        "\"method\"",
    ] {
        assert!(!all.contains(raw), "{raw} shown: {all}");
    }
    b.shot("audit").await;
    every_column_shows_at_1366(&b, "#audit-records").await;

    // Filters: only successful sign-ins, chosen by their Chinese name.
    b.find("#action")
        .await
        .select_by_value("auth.login")
        .await
        .unwrap();
    b.click("#audit-search").await;
    b.find("#audit-records").await;
    let actions = b
        .client
        .find_all(fantoccini::Locator::Css("#audit-records tbody tr"))
        .await
        .unwrap();
    assert!(!actions.is_empty());
    for row in &actions {
        let a = row.attr("data-action").await.unwrap().unwrap_or_default();
        assert!(a.starts_with("auth.login"), "{a}");
    }

    // A wrong date is named next to its field and nothing is searched.
    b.fill("#from", "2026-13-01").await;
    b.click("#audit-search").await;
    let err = b.find("#from-error").await.text().await.unwrap();
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    assert!(!b.exists("#audit-records").await);
    b.shot("audit-bad-filter").await;

    // The export is a CSV download of the same selection.
    b.goto("/console/platform/audit?action=auth.login").await;
    let href = b
        .find("#audit-export")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(href, "/console/platform/audit/export?action=auth.login");
    let csv = b.fetch(&app, &href).await;
    assert_eq!(csv.status(), 200);
    assert!(csv.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"audit-"));
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM, for Excel");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("时间,"), "{text}");
    assert!(text.contains("auth.login"), "{text}");
    assert!(!text.contains("authz.denied"), "{text}");

    // The chain check: intact, then broken once a record is edited behind the app's back.
    b.click("#audit-verify").await;
    let ok = b.find("#verify-result").await;
    assert_eq!(
        ok.attr("data-intact").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(ok.text().await.unwrap().contains("审计链完整"));
    b.shot("audit-verified").await;
    let mut tx = app.db.admin.begin().await.unwrap();
    sqlx::raw_sql(
        "alter table platform.audit_log disable trigger user;
         update platform.audit_log set object = 'forged' where id = (select min(id) from platform.audit_log);
         alter table platform.audit_log enable trigger user;",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    b.click("#audit-verify").await;
    let broken = b.find("#verify-result[data-intact=false]").await;
    assert!(broken.text().await.unwrap().contains("审计链校验失败"));
    b.sign_out().await;

    // The bureau officer sees the district: every school, and the escrow figures of sqsf.
    b.sign_in_admin(&app, BUREAU).await;
    assert_eq!(b.path().await, "/console/bureau");
    let schools = app
        .count("select count(*) from platform.tenants where kind = 'school'")
        .await;
    let rows = b
        .client
        .find_all(fantoccini::Locator::Css("#bureau-schools tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len() as i64, schools);
    let sqsf = b.text("#bureau-schools tr[data-code=sqsf]").await;
    assert!(sqsf.contains("¥300.00"), "{sqsf}");
    assert_eq!(b.text("#sum-orders").await, "1 笔");
    assert_eq!(b.text("#sum-paid").await, "¥300.00");
    assert_eq!(b.text("#sum-held").await, "¥300.00");
    b.shot("bureau").await;
    // The bureau has no operator pages.
    b.goto("/console/platform/sim/sms").await;
    assert!(b.text("body").await.contains("无权访问"));
    b.goto("/console/bureau").await;
    b.sign_out().await;

    // A parent opening the operator's console is refused, and the refusal is audited.
    let denied_before = app.count("select count(*) from platform.audit_log where action = 'authz.denied' and object = 'platform_tenants'")
    .await;
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    b.goto("/console/platform").await;
    let refused = b.find(".notice.error").await.text().await.unwrap();
    assert!(b.text("h1").await.contains("无权访问"), "{refused}");
    b.shot("parent-refused").await;
    let r = b.fetch(&app, "/console/platform").await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("无权访问"));
    let denied_after = app.count("select count(*) from platform.audit_log where action = 'authz.denied' and object = 'platform_tenants'")
    .await;
    assert_eq!(denied_after, denied_before + 2);
    b.close().await;
}
