//! Teacher check-in and student attendance end to end (issue #17; R-T05, R-T06, R-P09): a
//! teacher checks in once within the window around the session's start (late after its
//! grace, refused outside it, for another's session, twice, too far from school or on a
//! cancelled day); the roll marks each child of the session, messages the parents once per
//! mark and tells the homeroom teacher of an absence; the admin's day flags a session
//! nobody checked in to; and the day close releases a lesson's money only when its teacher
//! checked in (一课一消).

use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::{published_course, school_with_families, staff, Course};
use crate::helpers::TestApp;
use afterschool::auth::model::Role;

/// Staff member `no` made a teacher of `course`, signed in as a teacher: the token.
pub(crate) async fn teacher_of(
    app: &TestApp,
    courses: &[i64],
    no: &str,
    seq: u32,
    phone: &str,
) -> String {
    let admin = app.admin_token("sqsf").await;
    let id = staff(app, &admin, no, seq, phone).await;
    for c in courses {
        let cur = app.school_ok(&admin, &format!("/courses/{c}")).await;
        let mut ids: Vec<i64> = cur["teachers"]
            .as_array()
            .map(|a| a.iter().filter_map(|t| t["id"].as_i64()).collect())
            .unwrap_or_default();
        ids.push(id);
        app.set_teachers(&admin, *c, &ids).await;
    }
    app.sign_in_as(phone, Role::Teacher, Some("sqsf")).await.1
}

/// A fresh session of a teacher (sessions end after 30 idle minutes of the test clock).
async fn teacher(app: &TestApp, phone: &str) -> String {
    app.sign_in_as(phone, Role::Teacher, Some("sqsf")).await.1
}

/// A second course on the same days, after the first one (no clash for a child in both).
async fn later_course(app: &TestApp, code: &'static str, name: &'static str) -> i64 {
    let mut c = Course::new(app, code, name);
    c.starts_at = "18:10";
    c.ends_at = "19:00";
    published_course(app, &c).await
}

pub(crate) async fn check_in(
    app: &TestApp,
    token: &str,
    course: i64,
    day: &str,
    body: Value,
) -> (u16, Value) {
    app.school(
        Method::POST,
        token,
        &format!("/attendance/sessions/{course}/{day}/checkin"),
        Some(body),
    )
    .await
}

async fn outbox(app: &TestApp, kind: &str) -> i64 {
    app.count(&format!(
        "select count(*) from platform.outbox where kind = 'notify.message'
         and idem_key like 'notify:{kind}:%'"
    ))
    .await
}

#[tokio::test]
async fn r_t05_a_teacher_checks_in_once_in_the_window_and_bad_check_ins_change_nothing() {
    // Arrange: 游泳 on Mondays and Wednesdays 16:30–18:00; two of its teachers and one who
    // teaches something else; Wednesday 10-14 becomes a typhoon closure
    let (app, _fam, course) = school_with_families(1, 5).await;
    let admin = app.admin_token("sqsf").await;
    let other_course = later_course(&app, "art", "美术").await;
    let t1 = teacher_of(&app, &[course], "T501", 501, "13800138501").await;
    teacher_of(&app, &[course], "T502", 502, "13800138502").await;
    teacher_of(&app, &[other_course], "T503", 503, "13800138503").await;
    let (s, _) = app
        .school_put(
            &admin,
            "/terms/2026-autumn/days/2026-10-14",
            json!({ "kind": "closure", "name": "台风停课" }),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .school(
            Method::PUT,
            &admin,
            "/attendance/rules",
            Some(json!({ "opens_before_min": 15, "late_after_min": 10,
                             "latitude": 22.5176, "longitude": 113.3845, "radius_m": 500 })),
        )
        .await;
    assert_eq!(s, 200);
    let near = json!({ "latitude": 22.5180, "longitude": 113.3850 });
    let far = json!({ "latitude": 22.5300, "longitude": 113.3845 });

    // Act
    let morning = check_in(&app, &t1, course, "2026-10-12", json!({})).await; // 10:00
    app.clock.advance(Duration::minutes(380)); // 16:20
    let (t1, t2) = (
        teacher(&app, "13800138501").await,
        teacher(&app, "13800138502").await,
    );
    let stranger = teacher(&app, "13800138503").await;
    let theirs = check_in(&app, &stranger, course, "2026-10-12", json!({})).await;
    let too_far = check_in(&app, &t1, course, "2026-10-12", far).await;
    let half = check_in(&app, &t1, course, "2026-10-12", json!({ "latitude": 22.5 })).await;
    let tuesday = check_in(&app, &t1, course, "2026-10-13", json!({})).await;
    let ok = check_in(&app, &t1, course, "2026-10-12", near.clone()).await;
    let twice = check_in(&app, &t1, course, "2026-10-12", near).await;
    app.clock.advance(Duration::minutes(25)); // 16:45, after the 10-minute grace
    let late = check_in(&app, &t2, course, "2026-10-12", json!({})).await;
    app.clock.advance(Duration::minutes(100)); // 18:25, the art lesson's grace is over
    let admin = app.admin_token("sqsf").await;
    let day = app
        .school_ok(&admin, "/attendance/day?day=2026-10-12")
        .await;
    app.clock
        .advance(Duration::days(2) - Duration::minutes(100)); // Wednesday 16:45
    let t1 = teacher(&app, "13800138501").await;
    let admin = app.admin_token("sqsf").await;
    let closed = check_in(&app, &t1, course, "2026-10-14", json!({})).await;
    let (s_bad_rules, bad_rules) = app
        .school(
            Method::PUT,
            &admin,
            "/attendance/rules",
            Some(json!({ "opens_before_min": 15, "late_after_min": 10, "latitude": 22.5 })),
        )
        .await;

    // Assert
    let code = |r: &(u16, Value)| (r.0, r.1["code"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        code(&morning),
        (409, "CHECKIN_OUTSIDE_WINDOW".into()),
        "{}",
        morning.1
    );
    assert!(
        morning.1["message"]
            .as_str()
            .unwrap()
            .contains("16:15 至 18:00"),
        "{}",
        morning.1
    );
    assert_eq!(code(&theirs), (403, "SESSION_NOT_YOURS".into()));
    assert_eq!(code(&too_far), (422, "CHECKIN_TOO_FAR".into()));
    assert!(
        too_far.1["message"].as_str().unwrap().contains("500 米"),
        "{}",
        too_far.1
    );
    assert_eq!(code(&half), (422, "CHECKIN_LOCATION_INVALID".into()));
    assert_eq!(code(&tuesday), (404, "SESSION_NOT_FOUND".into()));
    assert_eq!(ok.0, 200, "{}", ok.1);
    assert_eq!(ok.1["late"], false);
    assert!(ok.1["distance_m"].as_i64().unwrap() < 100, "{}", ok.1);
    assert_eq!(code(&twice), (409, "CHECKIN_TWICE".into()));
    assert!(
        twice.1["message"].as_str().unwrap().contains("16:20"),
        "{}",
        twice.1
    );
    assert_eq!(
        (late.0, late.1["late"].as_bool()),
        (200, Some(true)),
        "{}",
        late.1
    );
    assert_eq!(code(&closed), (409, "SESSION_CANCELLED".into()));
    assert!(
        closed.1["message"].as_str().unwrap().contains("台风停课"),
        "{}",
        closed.1
    );
    assert_eq!(
        code(&(s_bad_rules, bad_rules)),
        (422, "ATTENDANCE_RULES_INVALID".into())
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.teacher_checkins")
            .await,
        2
    );
    let sessions = day["sessions"].as_array().unwrap();
    let swim = sessions.iter().find(|s| s["course_id"] == course).unwrap();
    let art = sessions
        .iter()
        .find(|s| s["course_id"] == other_course)
        .unwrap();
    assert_eq!(swim["checkins"].as_array().map(Vec::len), Some(2), "{swim}");
    assert_eq!(
        (swim["missed"].as_bool(), art["missed"].as_bool()),
        (Some(false), Some(true))
    );
    assert_eq!(day["missed"], 1, "{day}");
}

#[tokio::test]
async fn r_t06_r_p09_the_roll_messages_each_parent_once_per_mark_and_alerts_the_homeroom_teacher() {
    // Arrange: two children booked and paid (child 0 in 一年级1班, whose homeroom teacher has
    // an account), the course's teacher, and another teacher
    let (app, fam, course) = school_with_families(2, 5).await;
    let admin = app.admin_token("sqsf").await;
    for (i, (child, token)) in fam.iter().enumerate() {
        app.paid(token, *child, course, &format!("roll-pay-000{i}"))
            .await;
    }
    crate::fixtures::homeroom(&app, &admin, "一年级1班", "T511", 511, "13800138511").await;
    teacher_of(&app, &[course], "T512", 512, "13800138512").await;
    let other = later_course(&app, "chess", "围棋").await;
    teacher_of(&app, &[other], "T513", 513, "13800138513").await;
    let roll = |marks: Vec<(i64, &str)>| json!({ "marks": marks.iter().map(|(s, m)| json!({ "student_id": s, "mark": m })).collect::<Vec<_>>() });
    let path = format!("/attendance/sessions/{course}/2026-10-12/roll");
    app.clock.advance(Duration::minutes(380)); // Monday 16:20
    let teacher = crate::attendance::teacher(&app, "13800138512").await;
    let stranger = crate::attendance::teacher(&app, "13800138513").await;
    let admin = app.admin_token("sqsf").await;

    // Act
    let (s_first, first) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[0].0, "present")])),
        )
        .await;
    let (s_in, _) = check_in(&app, &teacher, course, "2026-10-12", json!({})).await;
    let empty = app.school_ok(&teacher, &path).await;
    let (s_mark, marked) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[0].0, "absent"), (fam[1].0, "present")])),
        )
        .await;
    let after_first = (
        outbox(&app, "attendance_marked").await,
        outbox(&app, "absence_alert").await,
    );
    let (s_same, _) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[0].0, "absent"), (fam[1].0, "present")])),
        )
        .await;
    let after_same = (
        outbox(&app, "attendance_marked").await,
        outbox(&app, "absence_alert").await,
    );
    let (s_late, _) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[1].0, "late")])),
        )
        .await;
    let after_late = outbox(&app, "attendance_marked").await;
    let before_bad = app
        .count("select count(*) from school_sqsf.attendance_marks where mark = 'late'")
        .await;
    let (s_stranger_child, stranger_child) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[0].0, "present"), (999_999, "present")])),
        )
        .await;
    let (s_bad_mark, bad_mark) = app
        .school(
            Method::PUT,
            &teacher,
            &path,
            Some(roll(vec![(fam[0].0, "sick")])),
        )
        .await;
    let (s_foreign, foreign) = app.school(Method::GET, &stranger, &path, None).await;
    let by_admin = app.school_ok(&admin, &path).await;
    let mine = app.school_ok(&teacher, "/attendance/my-sessions").await;

    // Assert
    assert_eq!(
        (s_first, first["code"].as_str()),
        (409, Some("ROLL_BEFORE_CHECKIN"))
    );
    assert_eq!(s_in, 200);
    assert_eq!(
        empty["students"].as_array().map(Vec::len),
        Some(2),
        "{empty}"
    );
    assert!(empty["students"][0]["mark"].is_null());
    assert_eq!(s_mark, 200, "{marked}");
    let entry = |v: &Value, id: i64| {
        v["students"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["student_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(entry(&marked, fam[0].0)["mark"], "absent");
    assert_eq!(entry(&marked, fam[0].0)["abnormal"], true);
    assert_eq!(entry(&marked, fam[1].0)["mark_label"], "已到");
    assert_eq!(
        after_first,
        (2, 1),
        "a message per parent, an alert for the absence"
    );
    assert_eq!(s_same, 200);
    assert_eq!(
        after_same, after_first,
        "the same marks again message nobody"
    );
    assert_eq!(
        (s_late, after_late),
        (200, 3),
        "a changed mark messages once more"
    );
    assert_eq!(
        (s_stranger_child, stranger_child["code"].as_str()),
        (422, Some("STUDENT_NOT_IN_SESSION"))
    );
    assert_eq!(
        (s_bad_mark, bad_mark["code"].as_str()),
        (422, Some("MARK_INVALID"))
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.attendance_marks where mark = 'late'")
            .await,
        before_bad,
        "a refused roll changes nothing"
    );
    assert_eq!(
        entry(&by_admin, fam[0].0)["mark"],
        "absent",
        "the refused roll left it"
    );
    assert_eq!(
        (s_foreign, foreign["code"].as_str()),
        (403, Some("SESSION_NOT_YOURS"))
    );
    let s = &mine[0];
    assert_eq!(
        (
            s["expected"].as_i64(),
            s["present"].as_i64(),
            s["absent"].as_i64()
        ),
        (Some(2), Some(1), Some(1)),
        "{mine}"
    );
}

#[tokio::test]
async fn r_t05_the_day_close_releases_a_lesson_only_after_its_teacher_checked_in() {
    // Arrange: two paid courses on Mondays; the swim teacher checks in, the art teacher not
    let (app, fam, swim) = school_with_families(1, 5).await;
    let art = later_course(&app, "art", "美术").await;
    app.paid(&fam[0].1, fam[0].0, swim, "release-0001").await;
    app.paid(&fam[0].1, fam[0].0, art, "release-0002").await;
    teacher_of(&app, &[swim], "T521", 521, "13800138521").await;
    teacher_of(&app, &[art], "T522", 522, "13800138522").await;
    app.clock.advance(Duration::minutes(380)); // Monday 16:20
    let swimmer = teacher(&app, "13800138521").await;
    let (s, _) = check_in(&app, &swimmer, swim, "2026-10-12", json!({})).await;
    assert_eq!(s, 200);
    app.clock.advance(Duration::hours(10)); // Tuesday 02:20
    let monday = chrono::NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();

    // Act
    let closed = afterschool::payments::daily::close_day(&app.state, monday)
        .await
        .unwrap();

    // Assert
    assert_eq!(
        closed.released_lines, 1,
        "only the lesson that was taught: {closed:?}"
    );
    let released: Vec<i64> = sqlx::query_scalar(
        "select l.course_id from platform.ledger_journals j
         join platform.order_lines l on l.id = j.line_id
         where j.reference = 'lesson:2026-10-12' order by l.course_id",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap();
    assert_eq!(
        released,
        [swim],
        "the art lesson nobody taught keeps its money held"
    );
}

#[tokio::test]
async fn r_t05_the_monthly_report_counts_each_teachers_sessions_taught_late_and_missed() {
    // Arrange: 游泳 (Mondays and Wednesdays 16:30); its teacher checks in on Monday 10-12 in
    // time, on Wednesday 10-14 late, and not on Monday 10-19
    let (app, _fam, swim) = school_with_families(1, 5).await;
    teacher_of(&app, &[swim], "T531", 531, "13800138531").await;
    app.clock.advance(Duration::minutes(380)); // Monday 16:20
    let t = teacher(&app, "13800138531").await;
    assert_eq!(
        check_in(&app, &t, swim, "2026-10-12", json!({})).await.0,
        200
    );
    app.clock.advance(Duration::days(2) + Duration::minutes(25)); // Wednesday 16:45
    let t = teacher(&app, "13800138531").await;
    let (s, late) = check_in(&app, &t, swim, "2026-10-14", json!({})).await;
    assert_eq!((s, late["late"].as_bool()), (200, Some(true)));
    app.clock
        .advance(Duration::days(6) - Duration::minutes(405)); // Tuesday 10-20 10:00
    let admin = app.admin_token("sqsf").await;

    // Act
    let report = app
        .school_ok(&admin, "/attendance/teacher-report?month=2026-10")
        .await;
    let (s_bad, bad) = app
        .school(
            Method::GET,
            &admin,
            "/attendance/teacher-report?month=2026-13",
            None,
        )
        .await;
    let file = app
        .get_as(
            &admin,
            "/t/sqsf/api/v1/school/attendance/teacher-report/download?month=2026-10",
        )
        .await;
    let file_status = file.status().as_u16();
    let bytes = file.bytes().await.unwrap();
    let teacher_token = teacher(&app, "13800138531").await;
    let (s_teacher, _) = app
        .school(
            Method::GET,
            &teacher_token,
            "/attendance/teacher-report?month=2026-10",
            None,
        )
        .await;

    // Assert
    assert_eq!(report["through"], "2026-10-20");
    let rows = report["teachers"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{report}");
    let r = &rows[0];
    assert_eq!(
        (r["taught"].as_i64(), r["late"].as_i64()),
        (Some(2), Some(1)),
        "{r}"
    );
    let (planned, missed) = (
        r["planned"].as_i64().unwrap(),
        r["missed"].as_i64().unwrap(),
    );
    assert_eq!(planned, 2 + missed, "{r}");
    assert!(missed >= 1, "Monday 10-19 was not taught: {r}");
    assert_eq!((s_bad, bad["code"].as_str()), (422, Some("MONTH_INVALID")));
    assert_eq!(file_status, 200);
    let sheets =
        afterschool::tabular::read(&bytes, "r.xlsx", &afterschool::tabular::Limits::default())
            .unwrap();
    assert_eq!(sheets[0].name, "教师签到");
    assert_eq!(s_teacher, 403, "the assessment is the admin's");
}

#[tokio::test]
async fn r_t08_the_homeroom_teacher_and_the_admin_see_where_each_child_is_today() {
    // Arrange: child 0 (一年级1班) in 游泳, marked absent; child 1 (三年级2班) with nothing
    let (app, fam, swim) = school_with_families(2, 5).await;
    app.paid(&fam[0].1, fam[0].0, swim, "where-pay-0001").await;
    let admin = app.admin_token("sqsf").await;
    crate::fixtures::homeroom(&app, &admin, "一年级1班", "T571", 571, "13800138571").await;
    teacher_of(&app, &[swim], "T572", 572, "13800138572").await;
    app.clock.advance(Duration::minutes(380)); // Monday 16:20
    let t = teacher(&app, "13800138572").await;
    assert_eq!(
        check_in(&app, &t, swim, "2026-10-12", json!({})).await.0,
        200
    );
    let (s, _) = app
        .school(
            Method::PUT,
            &t,
            &format!("/attendance/sessions/{swim}/2026-10-12/roll"),
            Some(json!({ "marks": [{ "student_id": fam[0].0, "mark": "absent" }] })),
        )
        .await;
    assert_eq!(s, 200);
    let homeroom = app
        .sign_in_as(
            "13800138571",
            afterschool::auth::model::Role::HomeroomTeacher,
            Some("sqsf"),
        )
        .await
        .1;
    let admin = app.admin_token("sqsf").await;
    let theirs: i64 = sqlx::query_scalar("select class_id from school_sqsf.students where id = $1")
        .bind(fam[1].0)
        .fetch_one(&app.db.admin)
        .await
        .unwrap();

    // Act
    let mine = app.school_ok(&homeroom, "/attendance/whereabouts").await;
    let all = app.school_ok(&admin, "/attendance/whereabouts").await;
    let (s_foreign, foreign) = app
        .school(
            Method::GET,
            &homeroom,
            &format!("/attendance/whereabouts?class_id={theirs}"),
            None,
        )
        .await;

    // Assert
    let find = |v: &Value, id: i64| {
        v["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["student_id"] == id)
            .cloned()
    };
    let child0 = find(&mine, fam[0].0).expect("the teacher's own child");
    assert_eq!(child0["sessions"][0]["name"], "游泳");
    assert_eq!(child0["sessions"][0]["time"], "16:30–18:00");
    assert_eq!(child0["sessions"][0]["mark_label"], "缺勤");
    assert_eq!(child0["sessions"][0]["teachers"][0], "老师T572");
    assert!(
        find(&mine, fam[1].0).is_none(),
        "another class is not the teacher's"
    );
    assert!(mine["absent"].as_i64().unwrap() >= 1);
    let child1 = find(&all, fam[1].0).expect("the admin sees the school");
    assert_eq!(
        child1["sessions"].as_array().map(Vec::len),
        Some(0),
        "nothing booked today"
    );
    assert_eq!(
        (s_foreign, foreign["code"].as_str()),
        (404, Some("CLASS_NOT_FOUND"))
    );
}
