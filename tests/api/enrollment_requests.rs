//! Withdrawal and transfer requests reviewed by the homeroom teacher (R-P05, R-P14), the
//! school's enrollment status and cancellation (R-T03), the sessions of a day (R-T04) and
//! a teacher's own timetable (R-T02).

use afterschool::auth::model::Role;
use serde_json::{json, Value};

use crate::client::spawn_demo;
use crate::fixtures::{families, homeroom, published_course, staff, Course};
use crate::helpers::TestApp;

/// (status, end_reason) of an enrollment.
async fn enrollment(app: &TestApp, id: i64) -> (String, Option<String>) {
    sqlx::query_as("select status, end_reason from school_sqsf.enrollments where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// The child's live enrollment in the course: (id, status).
async fn live_in(app: &TestApp, student: i64, course: i64) -> Option<(i64, String)> {
    sqlx::query_as(
        "select id, status from school_sqsf.enrollments
         where student_id = $1 and course_id = $2 and status in ('held', 'confirmed')",
    )
    .bind(student)
    .bind(course)
    .fetch_optional(&app.db.admin)
    .await
    .unwrap()
}

async fn request_status(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select status from school_sqsf.enrollment_requests where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// (request id, reason, status) of the enrollment's refund requests.
async fn refunds(app: &TestApp, enrollment: i64) -> Vec<(Option<i64>, String, String)> {
    sqlx::query_as(
        "select request_id, reason, status from school_sqsf.refund_requests where enrollment_id = $1",
    )
    .bind(enrollment)
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

/// Books as the parent and records the payment as the school admin.
async fn book_confirmed(
    app: &TestApp,
    admin: &str,
    parent: &str,
    student: i64,
    course: i64,
) -> i64 {
    let id = app.booked(parent, student, course).await;
    app.confirm(admin, id).await;
    id
}

async fn file(app: &TestApp, parent: &str, body: Value) -> (u16, Value) {
    app.school_post(parent, "/requests", body).await
}

async fn withdraw(app: &TestApp, parent: &str, enrollment: i64, reason: &str) -> i64 {
    let (s, b) = file(
        app,
        parent,
        json!({ "enrollment_id": enrollment, "kind": "withdraw", "reason": reason }),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "pending");
    b["id"].as_i64().unwrap()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect()
}

// ---- R-P05 withdrawal ---------------------------------------------------------------------

#[tokio::test]
async fn r_p05_an_approved_withdrawal_frees_the_seat_for_the_line_and_opens_a_refund() {
    // Arrange: a full one-seat course; child 1 (三年级2班) has it, child 3 waits in line.
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 4).await;
    let mut c = Course::new(&app, "swim", "游泳");
    c.capacity = 1;
    let course = published_course(&app, &c).await;
    let e = book_confirmed(&app, &admin, &fam[1].1, fam[1].0, course).await;
    let (s, w) = app.join_waitlist(&fam[3].1, fam[3].0, course).await;
    assert_eq!(s, 200, "{w}");
    let teacher = homeroom(&app, &admin, "三年级2班", "T100", 1, "13800138100").await;

    // Act: the parent asks, the homeroom teacher finds it among the pending and approves.
    let rid = withdraw(&app, &fam[1].1, e, "孩子要参加校外集训").await;
    let (s, list) = app.school_get(&teacher, "/requests?status=pending").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(ids(&list), vec![rid]);
    assert_eq!(list[0]["class_name"], "三年级2班");
    assert_eq!(list[0]["class_alias"], "雏鹰班");
    assert_eq!(list[0]["kind_label"], "退课");
    let (s, b) = app
        .school_post(
            &teacher,
            &format!("/requests/{rid}/approve"),
            json!({ "comment": "同意" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "approved");

    // Assert: withdrawn with the parent's reason, the seat went to the first in line, and
    // a refund request waits for the payments side.
    assert_eq!(
        enrollment(&app, e).await,
        ("withdrawn".into(), Some("孩子要参加校外集训".into()))
    );
    assert_eq!(app.taken(course).await, 1);
    let (offer, status) = live_in(&app, fam[3].0, course).await.unwrap();
    assert_eq!(status, "held");
    let (_, line) = app
        .school_get(&fam[3].1, &format!("/children/{}/waitlist", fam[3].0))
        .await;
    assert_eq!(line[0]["status"], "offered", "{line}");
    assert_eq!(line[0]["enrollment_id"], offer);
    assert_eq!(
        refunds(&app, e).await,
        vec![(Some(rid), "孩子要参加校外集训".into(), "requested".into())]
    );
    let (s, mine) = app
        .school_get(&fam[1].1, &format!("/children/{}/requests", fam[1].0))
        .await;
    assert_eq!(s, 200, "{mine}");
    assert_eq!(mine[0]["status"], "approved");
    assert_eq!(mine[0]["review_comment"], "同意");
    assert_eq!(mine[0]["refund_status"], "requested");
    assert_eq!(mine[0]["refund_status_label"], "待退费");
    // Decided once: a second decision is refused.
    let (s, e2) = app
        .school_post(&teacher, &format!("/requests/{rid}/approve"), json!({}))
        .await;
    assert_eq!(
        (s, e2["code"].as_str()),
        (409, Some("REQUEST_DECIDED")),
        "{e2}"
    );
}

#[tokio::test]
async fn r_p05_a_rejection_needs_a_comment_and_the_parent_sees_status_and_comment() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 2).await;
    let course = published_course(&app, &Course::new(&app, "art", "美术")).await;
    let e = book_confirmed(&app, &admin, &fam[1].1, fam[1].0, course).await;
    let teacher = homeroom(&app, &admin, "三年级2班", "T101", 2, "13800138101").await;
    let rid = withdraw(&app, &fam[1].1, e, "时间不合适").await;

    for body in [json!({}), json!({ "comment": "   " })] {
        let (s, b) = app
            .school_post(&teacher, &format!("/requests/{rid}/reject"), body)
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("REVIEW_COMMENT_REQUIRED")),
            "{b}"
        );
    }
    assert_eq!(request_status(&app, rid).await, "pending");
    let (s, b) = app
        .school_post(
            &teacher,
            &format!("/requests/{rid}/reject"),
            json!({ "comment": "学期过半，建议坚持到期末" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");

    let (_, mine) = app
        .school_get(&fam[1].1, &format!("/children/{}/requests", fam[1].0))
        .await;
    assert_eq!(mine[0]["status"], "rejected");
    assert_eq!(mine[0]["status_label"], "已驳回");
    assert_eq!(mine[0]["review_comment"], "学期过半，建议坚持到期末");
    assert_eq!(mine[0]["refund_status"], Value::Null);
    assert_eq!(enrollment(&app, e).await.0, "confirmed");
    assert_eq!(app.taken(course).await, 1);
    assert!(refunds(&app, e).await.is_empty());
    // Another parent does not see this child's requests.
    let (s, b) = app
        .school_get(&fam[0].1, &format!("/children/{}/requests", fam[1].0))
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("CHILD_NOT_FOUND")));
}

#[tokio::test]
async fn a_homeroom_teacher_of_another_class_neither_sees_nor_decides_the_request() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 2).await;
    let course = published_course(&app, &Course::new(&app, "art", "美术")).await;
    let e = book_confirmed(&app, &admin, &fam[1].1, fam[1].0, course).await; // 三年级2班
    let rid = withdraw(&app, &fam[1].1, e, "搬家").await;
    let other = homeroom(&app, &admin, "四年级1班", "T102", 3, "13800138102").await;

    let (s, list) = app.school_get(&other, "/requests").await;
    assert_eq!(s, 200, "{list}");
    assert!(ids(&list).is_empty(), "{list}");
    for action in ["approve", "reject"] {
        let (s, b) = app
            .school_post(
                &other,
                &format!("/requests/{rid}/{action}"),
                json!({ "comment": "同意" }),
            )
            .await;
        assert_eq!(
            (s, b["code"].as_str()),
            (404, Some("REQUEST_NOT_FOUND")),
            "{b}"
        );
    }
    // The same answer as for a request that does not exist.
    let (s, b) = app
        .school_post(&other, "/requests/999999/approve", json!({}))
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("REQUEST_NOT_FOUND")));
    let (s, b) = app
        .school_post(
            &other,
            &format!("/enrollments/{e}/cancel-by-school"),
            json!({ "reason": "试试" }),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("ENROLLMENT_NOT_FOUND")),
        "{b}"
    );
    let (_, st) = app.school_get(&other, "/enrollment-status").await;
    assert_eq!(st["courses"], json!([]), "{st}");
    assert_eq!(request_status(&app, rid).await, "pending");
    assert_eq!(enrollment(&app, e).await.0, "confirmed");
    // The school admin sees every class's requests.
    let (_, all) = app.school_get(&admin, "/requests").await;
    assert_eq!(ids(&all), vec![rid]);
}

#[tokio::test]
async fn r_p05_one_pending_request_per_enrollment_and_none_for_a_booking_still_held() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 2).await;
    let course = published_course(&app, &Course::new(&app, "art", "美术")).await;
    let (child, parent) = (fam[1].0, fam[1].1.clone());
    let e = app.booked(&parent, child, course).await;

    // A held booking is cancelled, not withdrawn from.
    let body = json!({ "enrollment_id": e, "kind": "withdraw", "reason": "不想上了" });
    let (s, b) = file(&app, &parent, body.clone()).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("REQUEST_NOT_ALLOWED")),
        "{b}"
    );
    assert!(b["message"].as_str().unwrap().contains("取消报名"), "{b}");

    let (s, _) = app
        .school_post(&admin, &format!("/enrollments/{e}/confirm"), json!({}))
        .await;
    assert_eq!(s, 200);
    // Not someone else's child, and not without a reason.
    let (s, b) = file(&app, &fam[0].1, body.clone()).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("ENROLLMENT_NOT_FOUND")),
        "{b}"
    );
    let (s, b) = file(
        &app,
        &parent,
        json!({ "enrollment_id": e, "kind": "withdraw", "reason": " " }),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (422, Some("INVALID_FIELDS")),
        "{b}"
    );
    let (s, b) = file(
        &app,
        &parent,
        json!({ "enrollment_id": e, "kind": "withdraw", "reason": "长".repeat(501) }),
    )
    .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (422, Some("INVALID_FIELDS")),
        "{b}"
    );

    let (s, first) = file(&app, &parent, body.clone()).await;
    assert_eq!(s, 200, "{first}");
    let rid = first["id"].as_i64().unwrap();
    let (s, b) = file(&app, &parent, body.clone()).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("REQUEST_PENDING")),
        "{b}"
    );

    // Only the child's own parent can take it back; then a new one may be filed.
    let (s, b) = app
        .school_delete(&fam[0].1, &format!("/requests/{rid}"))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("REQUEST_NOT_FOUND")),
        "{b}"
    );
    let (s, b) = app
        .school_delete(&parent, &format!("/requests/{rid}"))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "cancelled");
    let (s, b) = app
        .school_delete(&parent, &format!("/requests/{rid}"))
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("REQUEST_DECIDED")),
        "{b}"
    );
    let (s, b) = file(&app, &parent, body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(enrollment(&app, e).await.0, "confirmed");
}

// ---- R-P14 transfer -----------------------------------------------------------------------

#[tokio::test]
async fn r_p14_a_transfer_moves_the_child_only_when_the_target_has_room_and_no_clash() {
    // Arrange: child 1 (三年级2班, level 3) is in 足球 (Mon/Wed 16:30–18:00, one seat, child 3
    // waiting). 篮球 (Mon/Tue 16:30–18:00, one seat) is held by child 0. It overlaps 足球 on
    // Monday, which does not count: that is the booking being moved.
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 4).await;
    let (child, parent) = (fam[1].0, fam[1].1.clone());
    let mut a = Course::new(&app, "football", "足球");
    a.capacity = 1;
    let a = published_course(&app, &a).await;
    let mut b = Course::new(&app, "bball", "篮球");
    b.weekdays = &[1, 2];
    b.capacity = 1;
    let b = published_course(&app, &b).await;
    let mut senior = Course::new(&app, "senior", "高年级辩论");
    senior.levels = &[5, 6];
    senior.weekdays = &[4];
    let senior = published_course(&app, &senior).await;
    let mut d = Course::new(&app, "drums", "架子鼓");
    d.weekdays = &[2];
    d.starts_at = "17:00";
    d.ends_at = "18:30";
    let d = published_course(&app, &d).await;

    let old = book_confirmed(&app, &admin, &parent, child, a).await;
    let (s, w) = app.join_waitlist(&fam[3].1, fam[3].0, a).await;
    assert_eq!(s, 200, "{w}");
    let other_hold = app.booked(&fam[0].1, fam[0].0, b).await;
    let teacher = homeroom(&app, &admin, "三年级2班", "T103", 4, "13800138103").await;

    // Targets that cannot be asked for at all.
    for (target, why) in [
        (Some(a), "当前课程"),
        (Some(senior), "年级"),
        (Some(999999), "找不到"),
        (None, "请选择"),
    ] {
        let (s, e) = file(
            &app,
            &parent,
            json!({ "enrollment_id": old, "kind": "transfer", "target_course_id": target, "reason": "换个项目" }),
        )
        .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (422, Some("TRANSFER_TARGET_INVALID")),
            "{e}"
        );
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let (s, r) = file(
        &app,
        &parent,
        json!({ "enrollment_id": old, "kind": "transfer", "target_course_id": b, "reason": "想学篮球" }),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let rid = r["id"].as_i64().unwrap();
    assert_eq!(r["target_course_name"], "篮球");

    async fn unchanged(app: &TestApp, rid: i64, old: i64, child: i64, a: i64, b: i64) {
        assert_eq!(request_status(app, rid).await, "pending");
        assert_eq!(enrollment(app, old).await.0, "confirmed");
        assert_eq!(live_in(app, child, b).await, None);
        assert_eq!(app.taken(a).await, 1);
    }

    // Refused while the target is full ...
    let (s, e) = app
        .school_post(&teacher, &format!("/requests/{rid}/approve"), json!({}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("TRANSFER_TARGET_FULL")),
        "{e}"
    );
    unchanged(&app, rid, old, child, a, b).await;
    assert_eq!(app.taken(b).await, 1);

    // ... and while the child holds another course at the same time (Tuesday 17:00).
    let (s, _) = app
        .school_delete(&fam[0].1, &format!("/enrollments/{other_hold}"))
        .await;
    assert_eq!(s, 200);
    let drums = app.booked(&parent, child, d).await;
    let (s, e) = app
        .school_post(&teacher, &format!("/requests/{rid}/approve"), json!({}))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("ENROLL_TIME_CONFLICT")),
        "{e}"
    );
    assert!(e["message"].as_str().unwrap().contains("架子鼓"), "{e}");
    unchanged(&app, rid, old, child, a, b).await;
    assert_eq!(app.taken(b).await, 0);

    // With the clash gone, the child moves: confirmed in 篮球, out of 足球, whose seat goes
    // to the first in line.
    let (s, _) = app
        .school_delete(&parent, &format!("/enrollments/{drums}"))
        .await;
    assert_eq!(s, 200);
    let (s, r) = app
        .school_post(
            &teacher,
            &format!("/requests/{rid}/approve"),
            json!({ "comment": "已与教练确认" }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["status"], "approved");
    assert_eq!(
        enrollment(&app, old).await,
        ("withdrawn".into(), Some("调班".into()))
    );
    let (_, status) = live_in(&app, child, b).await.unwrap();
    assert_eq!(status, "confirmed");
    assert_eq!(app.taken(b).await, 1);
    assert_eq!(app.taken(a).await, 1);
    assert_eq!(
        live_in(&app, fam[3].0, a).await.map(|x| x.1),
        Some("held".into())
    );
    assert!(refunds(&app, old).await.is_empty());
    let (_, recs) = app
        .school_get(&parent, &format!("/children/{child}/enrollments"))
        .await;
    let confirmed: Vec<&str> = recs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "confirmed")
        .map(|r| r["course_name"].as_str().unwrap())
        .collect();
    assert_eq!(confirmed, vec!["篮球"]);
}

// ---- R-T03 enrollment status and cancellation by the school -------------------------------

#[tokio::test]
async fn r_t03_enrollment_status_counts_the_classes_in_scope_and_the_school_can_cancel() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 4).await;
    let course = published_course(&app, &Course::new(&app, "chess", "国际象棋")).await;
    let e0 = book_confirmed(&app, &admin, &fam[0].1, fam[0].0, course).await; // 一年级1班
    let e1 = book_confirmed(&app, &admin, &fam[1].1, fam[1].0, course).await; // 三年级2班
    let e3 = app.booked(&fam[3].1, fam[3].0, course).await; // 三年级2班, held
    let teacher = homeroom(&app, &admin, "三年级2班", "T104", 5, "13800138104").await;

    let (s, all) = app
        .school_get(&admin, &format!("/enrollment-status?course_id={course}"))
        .await;
    assert_eq!(s, 200, "{all}");
    assert_eq!(
        (all["held"].as_i64(), all["confirmed"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(all["courses"][0]["name"], "国际象棋");
    assert_eq!(all["courses"][0]["students"].as_array().unwrap().len(), 3);

    let (_, mine) = app.school_get(&teacher, "/enrollment-status").await;
    let c = &mine["courses"][0];
    assert_eq!(
        (c["held"].as_i64(), c["confirmed"].as_i64()),
        (Some(1), Some(1)),
        "{mine}"
    );
    let students = c["students"].as_array().unwrap();
    assert_eq!(students.len(), 2);
    assert!(students
        .iter()
        .all(|s| s["class_name"] == "三年级2班" && s["class_alias"] == "雏鹰班"));
    let statuses: Vec<&str> = students
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"held") && statuses.contains(&"confirmed"),
        "{statuses:?}"
    );
    let g1 = app.class_id("一年级1班").await;
    let (_, by_class) = app
        .school_get(&admin, &format!("/enrollment-status?class_id={g1}"))
        .await;
    assert_eq!(by_class["confirmed"], 1);
    assert_eq!(
        by_class["courses"][0]["students"][0]["student_id"],
        fam[0].0
    );

    // The school cancels a paid place: the seat goes back, a pending request about it
    // closes, and a refund request is opened.
    let rid = withdraw(&app, &fam[1].1, e1, "想换时间").await;
    let (s, b) = app
        .school_post(
            &teacher,
            &format!("/enrollments/{e1}/cancel-by-school"),
            json!({ "reason": "学生转学" }),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["status"], "cancelled");
    assert_eq!(
        enrollment(&app, e1).await,
        ("cancelled".into(), Some("学生转学".into()))
    );
    assert_eq!(request_status(&app, rid).await, "cancelled");
    assert_eq!(
        refunds(&app, e1).await,
        vec![(None, "学生转学".into(), "requested".into())]
    );
    // A held place is cancelled without a refund; twice is refused.
    let (s, _) = app
        .school_post(
            &teacher,
            &format!("/enrollments/{e3}/cancel-by-school"),
            json!({ "reason": "家长电话告知不参加" }),
        )
        .await;
    assert_eq!(s, 200);
    assert!(refunds(&app, e3).await.is_empty());
    let (s, b) = app
        .school_post(
            &teacher,
            &format!("/enrollments/{e3}/cancel-by-school"),
            json!({ "reason": "再次" }),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (409, Some("ENROLLMENT_NOT_LIVE")),
        "{b}"
    );
    // Outside the teacher's classes: not found.
    let (s, b) = app
        .school_post(
            &teacher,
            &format!("/enrollments/{e0}/cancel-by-school"),
            json!({ "reason": "越权" }),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (404, Some("ENROLLMENT_NOT_FOUND")),
        "{b}"
    );
    assert_eq!(app.taken(course).await, 1);
    let (_, all) = app.school_get(&admin, "/enrollment-status").await;
    assert_eq!(
        (all["held"].as_i64(), all["confirmed"].as_i64()),
        (Some(0), Some(1))
    );
}

// ---- R-T04 sessions of a day --------------------------------------------------------------

#[tokio::test]
async fn r_t04_a_teaching_day_lists_its_sessions_with_headcounts_and_a_holiday_none() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 3).await;
    let mut mon = Course::new(&app, "bball", "篮球");
    mon.venue = Some("gym");
    let mon = published_course(&app, &mon).await;
    let mut thu = Course::new(&app, "art", "美术");
    thu.weekdays = &[4];
    let thu = published_course(&app, &thu).await;
    let mut sat = Course::new(&app, "go", "围棋");
    sat.weekdays = &[6];
    sat.starts_at = "09:00";
    sat.ends_at = "11:00";
    let sat = published_course(&app, &sat).await;
    let coach = staff(&app, &admin, "T105", 6, "13800138105").await;
    app.set_teachers(&admin, mon, &[coach]).await;
    for (child, parent) in &fam[..2] {
        book_confirmed(&app, &admin, parent, *child, mon).await;
    }
    app.booked(&fam[2].1, fam[2].0, mon).await; // held: not counted
    book_confirmed(&app, &admin, &fam[0].1, fam[0].0, thu).await;

    // 2026-10-12, the test clock's Monday, a teaching day.
    for path in ["/sessions", "/sessions?date=2026-10-12"] {
        let (s, day) = app.school_get(&admin, path).await;
        assert_eq!(s, 200, "{day}");
        assert_eq!(day["date"], "2026-10-12");
        assert_eq!(day["day_kind"], "teaching");
        assert_eq!(ids_of(&day), vec![mon]);
        let it = &day["items"][0];
        assert_eq!(it["headcount"], 2);
        assert_eq!(it["venue"], "体育馆");
        assert_eq!(it["teachers"], json!(["老师T105"]));
        assert_eq!(
            (it["starts_at"].as_str(), it["ends_at"].as_str()),
            (Some("16:30"), Some("18:00"))
        );
        assert_eq!(
            (day["sessions"].as_i64(), day["children"].as_i64()),
            (Some(1), Some(2))
        );
    }
    // 2026-10-01, a Thursday in the 国庆 holiday: no weekday course runs.
    let (_, day) = app.school_get(&admin, "/sessions?date=2026-10-01").await;
    assert_eq!(day["day_kind"], "holiday", "{day}");
    assert_eq!(day["day_label"], "国庆节");
    assert_eq!(day["sessions"], 0);
    assert_eq!(day["items"], json!([]));
    // The next Thursday is a teaching day.
    let (_, day) = app.school_get(&admin, "/sessions?date=2026-10-15").await;
    assert_eq!(ids_of(&day), vec![thu]);
    // Weekend courses run on Saturdays that are not holidays (a make-up Saturday included).
    let (_, day) = app.school_get(&admin, "/sessions?date=2026-10-03").await;
    assert_eq!(ids_of(&day), Vec::<i64>::new());
    for date in ["2026-10-17", "2026-10-10"] {
        let (_, day) = app
            .school_get(&admin, &format!("/sessions?date={date}"))
            .await;
        assert_eq!(ids_of(&day), vec![sat], "{date}: {day}");
    }
    // A homeroom teacher counts only their own class (三年级2班: child 1).
    let teacher = homeroom(&app, &admin, "三年级2班", "T106", 7, "13800138106").await;
    let (_, day) = app.school_get(&teacher, "/sessions?date=2026-10-12").await;
    assert_eq!(day["items"][0]["headcount"], 1, "{day}");
    assert_eq!(day["children"], 1);
    // A parent may not look.
    let (s, _) = app.school_get(&fam[0].1, "/sessions").await;
    assert_eq!(s, 403);
}

fn ids_of(day: &Value) -> Vec<i64> {
    day["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["course_id"].as_i64().unwrap())
        .collect()
}

// ---- R-T02 a teacher's own timetable ------------------------------------------------------

#[tokio::test]
async fn r_t02_a_teacher_sees_the_courses_they_are_assigned_by_weekday() {
    let (app, admin) = spawn_demo().await;
    let fam = families(&app, 1).await;
    let mut mine = Course::new(&app, "bball", "篮球");
    mine.venue = Some("gym");
    let mine = published_course(&app, &mine).await;
    let mut not_mine = Course::new(&app, "art", "美术");
    not_mine.weekdays = &[2];
    let not_mine = published_course(&app, &not_mine).await;
    let me = staff(&app, &admin, "T107", 8, "13800138107").await;
    let someone = staff(&app, &admin, "T108", 9, "13800138108").await;
    for (course, who) in [(mine, me), (not_mine, someone)] {
        app.set_teachers(&admin, course, &[who]).await;
    }
    book_confirmed(&app, &admin, &fam[0].1, fam[0].0, mine).await;
    let (_, token) = app
        .sign_in_as("13800138107", Role::Teacher, Some("sqsf"))
        .await;

    let (s, tt) = app.school_get(&token, "/my-timetable").await;
    assert_eq!(s, 200, "{tt}");
    assert_eq!(tt["teacher_name"], "老师T107");
    let days = tt["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let courses_on = |i: usize| -> Vec<i64> {
        days[i]["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["course_id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        (courses_on(0), courses_on(1), courses_on(2)),
        (vec![mine], vec![], vec![mine])
    );
    assert_eq!(days[0]["label"], "周一");
    let slot = &days[0]["slots"][0];
    assert_eq!(slot["headcount"], 1);
    assert_eq!(slot["venue"], "体育馆");
    assert_eq!(
        (slot["starts_at"].as_str(), slot["ends_at"].as_str()),
        (Some("16:30"), Some("18:00"))
    );
    // A teacher account not registered as staff sees an empty week.
    let (_, stranger) = app
        .sign_in_as("13800138199", Role::Teacher, Some("sqsf"))
        .await;
    let (s, tt) = app.school_get(&stranger, "/my-timetable").await;
    assert_eq!(s, 200);
    assert_eq!(tt["teacher_name"], Value::Null);
    assert!(tt["days"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["slots"] == json!([])));
}
