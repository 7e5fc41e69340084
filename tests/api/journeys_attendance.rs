//! Attendance journeys in a real browser (issue #17; R-T05, R-T06): a teacher on the phone
//! is refused a check-in before its window, checks in within it, calls the roll (one child
//! absent) and the admin's day in the console shows the session checked in with its
//! counts, another session nobody checked in to flagged, and the month's teacher report.

use chrono::Duration;

use crate::attendance::teacher_of;
use crate::browser::Browser;
use crate::fixtures::{published_course, school_with_families, Course};
use crate::helpers::PASSWORD;

const ADMIN_PHONE: &str = "13712340041";
const TEACHER_PHONE: &str = "13800138541";

#[tokio::test]
async fn a_teacher_checks_in_and_calls_the_roll_and_the_admin_sees_the_day() {
    // Arrange: 游泳 (Mondays 16:30) with two paid children and its teacher; 美术 later the
    // same day with a teacher who never checks in
    let (app, fam, swim) = school_with_families(2, 5).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        app.paid(token, *child, swim, &format!("journey-roll-{i:04}"))
            .await;
    }
    let mut art = Course::new(&app, "art", "美术");
    art.starts_at = "16:40";
    art.ends_at = "17:30";
    let art = published_course(&app, &art).await;
    teacher_of(&app, &[swim], "T541", 541, TEACHER_PHONE).await;
    teacher_of(&app, &[art], "T542", 542, "13800138542").await;
    let absent: String = sqlx::query_scalar("select name from school_sqsf.students where id = $1")
        .bind(fam[1].0)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    let mut b = Browser::start("attendance_checkin_roll", &app.address).await;

    // 10:00: too early; the refusal names the window.
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    b.click("#sessions-link").await;
    b.find(&format!("#session-{swim}")).await;
    b.click(&format!("#checkin-{swim}")).await;
    let err = b
        .find(&format!("#checkin-error-{swim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("16:15 至 18:00"), "{err}");
    assert_eq!(
        app.count("select count(*) from school_sqsf.teacher_checkins")
            .await,
        0
    );
    b.sign_out().await;

    // 16:20: checked in, then the roll with one child absent.
    app.clock.advance(Duration::minutes(380));
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    b.click("#sessions-link").await;
    b.click(&format!("#checkin-{swim}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("签到成功"), "{done}");
    b.shot("teacher-checked-in").await;
    b.click(&format!("#roll-link-{swim}")).await;
    b.click(&format!("#mark-{}-absent", fam[1].0)).await;
    b.click("#roll-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("点名已保存"), "{done}");
    let counts = b.text("#roll-counts").await;
    assert!(
        counts.contains("已到 1") && counts.contains("缺勤 1"),
        "{counts}"
    );
    let row = b
        .find(&format!(".roll-entry[data-student='{}']", fam[1].0))
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains(&absent) && row.contains("未请假缺勤"), "{row}");
    b.shot("teacher-roll").await;
    // The lesson's record and a comment on the child who came.
    b.fill("#record-content", "学习自由泳换气").await;
    b.click("#record-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("课堂记录已保存"), "{done}");
    b.fill(&format!("#tags-{}", fam[0].0), "专注，进步明显")
        .await;
    b.click(&format!("#comment-submit-{}", fam[0].0)).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("点评已保存"), "{done}");
    b.sign_out().await;

    // The first parent reads the record and the comment.
    b.sign_in_first_parent().await;
    b.click("#lessons-link").await;
    let lesson = b.find(".lesson").await.text().await.unwrap();
    assert!(
        lesson.contains("学习自由泳换气") && lesson.contains("进步明显") && lesson.contains("已到"),
        "{lesson}"
    );
    b.shot("parent-lessons").await;
    b.sign_out().await;
    let marks: Vec<(i64, String)> = sqlx::query_as(
        "select student_id, mark from school_sqsf.attendance_marks order by student_id",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    let mut want = vec![
        (fam[0].0, "present".to_string()),
        (fam[1].0, "absent".to_string()),
    ];
    want.sort();
    assert_eq!(marks, want);

    // 16:55: the admin's day shows swim checked in and art flagged.
    app.clock.advance(Duration::minutes(35));
    app.sign_in_as(
        ADMIN_PHONE,
        afterschool::auth::model::Role::SchoolAdmin,
        Some("sqsf"),
    )
    .await;
    let secret = b.sign_in_admin(&app, ADMIN_PHONE).await;
    b.click_link("签到与考勤").await;
    let swim_row = b
        .find(&format!("#session-{swim}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(swim_row.contains("已签到"), "{swim_row}");
    let art_row = b.find(&format!("#session-{art}")).await;
    assert_eq!(
        art_row.attr("data-missed").await.unwrap().as_deref(),
        Some("true")
    );
    assert!(art_row.text().await.unwrap().contains("未签到"));
    let missed = b.text("#missed-count").await;
    assert!(missed.contains("1 节课"), "{missed}");
    // A bad rule is refused next to its field.
    b.fill("#late_after_min", "90").await;
    b.click("#rules-submit").await;
    let err = b.find("#late_after_min-error").await.text().await.unwrap();
    assert!(err.contains("0 到 60"), "{err}");
    b.shot("console-day").await;
    // The next morning, the month's assessment lists both teachers, downloadable.
    b.sign_out().await;
    app.clock.advance(Duration::hours(12));
    b.sign_in_with_code(&app, ADMIN_PHONE, &secret).await;
    b.click_link("签到与考勤").await;
    b.click("#report-link").await;
    let report = b.find("#teacher-report").await.text().await.unwrap();
    assert!(
        report.contains("老师T541") && report.contains("老师T542"),
        "{report}"
    );
    let href = b
        .find("#report-download")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let r = b.fetch(&app, &href).await;
    assert_eq!(r.status(), 200, "{href}");
    assert_eq!(&r.bytes().await.unwrap()[..2], b"PK", "an xlsx workbook");
    b.shot("console-report").await;
    // Where the children were on Monday: the absent child's row says so.
    b.click_link("学生去向").await;
    b.goto("/t/sqsf/console/whereabouts?day=2026-10-12").await;
    let row = b
        .find(&format!("tr.child[data-student='{}']", fam[1].0))
        .await
        .text()
        .await
        .unwrap();
    assert!(row.contains("游泳") && row.contains("缺勤"), "{row}");
    b.shot("console-whereabouts").await;
    b.close().await;
}

#[tokio::test]
async fn an_inspector_records_what_was_seen_and_the_admin_reads_it() {
    // Arrange: 游泳 today; an inspector
    let (app, _fam, swim) = school_with_families(1, 5).await;
    app.sign_in_as(
        "13800138591",
        afterschool::auth::model::Role::Inspector,
        Some("sqsf"),
    )
    .await;
    let mut b = Browser::start("attendance_inspection", &app.address).await;

    // An empty record is refused next to it; then one with what was seen.
    b.sign_in("13800138591", PASSWORD).await;
    b.click("#inspections-link").await;
    b.click(&format!("#inspect-submit-{swim}")).await;
    let err = b
        .find(&format!("#notes-{swim}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("请填写巡课所见情况"), "{err}");
    b.fill(&format!("#notes-{swim}"), "到课 1 人，秩序良好")
        .await;
    b.click(&format!("#inspect-submit-{swim}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("巡课记录已保存"), "{done}");
    let card = b.text(".inspection").await;
    assert!(card.contains("游泳") && card.contains("秩序良好"), "{card}");
    b.shot("inspector").await;
    b.sign_out().await;

    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.click_link("巡课记录").await;
    let list = b.find("#inspections").await.text().await.unwrap();
    assert!(list.contains("秩序良好"), "{list}");
    b.close().await;
}
