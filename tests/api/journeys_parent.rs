//! Parent journeys in a real browser (issue #7; R-P02, R-P03, R-P06, R-P11, R-P12): sign in
//! on a phone, agree to the data rules, book a course, pay at the cashier, see it in the
//! week's timetable; a clashing course is refused with its explanation.

use crate::browser::Browser;
use crate::fixtures::{families, insert_course, taken, Course, FIRST_PHONE};
use crate::helpers::spawn_app;

const PASSWORD: &str = "Test#2026ok";

#[tokio::test]
async fn parent_books_pays_and_sees_the_course_in_the_timetable() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let fam = families(&app, 1).await;
    let child = fam[0].0;
    let football = insert_course(&app, &Course::new(&app, "football-e2e", "足球兴趣班")).await;
    let mut b = Browser::start("parent_books_and_pays", &app.address).await;

    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    // First visit: the personal-data rules must be agreed to before any child is shown.
    b.find("#consent-agree").await;
    b.shot("consent").await;
    b.click("#consent-agree").await;
    b.find(".card h2").await;
    assert!(b.path().await.ends_with("/t/sqsf/m"), "{}", b.path().await);

    b.goto(&format!("/t/sqsf/m/courses?child={child}")).await;
    let list = b.text("main").await;
    assert!(list.contains("足球兴趣班"), "{list}");
    b.shot("courses").await;
    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    assert!(b.text("main").await.contains("¥300.00"));
    b.shot("course-detail").await;
    b.click("#book-submit").await;

    // Booked: the home page asks to pay within the hold.
    let home = b.find("#pay-form").await.text().await.unwrap();
    assert!(home.contains("足球兴趣班"), "{home}");
    assert_eq!(taken(&app, football).await, 1);
    b.shot("booked-to-pay").await;
    b.click("#pay-submit").await;

    // The cashier (the WeChat Pay simulator in tests and the demo).
    b.find("button.pay").await;
    assert!(b.text("body").await.contains("300.00"));
    b.shot("cashier").await;
    b.click("button.pay").await;
    b.click("#back-to-merchant").await;

    // Back on our records page: paid once the signed callback arrives.
    let order = b.reload_until(".order", "已支付").await;
    assert!(order.contains("¥300.00"), "{order}");
    let enrolled = b.text("#enrollments").await;
    assert!(enrolled.contains("已报名"), "{enrolled}");
    let paid: i64 =
        sqlx::query_scalar("select count(*) from platform.payment_orders where status = 'paid'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert_eq!(paid, 1);
    b.shot("records-paid").await;

    b.click_link("课表").await;
    let week = b.find("#timetable").await.text().await.unwrap();
    assert!(week.contains("足球兴趣班"), "{week}");
    assert!(week.contains("16:30"), "{week}");
    b.shot("timetable").await;
    b.close().await;
}

#[tokio::test]
async fn a_clashing_course_is_refused_with_its_explanation() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let fam = families(&app, 1).await;
    let child = fam[0].0;
    let football = insert_course(&app, &Course::new(&app, "football-e2e", "足球兴趣班")).await;
    let basketball = insert_course(
        &app,
        &Course {
            weekdays: &[3],
            starts_at: "17:00",
            ends_at: "18:30",
            ..Course::new(&app, "basketball-e2e", "篮球队")
        },
    )
    .await;
    let mut b = Browser::start("clash_refused", &app.address).await;
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    b.click("#consent-agree").await;
    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    b.click("#book-submit").await;
    b.find("#pay-form").await;

    b.goto(&format!("/t/sqsf/m/courses/{basketball}?child={child}"))
        .await;
    b.click("#book-submit").await;
    let err = b.find("#book-error").await;
    let text = err.text().await.unwrap();
    assert!(text.contains("时间冲突"), "{text}");
    assert!(
        text.contains("足球兴趣班") && text.contains("周三"),
        "{text}"
    );
    assert_eq!(
        err.attr("data-code").await.unwrap().as_deref(),
        Some("ENROLL_TIME_CONFLICT")
    );
    // Refused, so nothing was taken.
    assert_eq!(taken(&app, basketball).await, 0);
    b.shot("clash-refused").await;
    b.close().await;
}

/// WeChat's built-in browser on an Android phone.
const WECHAT_UA: &str = "Mozilla/5.0 (Linux; Android 13; M2102J2SC) AppleWebKit/537.36 \
    (KHTML, like Gecko) Version/4.0 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.50";

#[tokio::test]
async fn in_wechat_a_parent_pays_with_jsapi_after_silent_authorisation() {
    let app = spawn_app().await;
    app.apply_demo().await;
    let fam = families(&app, 1).await;
    let child = fam[0].0;
    let football = insert_course(&app, &Course::new(&app, "football-wx", "足球兴趣班")).await;
    let mut b = Browser::start_as("parent_pays_in_wechat", &app.address, Some(WECHAT_UA)).await;
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    b.click("#consent-agree").await;
    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    b.click("#book-submit").await;
    b.click("#pay-submit").await;

    // No openid yet: WeChat's silent authorisation (the simulator) and straight back.
    b.find("#pay-form").await;
    let back = b.path().await;
    assert!(
        back.contains("done=wx_bound") && back.contains("key="),
        "{back}"
    );
    let openids: i64 = sqlx::query_scalar("select count(*) from platform.wx_openids")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(openids, 1);
    b.shot("authorised").await;
    b.click("#pay-submit").await;

    // The JSAPI sheet; outside real WeChat the simulator's cashier stands in.
    b.find("#jsapi").await;
    b.shot("jsapi-sheet").await;
    b.click("#sim-cashier").await;
    b.click("button.pay").await;
    b.click("#back-to-merchant").await;
    b.reload_until(".order", "已支付").await;
    let orders: Vec<(String, String)> =
        sqlx::query_as("select channel, status from platform.payment_orders")
            .fetch_all(&app.db.admin)
            .await
            .unwrap();
    // The attempt before the authorisation and the one after are the same order.
    assert_eq!(orders, vec![("jsapi".to_string(), "paid".to_string())]);
    b.close().await;
}
