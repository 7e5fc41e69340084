//! School console journeys in a real browser (issue #7 item 2; R-S06, R-S08, R-S10, R-T03):
//! a school admin signs in with the second factor, creates a course (a bad field first),
//! adds a picture and publishes it, and a parent then finds it; after a paid booking the
//! admin confirms an offline payment, cancels a place, refunds part of a line (too much
//! first), follows the refund to its arrival and downloads the settlement statement.

use std::time::Duration;

use base64::Engine;

use crate::browser::Browser;
use crate::fixtures::{demo_with_families, families, published_course, Course};
use crate::helpers::{spawn_app, TestApp};

/// The school admin who uses the console in these journeys.
const ADMIN_PHONE: &str = "13800138000";

async fn value(b: &Browser, css: &str) -> String {
    b.find(css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn course_status(app: &TestApp, code: &str) -> String {
    sqlx::query_scalar("select status from school_sqsf.courses where code = $1")
        .bind(code)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// A 1×1 PNG, written to a file the browser can pick.
fn png_file(dir: &std::path::Path) -> std::path::PathBuf {
    let png = base64::engine::general_purpose::STANDARD
        .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
        .unwrap();
    let path = dir.join("art.png");
    std::fs::write(&path, png).unwrap();
    path
}

#[tokio::test]
async fn r_s06_a_school_admin_creates_and_publishes_a_course_that_a_parent_then_sees() {
    // Arrange: the demo school and a family whose child is in grade 1.
    let app = spawn_app().await;
    app.apply_demo().await;
    families(&app, 1).await;
    let mut b = Browser::start("admin_publishes_course", &app.address).await;
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;

    // The course list, then 新建课程.
    b.goto("/t/sqsf/console/courses").await;
    b.shot("courses-list-empty").await;
    b.click("#new-course").await;
    b.find("#course-form").await;
    b.fill("#code", "art-e2e").await;
    b.fill("#name", "少儿美术").await;
    b.fill("#category", "美术").await;
    b.click("#weekdays-2").await;
    b.click("#weekdays-4").await;
    b.fill("#starts_at", "16:30").await;
    b.fill("#ends_at", "16:00").await;
    b.fill("#capacity", "25").await;
    b.fill("#price", "450").await;
    b.click("#eligible_levels-1").await;
    b.click("#eligible_levels-2").await;
    b.shot("course-form").await;

    // Act 1: the class ends before it starts.
    b.click("#course-submit").await;

    // Assert 1: the error is under 下课时间, the form keeps what was typed, nothing stored.
    let err = b.find("#ends_at-error").await.text().await.unwrap();
    assert!(err.contains("下课时间必须晚于上课时间"), "{err}");
    assert_eq!(
        app.count_with(
            "select count(*) from school_sqsf.courses where code = $1",
            "art-e2e"
        )
        .await,
        0
    );
    assert_eq!(value(&b, "#name").await, "少儿美术");
    assert_eq!(value(&b, "#ends_at").await, "16:00");
    assert_eq!(value(&b, "#price").await, "450");
    assert!(b.find("#weekdays-4").await.is_selected().await.unwrap());
    assert!(!b.find("#weekdays-1").await.is_selected().await.unwrap());
    assert!(b
        .find("#eligible_levels-2")
        .await
        .is_selected()
        .await
        .unwrap());
    b.shot("course-form-error").await;

    // Act 2: fixed, saved as a draft.
    b.fill("#ends_at", "18:00").await;
    b.click("#course-submit").await;
    b.find("#course-summary").await;
    assert!(b.text("main").await.contains("课程已保存为草稿"));
    assert_eq!(course_status(&app, "art-e2e").await, "draft");
    let (days, price): (Vec<i16>, rust_decimal::Decimal) =
        sqlx::query_as("select weekdays, price from school_sqsf.courses where code = 'art-e2e'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(
        (days, price.to_string()),
        (vec![2, 4], "450.00".to_string())
    );

    // Act 3: a picture.
    let dir = tempfile::tempdir().unwrap();
    let png = png_file(dir.path());
    b.find("input[type=file]")
        .await
        .send_keys(png.to_str().unwrap())
        .await
        .unwrap();
    b.click("#picture-submit").await;
    b.find(".pictures img").await;
    let mut width = -1;
    let until = tokio::time::Instant::now() + crate::browser::PATIENCE;
    while tokio::time::Instant::now() < until {
        width = b
            .client
            .execute(
                "const i = document.querySelector('.pictures img'); return i && i.complete ? i.naturalWidth : -1",
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap_or(-1);
        if width >= 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(width, 1, "the picture is served back to the page");
    assert_eq!(
        app.count_with("select coalesce(cardinality(pictures), 0)::int8 from school_sqsf.courses where code = $1", "art-e2e")
        .await,
        1
    );
    b.client
        .execute("window.scrollTo(0, 0)", vec![])
        .await
        .unwrap();
    b.shot("course-with-picture").await;

    // Act 4: an edit with no places refused at 开班规模, then a real one saved.
    b.fill("#capacity", "0").await;
    b.click("#course-submit").await;
    let err = b.find("#capacity-error").await.text().await.unwrap();
    assert!(err.contains("开班规模应在 1 到 2000 人之间"), "{err}");
    assert_eq!(value(&b, "#capacity").await, "0");
    b.fill("#capacity", "30").await;
    b.click("#course-submit").await;
    b.find(".notice.ok").await;
    assert!(b.text("main").await.contains("修改已保存"));
    let capacity: i32 =
        sqlx::query_scalar("select capacity from school_sqsf.courses where code = 'art-e2e'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(capacity, 30);

    // Act 5: publish.
    b.click("#publish-submit").await;
    b.find(".notice.ok").await;
    assert!(b.text("main").await.contains("课程已发布"));
    assert_eq!(course_status(&app, "art-e2e").await, "published");
    b.goto("/t/sqsf/console/courses?status=published").await;
    let list = b.text("#courses").await;
    assert!(
        list.contains("少儿美术") && list.contains("已发布"),
        "{list}"
    );
    b.shot("courses-list-published").await;

    // Assert: a parent of a grade-1 child finds it among the courses to book.
    b.sign_in_first_parent().await;
    b.goto("/t/sqsf/m/courses").await;
    let offers = b.text("main").await;
    assert!(
        offers.contains("少儿美术") && offers.contains("¥450.00"),
        "{offers}"
    );
    b.shot("parent-sees-course").await;
    b.close().await;
}

async fn refunds_of(app: &TestApp, line: i64) -> Vec<(String, String)> {
    sqlx::query_as::<_, (rust_decimal::Decimal, String)>(
        "select amount, status from platform.refunds where line_id = $1 order by id",
    )
    .bind(line)
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
    .into_iter()
    .map(|(a, s)| (a.to_string(), s))
    .collect()
}

#[tokio::test]
async fn r_s08_r_s10_the_admin_settles_enrollments_refunds_part_of_a_line_and_downloads_the_statement(
) {
    // Arrange: one paid booking (300.00) and one place still held for payment.
    let (app, fam) = demo_with_families(2).await;
    let course = published_course(&app, &Course::new(&app, "swim", "游泳")).await;
    let (_, order, line) = app
        .paid(&fam[0].1, fam[0].0, course, "journey-paid-0001")
        .await;
    let held = app.booked(&fam[1].1, fam[1].0, course).await;
    let mut b = Browser::start("admin_orders_refunds_settlement", &app.address).await;
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;

    // The enrollment status of the course: one held, one confirmed.
    b.goto(&format!("/t/sqsf/console/enrollments?course={course}"))
        .await;
    let totals = b.text("#enrollment-totals").await;
    assert!(
        totals.contains("待支付 1 人") && totals.contains("已报名 1 人"),
        "{totals}"
    );
    b.shot("enrollments").await;

    // The held place paid at the school's office: confirmed.
    b.click(&format!("#confirm-{held}")).await;
    b.find(".notice.ok").await;
    assert_eq!(app.enrollment_status(held).await, "confirmed");

    // Cancelled by the school without a reason: refused next to the reason, nothing changed.
    b.click(&format!("#cancel-{held}")).await;
    let err = b
        .find(&format!("#reason-{held}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("请填写取消原因"), "{err}");
    assert_eq!(app.enrollment_status(held).await, "confirmed");
    b.shot("cancel-needs-reason").await;
    b.fill(&format!("#reason-{held}"), "家长线下申请退出").await;
    b.click(&format!("#cancel-{held}")).await;
    b.find(".notice.ok").await;
    assert_eq!(app.enrollment_status(held).await, "cancelled");

    // The paid order.
    b.goto("/t/sqsf/console/orders?status=paid").await;
    let card = b.text(&format!("#order-{order}")).await;
    assert!(
        card.contains("已支付") && card.contains("¥300.00"),
        "{card}"
    );
    b.shot("orders").await;

    // A refund of more than was paid: refused next to the amount, nothing refunded.
    b.fill(&format!("#amount-{line}"), "500").await;
    b.fill(&format!("#reason-{line}"), "部分退费").await;
    b.click(&format!("#refund-submit-{line}")).await;
    let err = b
        .find(&format!("#amount-{line}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("超出"), "{err}");
    assert!(refunds_of(&app, line).await.is_empty());
    assert_eq!(value(&b, &format!("#amount-{line}")).await, "500");
    b.shot("refund-too-much").await;

    // 100.00 back: requested, then followed to its arrival.
    b.fill(&format!("#amount-{line}"), "100").await;
    b.click(&format!("#refund-submit-{line}")).await;
    b.find(".notice.ok").await;
    let refunds = refunds_of(&app, line).await;
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(refunds[0].0, "100.00");
    let progress = b.text(&format!("#order-{order} .refund")).await;
    assert!(
        progress.contains("¥100.00") && progress.contains("部分退费"),
        "{progress}"
    );
    assert_eq!(app.until_refund(line, "succeeded").await, "succeeded");
    b.reload_until(&format!("#order-{order} .refund"), "已到账")
        .await;
    b.shot("refund-arrived").await;

    // The settlement statement: a period that ends before it starts is refused at 结束日期.
    b.goto("/t/sqsf/console/settlement?from=2026-10-31&to=2026-10-01")
        .await;
    let err = b.find("#to-error").await.text().await.unwrap();
    assert!(err.contains("统计期间"), "{err}");
    b.goto("/t/sqsf/console/settlement?from=2026-10-01&to=2026-10-31&group=course")
        .await;
    let total = b.text("#settlement-total").await;
    assert!(
        total.contains("300.00") && total.contains("100.00") && total.contains("200.00"),
        "paid, refunded, held: {total}"
    );
    assert!(b.text("#settlement").await.contains("游泳"));
    b.shot("settlement").await;

    // The downloads, with the browser's own session cookie.
    for (link, magic) in [("#download-xlsx", "PK"), ("#download-csv", "\u{feff}")] {
        let href = b.find(link).await.attr("href").await.unwrap().unwrap();
        let r = b.fetch(&app, &href).await;
        assert_eq!(r.status(), 200, "{href}");
        let disposition = r
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        let body = r.bytes().await.unwrap();
        assert!(body.starts_with(magic.as_bytes()), "{href}");
        if link == "#download-csv" {
            let text = String::from_utf8(body.to_vec()).unwrap();
            assert!(
                text.contains("游泳") && text.contains("合计") && text.contains("300.00"),
                "{text}"
            );
        }
    }
    b.close().await;
}
