//! Issue #5: booking with the clash check, holds and their expiry, capacity under
//! concurrency, and the parent's timetable and records (R-P02, R-P03, R-P11, R-P12).

use afterschool::clock::Clock;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::fixtures::{demo_with_families, published_course, relogin, Course};
use crate::helpers::TestApp;

async fn live(app: &TestApp, course: i64) -> i64 {
    sqlx::query_scalar(
        "select count(*) from school_sqsf.enrollments where course_id = $1 and status in ('held','confirmed')",
    )
    .bind(course)
    .fetch_one(&app.db.admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn r_p03_a_booking_holds_the_place_until_its_hold_runs_out() {
    let (app, fam) = demo_with_families(2).await;
    let mut c = Course::new(&app, "bball", "篮球社团");
    c.capacity = 1;
    let course = published_course(&app, &c).await;

    let (s, b) = app.book(&fam[0].1, fam[0].0, course).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b[0]["status"], "held");
    let expires: DateTime<Utc> = b[0]["hold_expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires, app.clock.now() + chrono::Duration::minutes(30));
    let (_, offers) = app
        .school_get(&fam[0].1, &format!("/children/{}/offers", fam[0].0))
        .await;
    let o = offers
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == course)
        .unwrap();
    assert_eq!(
        (o["remaining"].as_i64(), o["booked"].as_str()),
        (Some(0), Some("held"))
    );

    // The course is full for the other child while the hold lasts ...
    let (s, e) = app.book(&fam[1].1, fam[1].0, course).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("ENROLL_FULL")), "{e}");
    // ... and free again once it has run out.
    app.clock.advance(chrono::Duration::minutes(31));
    let (first, second) = (relogin(&app, 0).await, relogin(&app, 1).await);
    let (_, recs) = app
        .school_get(&first, &format!("/children/{}/enrollments", fam[0].0))
        .await;
    assert_eq!(recs[0]["status"], "expired", "{recs}");
    let (s, b) = app.book(&second, fam[1].0, course).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(app.taken(course).await, 1);
    assert_eq!(live(&app, course).await, 1);
}

#[tokio::test]
async fn r_p03_a_clash_is_refused_with_the_course_weekday_and_time_and_changes_nothing() {
    let (app, fam) = demo_with_families(1).await;
    let (child, parent) = (&fam[0].0, &fam[0].1);
    let a = published_course(&app, &Course::new(&app, "art", "美术社团")).await;
    let mut late = Course::new(&app, "chess", "国际象棋");
    late.weekdays = &[3, 5];
    late.starts_at = "17:30";
    late.ends_at = "19:00";
    let b = published_course(&app, &late).await;

    let (s, _) = app.book(parent, *child, a).await;
    assert_eq!(s, 200);
    let (s, e) = app.book(parent, *child, b).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("ENROLL_TIME_CONFLICT")),
        "{e}"
    );
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("美术社团") && msg.contains("周三") && msg.contains("17:30"),
        "{msg}"
    );
    assert_eq!(e["details"]["conflicts_with"]["course_id"], a);
    assert_eq!(e["details"]["conflicts_with"]["weekdays"], json!([3]));
    assert_eq!(app.taken(b).await, 0);
    assert_eq!(live(&app, b).await, 0);

    // Once the first booking is let go, the second one goes through.
    let (_, recs) = app
        .school_get(parent, &format!("/children/{child}/enrollments"))
        .await;
    let id = recs[0]["id"].as_i64().unwrap();
    let (s, gone) = app
        .school_delete(parent, &format!("/enrollments/{id}"))
        .await;
    assert_eq!(s, 200, "{gone}");
    assert_eq!(app.taken(a).await, 0);
    let (s, _) = app.book(parent, *child, b).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn bad_bookings_each_get_their_own_code_and_change_nothing() {
    let (app, fam) = demo_with_families(2).await;
    let (child, parent) = (fam[0].0, fam[0].1.clone()); // 一年级1班, level 1
    let now = app.clock.now();

    let mut closed = Course::new(&app, "late", "报名未开始");
    closed.opens = now + chrono::Duration::days(1);
    let closed = published_course(&app, &closed).await;
    let mut senior = Course::new(&app, "senior", "高年级课程");
    senior.levels = &[5, 6];
    senior.weekdays = &[2];
    let senior = published_course(&app, &senior).await;
    let mut ok = Course::new(&app, "ok", "书法");
    ok.weekdays = &[4];
    let ok = published_course(&app, &ok).await;

    let (s, e) = app.book(&parent, child, closed).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("ENROLL_OUTSIDE_WINDOW")),
        "{e}"
    );
    let (s, e) = app.book(&parent, child, senior).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("ENROLL_NOT_ELIGIBLE")),
        "{e}"
    );
    // someone else's child
    let (s, e) = app.book(&parent, fam[1].0, ok).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (404, Some("CHILD_NOT_FOUND")),
        "{e}"
    );
    let (s, _) = app.book(&parent, child, ok).await;
    assert_eq!(s, 200);
    let (s, e) = app.book(&parent, child, ok).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("ENROLL_DUPLICATE")),
        "{e}"
    );
    assert_eq!(
        app.taken(ok).await,
        1,
        "the refused duplicate gave its seat back"
    );
    for c in [closed, senior] {
        assert_eq!((app.taken(c).await, live(&app, c).await), (0, 0));
    }

    // An expired hold cannot be confirmed (paid) any more.
    let (_, recs) = app
        .school_get(&parent, &format!("/children/{child}/enrollments"))
        .await;
    let id = recs[0]["id"].as_i64().unwrap();
    app.clock.advance(chrono::Duration::minutes(45));
    let admin = app.admin_token("sqsf").await;
    let (s, e) = app
        .school_post(&admin, &format!("/enrollments/{id}/confirm"), json!({}))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("HOLD_EXPIRED")), "{e}");
}

#[tokio::test]
async fn capacity_is_never_exceeded_when_every_parent_books_at_once() {
    let (app, fam) = demo_with_families(24).await;
    let mut c = Course::new(&app, "swim", "游泳");
    c.capacity = 5;
    let course = published_course(&app, &c).await;

    let results = futures::future::join_all(
        fam.iter()
            .map(|(child, token)| app.book(token, *child, course)),
    )
    .await;
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let full = results
        .iter()
        .filter(|(s, b)| *s == 409 && b["code"] == "ENROLL_FULL")
        .count();
    assert_eq!((ok, full), (5, 19), "{results:?}");
    assert_eq!(app.taken(course).await, 5);
    assert_eq!(live(&app, course).await, 5);

    // One parent pressing "book" ten times at once holds one place.
    let mut other = Course::new(&app, "drum", "鼓乐");
    other.weekdays = &[6];
    let other = published_course(&app, &other).await;
    let (child, token) = &fam[0];
    let results = futures::future::join_all((0..10).map(|_| app.book(token, *child, other))).await;
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{results:?}"
    );
    assert_eq!(app.taken(other).await, 1);
    assert_eq!(live(&app, other).await, 1);
}

#[tokio::test]
async fn a_series_course_is_booked_whole_or_not_at_all_and_shows_in_the_timetable() {
    let (app, fam) = demo_with_families(2).await;
    let mut parent_course = Course::new(&app, "stem", "科技系列");
    parent_course.weekdays = &[5];
    let series = published_course(&app, &parent_course).await;
    let mut robot = Course::new(&app, "robot", "机器人");
    robot.parent = Some(series);
    robot.weekdays = &[2];
    let robot = published_course(&app, &robot).await;
    let mut code = Course::new(&app, "code", "编程");
    code.parent = Some(series);
    code.weekdays = &[4];
    code.capacity = 1;
    let code = published_course(&app, &code).await;

    let (s, b) = app.book(&fam[0].1, fam[0].0, series).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b.as_array().unwrap().len(), 2);
    // the second family finds 编程 full: nothing of the series is booked for them
    let (s, e) = app.book(&fam[1].1, fam[1].0, series).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("ENROLL_FULL")), "{e}");
    assert_eq!(app.taken(robot).await, 1);
    assert_eq!(app.taken(code).await, 1);

    let (s, tt) = app
        .school_get(&fam[0].1, &format!("/children/{}/timetable", fam[0].0))
        .await;
    assert_eq!(s, 200, "{tt}");
    let day = |wd: i64| {
        tt["days"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["weekday"] == wd)
            .unwrap()
            .clone()
    };
    assert_eq!(day(2)["slots"][0]["course_name"], "机器人");
    assert_eq!(day(2)["label"], "周二");
    assert_eq!(day(4)["slots"][0]["course_name"], "编程");
    assert!(day(1)["slots"].as_array().unwrap().is_empty());
}

async fn sweep(app: &TestApp) {
    let tenant = app.tenant("sqsf").await;
    afterschool::enrollment::waitlist::sweep(&app.db.app, &tenant, app.clock.now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_freed_place_goes_to_the_first_in_line_and_moves_on_when_the_offer_expires() {
    let (app, fam) = demo_with_families(4).await;
    let mut c = Course::new(&app, "dance", "舞蹈");
    c.capacity = 1;
    let course = published_course(&app, &c).await;

    let (s, e) = app.join_waitlist(&fam[1].1, fam[1].0, course).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("WAITLIST_NOT_NEEDED")),
        "{e}"
    );
    let (s, held) = app.book(&fam[0].1, fam[0].0, course).await;
    assert_eq!(s, 200);
    let (s, w1) = app.join_waitlist(&fam[1].1, fam[1].0, course).await;
    assert_eq!((s, w1["ahead"].as_i64()), (200, Some(0)), "{w1}");
    let (_, w2) = app.join_waitlist(&fam[2].1, fam[2].0, course).await;
    assert_eq!(w2["ahead"], 1);
    let (s, e) = app.join_waitlist(&fam[2].1, fam[2].0, course).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("WAITLIST_DUPLICATE")));

    // The holder lets go: the first in line gets the place, nobody can book past the line.
    let id = held[0]["id"].as_i64().unwrap();
    let (s, b) = app
        .school_delete(&fam[0].1, &format!("/enrollments/{id}"))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, e) = app.book(&fam[3].1, fam[3].0, course).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("ENROLL_FULL")), "{e}");
    let (_, mine) = app
        .school_get(&fam[1].1, &format!("/children/{}/waitlist", fam[1].0))
        .await;
    assert_eq!(mine[0]["status"], "offered", "{mine}");
    let (_, recs) = app
        .school_get(&fam[1].1, &format!("/children/{}/enrollments", fam[1].0))
        .await;
    assert_eq!(recs[0]["status"], "held");

    // The offer runs out unpaid: the sweeper passes the place on.
    app.clock.advance(chrono::Duration::minutes(31));
    sweep(&app).await;
    let (second, third) = (relogin(&app, 1).await, relogin(&app, 2).await);
    let (_, mine) = app
        .school_get(&second, &format!("/children/{}/waitlist", fam[1].0))
        .await;
    assert_eq!(mine[0]["status"], "expired", "{mine}");
    let (_, theirs) = app
        .school_get(&third, &format!("/children/{}/waitlist", fam[2].0))
        .await;
    assert_eq!(theirs[0]["status"], "offered", "{theirs}");
    assert_eq!(app.taken(course).await, 1);
    assert_eq!(live(&app, course).await, 1);
}

#[tokio::test]
async fn a_lottery_is_drawn_once_after_the_window_from_a_seed_anyone_can_replay() {
    let (app, fam) = demo_with_families(6).await;
    let mut c = Course::new(&app, "robotics", "机器人（抽签）");
    c.capacity = 2;
    let course = published_course(&app, &c).await;
    sqlx::query("update school_sqsf.courses set allocation = 'lottery' where id = $1")
        .bind(course)
        .execute(&app.db.admin)
        .await
        .unwrap();

    let (s, e) = app.book(&fam[0].1, fam[0].0, course).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("LOTTERY_APPLY_INSTEAD")),
        "{e}"
    );
    let mut applications = Vec::new();
    for (child, token) in &fam {
        let (s, w) = app.join_waitlist(token, *child, course).await;
        assert_eq!((s, w["status"].as_str()), (200, Some("applied")), "{w}");
        applications.push((w["id"].as_i64().unwrap(), *child));
    }
    let admin = app.admin_token("sqsf").await;
    let (s, e) = app
        .school_post(
            &admin,
            &format!("/courses/{course}/draw"),
            json!({ "seed": 7 }),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("DRAW_TOO_EARLY")),
        "{e}"
    );

    app.clock.advance(chrono::Duration::days(8));
    let admin = app.admin_token("sqsf").await;
    let (s, d) = app
        .school_post(
            &admin,
            &format!("/courses/{course}/draw"),
            json!({ "seed": 7 }),
        )
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["applicants"].as_i64(), d["winners"].as_i64()),
        (Some(6), Some(2))
    );
    // Replaying the published seed over the applications in id order gives the same order.
    let ids: Vec<i64> = applications.iter().map(|a| a.0).collect();
    let replay = afterschool::enrollment::waitlist::draw_order(&ids, 7);
    let expected: Vec<i64> = replay
        .iter()
        .map(|w| applications.iter().find(|a| a.0 == *w).unwrap().1)
        .collect();
    let drawn: Vec<i64> = d["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["student_id"].as_i64().unwrap())
        .collect();
    assert_eq!(drawn, expected);
    let statuses: Vec<&str> = d["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        vec!["offered", "offered", "waiting", "waiting", "waiting", "waiting"]
    );
    assert_eq!(app.taken(course).await, 2);

    let (s, e) = app
        .school_post(
            &admin,
            &format!("/courses/{course}/draw"),
            json!({ "seed": 8 }),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("ALREADY_DRAWN")));
    let (s, again) = app
        .school_get(&relogin(&app, 0).await, &format!("/courses/{course}/draw"))
        .await;
    assert_eq!((s, &again["order"]), (200, &d["order"]));
}

#[tokio::test]
async fn r_p04_custody_is_priced_per_served_day_of_the_term_calendar() {
    let (app, fam) = demo_with_families(1).await;
    let mut c = Course::new(&app, "noon", "午托");
    c.weekdays = &[1, 2, 3, 4, 5];
    c.starts_at = "12:00";
    c.ends_at = "14:00";
    let course = published_course(&app, &c).await;
    sqlx::query(
        "update school_sqsf.courses set class_type = 'custody', pricing = 'per_day', price = 15
         where id = $1",
    )
    .bind(course)
    .execute(&app.db.admin)
    .await
    .unwrap();

    // Independent count: the calendar's teaching days (Mon–Fri, holidays excluded) from
    // today (the test clock's 2026-10-12) on: days already past are not charged.
    let (_, cal) = app.school_get(&fam[0].1, "/calendar").await;
    let teaching = cal["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "teaching" && d["date"].as_str().unwrap() >= "2026-10-12")
        .count() as u64;
    assert!(teaching > 60, "{teaching}");
    let (_, offers) = app
        .school_get(&fam[0].1, &format!("/children/{}/offers", fam[0].0))
        .await;
    let o = offers
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == course)
        .unwrap();
    assert_eq!(o["served_days"], teaching, "{o}");
    assert_eq!(o["total"], format!("{}.00", 15 * teaching));
}
