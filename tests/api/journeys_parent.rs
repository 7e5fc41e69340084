//! Parent journeys in a real browser (issue #7; R-P02, R-P03, R-P06, R-P11, R-P12): sign in
//! on a phone, agree to the data rules, book a course, pay at the cashier, see it in the
//! week's timetable; a clashing course is refused with its explanation.

use crate::browser::Browser;
use crate::fixtures::{demo_with_families, published_course, Course, FIRST_PHONE};
use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn parent_books_pays_and_sees_the_course_in_the_timetable() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let football = published_course(&app, &Course::new(&app, "football-e2e", "足球兴趣班")).await;
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
    assert_eq!(app.taken(football).await, 1);
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

    // Issue #15: the booking's message came by SMS; the parent turns WeChat reminders on
    // for it in WeChat's popup and comes back to the settings page.
    b.goto("/t/sqsf/m/me").await;
    b.click("#me-messages").await;
    let msgs = b.reload_until("#notify-messages", "报名成功通知").await;
    assert!(
        msgs.contains("足球兴趣班") && msgs.contains("短信"),
        "{msgs}"
    );
    b.shot("messages").await;
    b.click("#notify-on-booking_confirmed").await;
    b.find("#sim-subscribe-accept").await;
    assert!(b
        .text("#sim-subscribe-title")
        .await
        .contains("报名成功通知"));
    b.shot("wechat-subscribe-popup").await;
    b.click("#sim-subscribe-accept").await;
    let kind = b
        .reload_until(
            "li.notify-kind[data-kind=booking_confirmed]",
            "已开启微信提醒",
        )
        .await;
    assert!(kind.contains("微信"), "{kind}");
    assert!(b.exists("#notify-off-booking_confirmed").await);
    b.shot("messages-wechat-on").await;
    b.close().await;
}

/// R-P03: the clash is explained on the course page, before 报名 is pressed, with the words
/// the booking's refusal carries; the page offers no 报名 that would be refused.
#[tokio::test]
async fn r_p03_a_clash_is_explained_on_the_course_page_before_booking() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let football = published_course(&app, &Course::new(&app, "football-e2e", "足球兴趣班")).await;
    let basketball = published_course(
        &app,
        &Course {
            weekdays: &[3],
            starts_at: "17:00",
            ends_at: "18:30",
            ..Course::new(&app, "basketball-e2e", "篮球队")
        },
    )
    .await;
    let mut b = Browser::start("clash_explained", &app.address).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/courses/{basketball}?child={child}"))
        .await;
    // Nothing booked yet: no warning, 报名 offered.
    b.find("#book-submit").await;
    assert!(!b.exists("#clash-warning").await);

    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    b.click("#book-submit").await;
    b.find("#pay-form").await;

    b.goto(&format!("/t/sqsf/m/courses/{basketball}?child={child}"))
        .await;
    let warn = b.find("#clash-warning").await;
    let text = warn.text().await.unwrap();
    assert!(text.contains("时间冲突"), "{text}");
    assert!(
        text.contains("足球兴趣班") && text.contains("周三") && text.contains("17:00–18:00"),
        "{text}"
    );
    assert!(
        !b.exists("#book-submit").await,
        "a booking that would be refused is not offered"
    );
    assert_eq!(app.taken(basketball).await, 0);
    b.shot("clash-explained").await;
    b.close().await;
}

/// WeChat's built-in browser on an Android phone.
const WECHAT_UA: &str = "Mozilla/5.0 (Linux; Android 13; M2102J2SC) AppleWebKit/537.36 \
    (KHTML, like Gecko) Version/4.0 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.50";

#[tokio::test]
async fn in_wechat_a_parent_pays_with_jsapi_after_silent_authorisation() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let football = published_course(&app, &Course::new(&app, "football-wx", "足球兴趣班")).await;
    let mut b = Browser::start_as("parent_pays_in_wechat", &app.address, Some(WECHAT_UA)).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    b.click("#book-submit").await;
    b.click("#pay-submit").await;

    // No openid yet: WeChat's silent authorisation (the simulator), then straight on to
    // the JSAPI sheet: one tap, not a second 微信支付 (issue 13). Outside real WeChat the
    // simulator's cashier stands in.
    b.find("#jsapi").await;
    let openids: i64 = sqlx::query_scalar("select count(*) from platform.wx_openids")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    assert_eq!(openids, 1);
    assert!(b.text("#jsapi").await.contains("¥300.00"));
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

/// Clicks `css` after scrolling it to the middle of the screen: at the bottom edge the
/// phone's fixed tab bar would take the click (a person scrolls first too).
async fn click_in_view(b: &Browser, css: &str) {
    let el = b.find(css).await;
    b.client
        .execute(
            "arguments[0].scrollIntoView({block:'center'})",
            vec![serde_json::to_value(&el).unwrap()],
        )
        .await
        .unwrap_or_else(|e| panic!("scroll to {css}: {e}"));
    b.click(css).await;
}

/// How many orders there are in each status, for the assertions below.
async fn orders_by_status(app: &TestApp) -> Vec<(String, i64)> {
    sqlx::query_as(
        "select status, count(*) from platform.payment_orders group by status order by status",
    )
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

/// R-P06 (issue 13): a parent who leaves the cashier without paying finds the open order
/// where they look, with its amounts and total, and pays it (the same order) or cancels it
/// and pays the held place with a new one.
#[tokio::test]
async fn r_p06_a_parent_who_left_the_cashier_resumes_the_open_order_or_cancels_it() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let football =
        published_course(&app, &Course::new(&app, "football-resume", "足球兴趣班")).await;
    let mut b = Browser::start("parent_resumes_an_order", &app.address).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/courses/{football}?child={child}"))
        .await;
    b.click("#book-submit").await;

    // The pending-payment card shows each amount and the total.
    let card = b.find("#pay-form").await.text().await.unwrap();
    assert!(
        card.contains("足球兴趣班") && card.contains("¥300.00"),
        "{card}"
    );
    assert!(card.contains("合计"), "{card}");
    b.shot("pending-with-amounts").await;
    b.click("#pay-submit").await;
    b.find("button.pay").await;

    // Leaves the cashier without paying: home shows the open order, not a dead end.
    b.goto(&format!("/t/sqsf/m?child={child}")).await;
    let open = b.find(".open-order").await.text().await.unwrap();
    assert!(open.contains("¥300.00") && open.contains("合计"), "{open}");
    assert!(
        !b.exists("#pay-form").await,
        "the held place is in the open order"
    );
    b.shot("open-order-home").await;
    let first: i64 = sqlx::query_scalar("select id from platform.payment_orders")
        .fetch_one(&app.db.admin)
        .await
        .unwrap();
    b.click(&format!("#resume-{first}")).await;
    b.find("button.pay").await;
    assert!(b.text("body").await.contains("300.00"));
    assert_eq!(orders_by_status(&app).await, vec![("created".into(), 1)]);

    // The records page offers the same two ways out; this time, cancel.
    b.goto(&format!("/t/sqsf/m/records?child={child}")).await;
    let order = b
        .find(&format!("#order-{first}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        order.contains("继续支付") && order.contains("取消订单"),
        "{order}"
    );
    b.shot("open-order-records").await;
    b.click(&format!("#cancel-order-{first}")).await;
    let closed = b.reload_until(&format!("#order-{first}"), "已关闭").await;
    assert!(!closed.contains("继续支付"), "{closed}");
    assert_eq!(orders_by_status(&app).await, vec![("closed".into(), 1)]);

    // The place is still held: pay it with a new order, once.
    b.goto(&format!("/t/sqsf/m?child={child}")).await;
    b.click("#pay-submit").await;
    b.click("button.pay").await;
    b.click("#back-to-merchant").await;
    b.reload_until(".order[data-status=paid]", "已支付").await;
    assert_eq!(
        orders_by_status(&app).await,
        vec![("closed".into(), 1), ("paid".into(), 1)]
    );
    b.close().await;
}

/// Issue 13: a fully refunded order reads 已退款 to the parent and to the admin, and the
/// admin is offered no refund form for a line with nothing left to refund (R-S08).
#[tokio::test]
async fn r_s08_a_fully_refunded_order_reads_refunded_and_offers_no_refund_form() {
    let (app, fam) = demo_with_families(1).await;
    let (child, token) = (fam[0].0, fam[0].1.clone());
    let course = published_course(&app, &Course::new(&app, "swim-refund", "游泳")).await;
    let (_, order, line) = app.paid(&token, child, course, "refund-all-01").await;
    let admin = app.admin_token("sqsf").await;
    let (s, r) = app.refund(&admin, line, None, "学校停课").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(app.until_refund(line, "succeeded").await, "succeeded");

    let mut b = Browser::start("refunded_order", &app.address).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/records?child={child}")).await;
    let card = b
        .find(&format!("#order-{order}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        card.contains("已退款") && !card.contains("已支付"),
        "{card}"
    );
    b.shot("parent-refunded").await;
    b.sign_out().await;

    b.sign_in_school_admin(&app, "19955500001").await;
    b.goto("/t/sqsf/console/orders").await;
    let card = b
        .find(&format!("#order-{order}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(card.contains("已退款"), "{card}");
    assert!(card.contains("已无可退金额"), "{card}");
    assert!(
        !b.exists(&format!("#refund-submit-{line}")).await,
        "no 发起退款 on a line refunded in full"
    );
    b.shot("admin-refunded").await;
    b.close().await;
}

/// Issue 13: the consent text sends parents to 我的; the page is there, with the children
/// (class by its alias, R-S02), the masked phone, notifications, sign-out, and withdrawing
/// the consent, after which the rules must be agreed to again.
#[tokio::test]
async fn the_parents_my_page_lists_children_and_phone_and_withdraws_consent() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    sqlx::query(
        "update school_sqsf.classes set alias = '小海豚班'
         where id = (select class_id from school_sqsf.students where id = $1)",
    )
    .bind(child)
    .execute(&app.db.admin)
    .await
    .unwrap();
    let mut b = Browser::start("parent_my_page", &app.address).await;
    b.sign_in_first_parent().await;
    b.find(".card h2").await;
    assert!(
        b.text("main").await.contains("小海豚班"),
        "alias on the home page"
    );
    b.click_link("我的").await;

    let phone = b.find("#me-phone").await.text().await.unwrap();
    assert_eq!(phone, "199****0000");
    let kids = b.text("#me-children").await;
    assert!(kids.contains("小海豚班"), "{kids}");
    assert!(b.text("#me-notifications").await.contains("开启微信提醒"));
    b.find("#me-sign-out").await;
    b.shot("my-page").await;

    let consent: i64 = sqlx::query_scalar(
        "select id from platform.consents where withdrawn_at is null order by id desc limit 1",
    )
    .fetch_one(&app.db.admin)
    .await
    .unwrap();
    b.click(&format!("#withdraw-{consent}")).await;
    // Withdrawn: the rules page again, wherever the parent goes.
    b.find("#consent-agree").await;
    b.goto(&format!("/t/sqsf/m/courses?child={child}")).await;
    b.find("#consent-agree").await;
    let withdrawn: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select withdrawn_at from platform.consents where id = $1")
            .bind(consent)
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    assert!(withdrawn.is_some());
    b.click("#consent-agree").await;
    b.goto("/t/sqsf/m/me").await;
    click_in_view(&b, "#me-sign-out").await;
    b.find("#login-form").await;
    b.close().await;
}

/// R-P02 (issue 13): the pictures the school uploads are shown to parents, on the list and
/// on the course page, and load.
#[tokio::test]
async fn r_p02_parents_see_the_course_pictures_the_school_uploaded() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let course = published_course(&app, &Course::new(&app, "art-pics", "美术")).await;
    let admin = app.admin_token("sqsf").await;
    let (s, c) = app
        .put_picture(&admin, course, PNG_2X2.to_vec(), "封面.png", "image/png")
        .await;
    assert_eq!(s, 200, "{c}");

    let mut b = Browser::start("parent_sees_pictures", &app.address).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/courses?child={child}")).await;
    b.find("a.offer img.cover").await;
    b.goto(&format!("/t/sqsf/m/courses/{course}?child={child}"))
        .await;
    b.find("#course-pictures img").await;
    let mut loaded = 0;
    let until = tokio::time::Instant::now() + crate::browser::PATIENCE;
    while loaded == 0 && tokio::time::Instant::now() < until {
        loaded = b
            .client
            .execute(
                "var i=document.querySelector('#course-pictures img');\
                 return i && i.complete ? i.naturalWidth : 0",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_i64())
            .unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(loaded, 2, "the picture loads for the parent");
    b.shot("course-pictures").await;
    b.close().await;
}

/// Issue 13: a series course says a unit may be booked alone, and the page lets the parent
/// do just that; the whole set is then no longer offered, the other unit still is.
#[tokio::test]
async fn a_unit_of_a_series_course_can_be_booked_alone_as_the_page_says() {
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let series = published_course(&app, &Course::new(&app, "science-e2e", "科学探究")).await;
    let circuits = published_course(
        &app,
        &Course {
            weekdays: &[1],
            parent: Some(series),
            ..Course::new(&app, "science-circuits-e2e", "科学·简单电路")
        },
    )
    .await;
    let stars = published_course(
        &app,
        &Course {
            weekdays: &[5],
            parent: Some(series),
            ..Course::new(&app, "science-stars-e2e", "科学·星空观测")
        },
    )
    .await;
    let mut b = Browser::start("series_unit_alone", &app.address).await;
    b.sign_in_first_parent().await;
    b.goto(&format!("/t/sqsf/m/courses/{series}?child={child}"))
        .await;
    let units = b.find("#series-units").await.text().await.unwrap();
    assert!(units.contains("只报其中的单元"), "{units}");
    // The whole set costs what its units add up to, as the order charges.
    assert!(b.text("main").await.contains("¥600.00"));
    b.find("#book-submit").await;
    b.shot("series").await;
    b.click(&format!("#book-unit-{circuits}")).await;

    let pending = b.find("#pay-form").await.text().await.unwrap();
    assert!(pending.contains("科学·简单电路"), "{pending}");
    assert!(!pending.contains("科学·星空观测"), "{pending}");
    assert_eq!(app.taken(circuits).await, 1);
    assert_eq!(app.taken(stars).await, 0);

    b.goto(&format!("/t/sqsf/m/courses/{series}?child={child}"))
        .await;
    b.find(&format!("#book-unit-{stars}")).await;
    assert!(!b.exists(&format!("#book-unit-{circuits}")).await);
    assert!(
        !b.exists("#book-submit").await,
        "the whole set is not offered once a unit is booked"
    );
    b.close().await;
}

// A 2x2 opaque PNG (a real image: its width must come out as 2).
const PNG_2X2: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xFD, 0xD4, 0x9A,
    0x73, 0x00, 0x00, 0x00, 0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0x00,
    0x44, 0x0C, 0x10, 0x0A, 0x00, 0x1F, 0xEE, 0x03, 0xFD, 0x8B, 0x5F, 0x14, 0xD4, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];
