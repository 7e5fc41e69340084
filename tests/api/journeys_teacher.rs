//! Teacher and request journeys in a real browser (issue #7 items 1–2; R-P05, R-P14, R-S08,
//! R-T02, R-T03): a parent asks to withdraw a paid course, the homeroom teacher approves it
//! on the phone, and the parent follows the refund until it arrives; a school admin rejects
//! a transfer in the console. Bad input is shown next to its field and changes nothing.

use afterschool::auth::model::Role;
use afterschool::people::sample;
use chrono::NaiveDate;
use serde_json::json;

use crate::browser::Browser;
use crate::client::spawn_demo;
use crate::fixtures::{families, published_course, Course, FIRST_PHONE};
use crate::helpers::{TestApp, PASSWORD};

const TEACHER_PHONE: &str = "13712340001";
const ADMIN_PHONE: &str = "13712340009";

// ---- arrangement through the API (as tests/api/payments.rs and enrollment_requests.rs) ----

/// A staff member (phone `phone`) made homeroom teacher of `class`; returns the staff id.
async fn homeroom(app: &TestApp, admin: &str, class: &str, phone: &str) -> i64 {
    let idn = sample::id_number("442000", NaiveDate::from_ymd_opt(1988, 3, 7).unwrap(), 7);
    let staff = app
        .create_staff(
            admin,
            json!({
                "staff_no": "T-E2E-1", "name": "李晓梅", "id_number": idn, "phone": phone,
                "qualification_no": "20104400000123", "education": "本科", "title": "一级教师",
                "employed_since": "2012", "duties": "班主任", "monthly_salary": "6800.5",
                "departments": ["一年级组"], "resume": "2012年起任教"
            }),
        )
        .await;
    app.set_homeroom(admin, class, staff).await;
    app.sign_in_as(phone, Role::HomeroomTeacher, Some("sqsf"))
        .await;
    staff
}

async fn student_name(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select name from school_sqsf.students where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// (id, kind, status, review comment) of the requests about an enrollment.
async fn requests_of(app: &TestApp, enrollment: i64) -> Vec<(i64, String, String, Option<String>)> {
    sqlx::query_as(
        "select id, kind, status, review_comment from school_sqsf.enrollment_requests
         where enrollment_id = $1 order by id",
    )
    .bind(enrollment)
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

// ---- browser steps -----------------------------------------------------------------------

#[tokio::test]
async fn a_homeroom_teacher_approves_a_withdrawal_and_the_parent_sees_the_refund_arrive() {
    // Arrange: a paid booking of a child in 一年级1班, whose homeroom teacher also teaches
    // the course.
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 1).await;
    let (child, parent) = (fam[0].0, fam[0].1.clone());
    let name = student_name(&app, child).await;
    let swim = published_course(&app, &Course::new(&app, "swim-e2e", "游泳提高班")).await;
    let (enrollment, _, line) = app.paid(&parent, child, swim, "journey-teacher-1").await;
    let teacher = homeroom(&app, &admin, "一年级1班", TEACHER_PHONE).await;
    app.set_teachers(&admin, swim, &[teacher]).await;
    let mut b = Browser::start("teacher_approves_withdrawal", &app.address).await;

    // The parent opens the records and asks to withdraw.
    b.sign_in_first_parent().await;
    b.find(".card h2").await;
    b.goto(&format!("/t/sqsf/m/records?child={child}")).await;
    b.click("#enrollments a.request").await;
    let form = b.find("#request-form").await.text().await.unwrap();
    assert!(b.text("main").await.contains("游泳提高班"), "{form}");
    b.shot("request-form").await;

    // No reason: refused next to the reason field, nothing filed.
    b.fill("#reason", "").await;
    b.click("#request-submit").await;
    let err = b.find("#reason-error").await.text().await.unwrap();
    assert!(err.contains("请填写原因"), "{err}");
    assert!(requests_of(&app, enrollment).await.is_empty());
    b.shot("request-no-reason").await;

    // A transfer without a target course: refused next to the course list, the typed
    // reason and the chosen kind kept.
    b.click("#kind-transfer").await;
    b.fill("#reason", "想换到别的班").await;
    b.click("#request-submit").await;
    let err = b.find("#target-error").await.text().await.unwrap();
    assert!(err.contains("请选择要调入的课程"), "{err}");
    let kept = b.find("#reason").await.prop("value").await.unwrap();
    assert_eq!(kept.as_deref(), Some("想换到别的班"));
    let transfer = b
        .find("#kind-transfer")
        .await
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(transfer.as_deref(), Some("true"));
    assert!(requests_of(&app, enrollment).await.is_empty());

    // With a reason the withdrawal is filed and shown as waiting.
    b.click("#kind").await;
    b.fill("#reason", "孩子周三下午要去医院复诊").await;
    b.click("#request-submit").await;
    let card = b.find(".request").await.text().await.unwrap();
    assert!(card.contains("退课") && card.contains("待审核"), "{card}");
    assert!(b.path().await.contains("/t/sqsf/m/requests?child="));
    let filed = requests_of(&app, enrollment).await;
    assert_eq!(filed.len(), 1);
    let (request, ref kind, ref status, _) = filed[0];
    assert_eq!((kind.as_str(), status.as_str()), ("withdraw", "pending"));
    b.shot("request-filed").await;
    b.sign_out().await;

    // The homeroom teacher: the week's courses, the class's bookings, the request.
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    let week = b.find("#teacher-timetable").await.text().await.unwrap();
    assert!(
        b.path().await.ends_with("/t/sqsf/m/teacher"),
        "{}",
        b.path().await
    );
    assert!(
        week.contains("游泳提高班") && week.contains("16:30"),
        "{week}"
    );
    assert!(week.contains("1 人"), "{week}");
    let links = b.text("#pending-requests").await;
    assert!(links.contains('1'), "{links}");
    b.shot("teacher-home").await;

    b.click_link("本班学生报名情况 ›").await;
    let course = b.find(".course").await.text().await.unwrap();
    assert!(
        course.contains("游泳提高班") && course.contains(&name),
        "{course}"
    );
    assert!(course.contains("已报名"), "{course}");
    b.shot("teacher-classes").await;

    b.goto("/t/sqsf/m/teacher/requests").await;
    let card = b
        .find(&format!(".request[data-id='{request}']"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card.contains(&name) && card.contains("孩子周三下午要去医院复诊"),
        "{card}"
    );
    b.shot("teacher-requests").await;

    // Rejecting needs a comment: refused in place, the request still waits.
    b.click(&format!("#reject-{request}")).await;
    let err = b
        .find(&format!("#comment-{request}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("审核意见"), "{err}");
    assert_eq!(requests_of(&app, enrollment).await[0].2, "pending");
    assert_eq!(app.enrollment_status(enrollment).await, "confirmed");
    b.shot("teacher-reject-needs-comment").await;

    // Approved: the booking ends and the refund goes to WeChat Pay.
    b.fill(&format!("#comment-{request}"), "同意，祝早日康复")
        .await;
    b.click(&format!("#approve-{request}")).await;
    let done = b.find(".notice.ok").await.text().await.unwrap();
    assert!(done.contains("已同意"), "{done}");
    assert!(b.exists("#no-requests").await);
    let decided = requests_of(&app, enrollment).await;
    assert_eq!(decided[0].2, "approved");
    assert_eq!(decided[0].3.as_deref(), Some("同意，祝早日康复"));
    assert_eq!(app.enrollment_status(enrollment).await, "withdrawn");
    b.shot("teacher-approved").await;
    b.sign_out().await;

    // The parent sees the approval and the refund on its way…
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    // Landed on the parent's pages (the sign-in's redirects are done) before moving on.
    b.find("nav.tabbar").await;
    b.goto(&format!("/t/sqsf/m/requests?child={child}")).await;
    let card = b.find(".request").await.text().await.unwrap();
    assert!(
        card.contains("已同意") && card.contains("同意，祝早日康复"),
        "{card}"
    );
    let refund = b.find(".request .refund").await.text().await.unwrap();
    assert!(refund.contains("¥300.00"), "{refund}");
    let shown = b.text(".request .refund .tag").await;
    let expected = match app.refund_status(line).await.as_str() {
        "requested" => "申请中",
        "processing" => "退款中",
        other => panic!("refund already {other} before the simulator finished it"),
    };
    assert_eq!(shown, expected);
    b.shot("parent-refund-on-its-way").await;

    // …and arrive once WeChat Pay completes it.
    assert_eq!(app.until_refund(line, "succeeded").await, "succeeded");
    let refund = b.reload_until(".request .refund .tag", "已到账").await;
    assert_eq!(refund, "已到账");
    b.shot("parent-refund-arrived").await;
    b.close().await;
}

#[tokio::test]
async fn a_school_admin_rejects_a_transfer_in_the_console_with_a_comment() {
    // Arrange: a confirmed booking (paid at the school) and a transfer request to another
    // course.
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 1).await;
    let (child, parent) = (fam[0].0, fam[0].1.clone());
    let name = student_name(&app, child).await;
    let swim = published_course(&app, &Course::new(&app, "swim-e2e", "游泳提高班")).await;
    let chess = published_course(
        &app,
        &Course {
            weekdays: &[2, 4],
            ..Course::new(&app, "chess-e2e", "国际象棋")
        },
    )
    .await;
    let enrollment = app.booked(&parent, child, swim).await;
    app.confirm(&admin, enrollment).await;
    let (s, filed) = app
        .school_post(
            &parent,
            "/requests",
            json!({ "enrollment_id": enrollment, "kind": "transfer",
                         "target_course_id": chess, "reason": "周一周三要上钢琴课" }),
        )
        .await;
    assert_eq!(s, 200, "{filed}");
    let request = filed["id"].as_i64().unwrap();
    app.sign_in_as(ADMIN_PHONE, Role::SchoolAdmin, Some("sqsf"))
        .await;
    let mut b = Browser::start("admin_rejects_transfer", &app.address).await;

    b.sign_in_admin(&app, ADMIN_PHONE).await;
    b.goto("/t/sqsf/console/requests").await;
    let row = b
        .find(&format!("tr.request[data-id='{request}']"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.contains(&name) && row.contains("调班") && row.contains("国际象棋"),
        "{row}"
    );
    assert!(row.contains("待审核"), "{row}");
    b.shot("console-requests").await;

    // Reject without a comment: refused next to the comment box, nothing changes.
    b.click(&format!("#reject-{request}")).await;
    let err = b
        .find(&format!("#comment-{request}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("驳回申请时请填写审核意见"), "{err}");
    assert_eq!(requests_of(&app, enrollment).await[0].2, "pending");
    b.shot("console-reject-needs-comment").await;

    b.fill(
        &format!("#comment-{request}"),
        "国际象棋班本学期已满，请下学期再申请",
    )
    .await;
    b.click(&format!("#reject-{request}")).await;
    let done = b.find(".notice.ok").await.text().await.unwrap();
    assert!(done.contains("已驳回"), "{done}");
    let decided = requests_of(&app, enrollment).await;
    assert_eq!(decided[0].2, "rejected");
    assert_eq!(app.enrollment_status(enrollment).await, "confirmed");
    assert!(
        b.exists("#no-requests").await,
        "the pending list is empty now"
    );

    // The status filter finds it among the rejected ones, with the comment.
    b.find("#status")
        .await
        .select_by_value("rejected")
        .await
        .unwrap();
    b.click("#request-filter button").await;
    let row = b
        .find(&format!("tr.request[data-id='{request}']"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("已驳回") && row.contains("下学期再申请"),
        "{row}"
    );
    assert!(
        b.path().await.contains("status=rejected"),
        "{}",
        b.path().await
    );
    b.shot("console-rejected").await;
    b.close().await;
}
