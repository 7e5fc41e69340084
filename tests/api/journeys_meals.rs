//! Meal journeys in a real browser (issue #16; R-S07, R-S05, R-P07, R-P08, R-P11, R-P12,
//! R-T10): an admin publishes a lunch and opens November on the console, a parent orders it
//! on the phone, pays at the cashier and sees the child eat at school; a parent asks to stop
//! three days, the homeroom teacher approves on the phone, the parent sees it approved and
//! an overlapping request refused, and the canteen's numbers leave the child out and
//! download as .xlsx; an admin rejects a stop and registers one for any student in the
//! console. Bad input is shown next to its field and changes nothing.

use serde_json::json;

use crate::browser::Browser;
use crate::fixtures::{demo_with_families, homeroom, FIRST_PHONE};
use crate::helpers::{TestApp, PASSWORD};
use crate::meals::{lunch, open_november, paid_meal, published_item};

const ADMIN_PHONE: &str = "13712340029";
const TEACHER_PHONE: &str = "13800138821";

/// Sets a date input's value as its picker would (typing into a date control depends on
/// the browser's locale).
async fn set_date(b: &Browser, css: &str, day: &str) {
    let el = b.find(css).await;
    b.client
        .execute(
            "arguments[0].value = arguments[1]; return true",
            vec![serde_json::to_value(&el).unwrap(), json!(day)],
        )
        .await
        .unwrap_or_else(|e| panic!("set {css}: {e}"));
}

async fn value_of(b: &Browser, css: &str) -> String {
    b.find(css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

async fn student_name(app: &TestApp, id: i64) -> String {
    sqlx::query_scalar("select name from school_sqsf.students where id = $1")
        .bind(id)
        .fetch_one(&app.db.admin)
        .await
        .unwrap()
}

/// (id, status, review comment) of a child's stops, oldest first.
async fn stops_of(app: &TestApp, child: i64) -> Vec<(i64, String, Option<String>)> {
    sqlx::query_as(
        "select id, status, review_comment from school_sqsf.meal_stops
         where student_id = $1 order by id",
    )
    .bind(child)
    .fetch_all(&app.db.admin)
    .await
    .unwrap()
}

/// Both families' children have November's lunch, paid; answers the item's id.
async fn november_lunch_for_all(app: &TestApp, fam: &[(i64, String)]) -> i64 {
    let admin = app.admin_token("sqsf").await;
    open_november(app, &admin).await;
    let item = published_item(app, &admin, lunch("12.50")).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item,
                        "allergy_acknowledged": true });
        paid_meal(app, token, b, &format!("journey-meal-{i:04}")).await;
    }
    item
}

#[tokio::test]
async fn an_admin_publishes_a_lunch_and_a_parent_orders_pays_and_sees_the_child_eat_at_school() {
    // Arrange: one family; nothing on the menu yet, November not open.
    let (app, fam) = demo_with_families(1).await;
    let child = fam[0].0;
    let mut b = Browser::start("meals_order_and_pay", &app.address).await;

    // The admin creates a lunch on the console; a wrong price is refused next to it.
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.goto("/t/sqsf/console/meals").await;
    b.fill("#item_name", "标准午餐").await;
    b.fill("#item_price", "12.345").await;
    for level in 1..=6 {
        b.click(&format!("#item_levels-{level}")).await;
    }
    b.click("#item-submit").await;
    let err = b.find("#item_price-error").await.text().await.unwrap();
    assert!(err.contains("12.345"), "{err}");
    assert_eq!(value_of(&b, "#item_name").await, "标准午餐");
    assert_eq!(
        app.count("select count(*) from school_sqsf.meal_items")
            .await,
        0
    );
    b.fill("#item_price", "12.50").await;
    b.click("#item-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("草稿"), "{done}");
    let item: i64 =
        sqlx::query_scalar("select id from school_sqsf.meal_items where name = '标准午餐'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    b.click(&format!("#item-publish-{item}")).await;
    let row = b.find(&format!("#item-{item}")).await.text().await.unwrap();
    assert!(row.contains("已发布") && row.contains("¥12.50"), "{row}");
    b.shot("console-item-published").await;

    // November opens 30 days before it starts.
    b.goto("/t/sqsf/console/meals/rules").await;
    b.fill("#opens_days_before", "30").await;
    b.click("#rules-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("订餐规则已保存"), "{done}");
    assert_eq!(
        app.count("select opens_days_before::bigint from school_sqsf.meal_rules")
            .await,
        30
    );
    b.sign_out().await;

    // The parent orders November's lunch on the phone.
    b.sign_in_first_parent().await;
    b.find("nav.tabbar").await;
    b.goto(&format!("/t/sqsf/m/meals?child={child}")).await;
    let period = b.find("#period-2026-11-01").await.text().await.unwrap();
    assert!(
        period.contains("可订餐") && period.contains("标准午餐") && period.contains("21"),
        "{period}"
    );
    b.shot("parent-offer").await;
    b.click(&format!("#order-2026-11-01-i{item}")).await;
    let held = b.find(".meal-held").await.text().await.unwrap();
    assert!(
        held.contains("待支付") && held.contains("¥262.50"),
        "{held}"
    );
    b.shot("parent-held").await;

    // Paid at the cashier (the WeChat Pay simulator); confirmed once the callback arrives.
    b.click(".meal-held button[id^='meal-pay-']").await;
    b.find("button.pay").await;
    assert!(b.text("body").await.contains("262.50"));
    b.click("button.pay").await;
    b.click("#back-to-merchant").await;
    b.find("nav.tabbar").await;
    b.goto(&format!("/t/sqsf/m/meals/records?child={child}"))
        .await;
    let records = b.reload_until("#meal-orders", "已订餐").await;
    assert!(
        records.contains("标准午餐") && records.contains("2026年11月"),
        "{records}"
    );
    assert_eq!(
        app.count("select count(*) from school_sqsf.meal_orders where status = 'confirmed'")
            .await,
        1
    );
    b.shot("parent-records").await;

    // The week of 2026-11-02: the child eats at school from Monday to Friday.
    b.click("#meal-link-week").await;
    b.goto(&format!(
        "/t/sqsf/m/meals/week?child={child}&day=2026-11-02"
    ))
    .await;
    let monday = b.find(".meal-day[data-day='2026-11-02']").await;
    assert_eq!(
        monday.attr("data-eats").await.unwrap().as_deref(),
        Some("true")
    );
    let text = monday.text().await.unwrap();
    assert!(
        text.contains("在校就餐") && text.contains("标准午餐"),
        "{text}"
    );
    let saturday = b.find(".meal-day[data-day='2026-11-07']").await;
    assert_eq!(
        saturday.attr("data-eats").await.unwrap().as_deref(),
        Some("false")
    );
    b.shot("parent-week").await;
    b.close().await;
}

#[tokio::test]
async fn a_parent_stops_three_days_the_teacher_approves_and_the_canteen_leaves_the_child_out() {
    // Arrange: both children have November's lunch (child 0 in 一年级1班, child 1 in
    // 三年级2班); a homeroom teacher for 一年级1班.
    let (app, fam) = demo_with_families(2).await;
    let child = fam[0].0;
    let name = student_name(&app, child).await;
    let admin = app.admin_token("sqsf").await;
    november_lunch_for_all(&app, &fam).await;
    homeroom(&app, &admin, "一年级1班", "T821", 821, TEACHER_PHONE).await;
    let (s, a) = app
        .school(
            reqwest::Method::PUT,
            &fam[1].1,
            &format!("/children/{}/allergies", fam[1].0),
            Some(json!({ "allergens": ["egg"], "note": "鸡蛋过敏" })),
        )
        .await;
    assert_eq!(s, 200, "{a}");
    let mut b = Browser::start("meals_stop_approved", &app.address).await;

    // The parent asks to stop 11-03..05; without a reason it is refused, the dates kept.
    b.sign_in_first_parent().await;
    b.find("nav.tabbar").await;
    b.goto(&format!("/t/sqsf/m/meals?child={child}")).await;
    b.click("#meal-link-stops").await;
    b.find("#stop-form").await;
    assert!(b.exists("#no-stops").await);
    set_date(&b, "#first_day", "2026-11-03").await;
    set_date(&b, "#last_day", "2026-11-05").await;
    b.click("#stop-submit").await;
    let err = b.find("#reason-error").await.text().await.unwrap();
    assert!(err.contains("原因不能为空"), "{err}");
    assert_eq!(value_of(&b, "#first_day").await, "2026-11-03");
    assert_eq!(value_of(&b, "#last_day").await, "2026-11-05");
    assert!(stops_of(&app, child).await.is_empty());
    b.shot("stop-no-reason").await;

    b.fill("#reason", "外出探亲").await;
    b.click("#stop-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("等待班主任审批"), "{done}");
    let filed = stops_of(&app, child).await;
    assert_eq!(filed.len(), 1);
    let (stop, ref status, _) = filed[0];
    assert_eq!(status, "pending");
    let card = b.find(&format!("#stop-{stop}")).await.text().await.unwrap();
    assert!(
        card.contains("11-03 至 11-05")
            && card.contains("3 个供餐日")
            && card.contains("¥37.50")
            && card.contains("申请中"),
        "{card}"
    );
    assert!(b.exists(&format!("#stop-withdraw-{stop}")).await);
    b.shot("stop-requested").await;
    b.sign_out().await;

    // The homeroom teacher: from the phone's home to the desk; rejecting needs a comment.
    b.sign_in(TEACHER_PHONE, PASSWORD).await;
    b.click("#meal-stops-link").await;
    assert!(
        b.path().await.ends_with("/t/sqsf/m/teacher/meal-stops"),
        "{}",
        b.path().await
    );
    let card = b.find(&format!("#stop-{stop}")).await.text().await.unwrap();
    assert!(
        card.contains(&name) && card.contains("外出探亲") && card.contains("11-03 至 11-05"),
        "{card}"
    );
    b.shot("teacher-stops").await;
    b.click(&format!("#reject-{stop}")).await;
    let err = b
        .find(&format!("#comment-{stop}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("驳回时须填写原因"), "{err}");
    assert_eq!(stops_of(&app, child).await[0].1, "pending");
    b.shot("teacher-reject-needs-comment").await;

    b.fill(&format!("#comment-{stop}"), "同意").await;
    b.click(&format!("#approve-{stop}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("已批准停餐"), "{done}");
    assert!(b.exists("#no-pending-stops").await);
    let decided = b.find("#decided-stops").await.text().await.unwrap();
    assert!(
        decided.contains(&name) && decided.contains("已批准"),
        "{decided}"
    );
    assert_eq!(
        stops_of(&app, child).await[0],
        (stop, "approved".to_string(), Some("同意".to_string()))
    );

    // The teacher registers a day for the child of their class directly.
    b.find("#student")
        .await
        .select_by_value(&child.to_string())
        .await
        .unwrap();
    set_date(&b, "#first_day", "2026-11-10").await;
    b.fill("#reason", "家长电话请假").await;
    b.click("#register-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("停餐已登记"), "{done}");
    let now = stops_of(&app, child).await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[1].1, "approved");
    b.shot("teacher-registered").await;
    b.sign_out().await;

    // The parent sees it approved; a second request over those days is refused with the
    // day named, what was typed kept.
    b.sign_in(&FIRST_PHONE.to_string(), PASSWORD).await;
    b.find("nav.tabbar").await;
    b.goto(&format!("/t/sqsf/m/meals/stops?child={child}"))
        .await;
    let card = b.find(&format!("#stop-{stop}")).await.text().await.unwrap();
    assert!(
        card.contains("已批准") && card.contains("老师意见：同意"),
        "{card}"
    );
    assert!(!b.exists(&format!("#stop-withdraw-{stop}")).await);
    set_date(&b, "#first_day", "2026-11-04").await;
    b.fill("#reason", "再停一天").await;
    b.click("#stop-submit").await;
    let err = b.find("#stop-error").await.text().await.unwrap();
    assert!(err.contains("2026-11-04 已经申请过停餐"), "{err}");
    assert_eq!(value_of(&b, "#reason").await, "再停一天");
    assert_eq!(stops_of(&app, child).await.len(), 2);
    b.shot("stop-overlap").await;

    // A request still waiting can be withdrawn.
    set_date(&b, "#first_day", "2026-11-20").await;
    b.click("#stop-submit").await;
    b.find("#done").await;
    let (late, ref status, _) = stops_of(&app, child).await[2];
    assert_eq!(status, "pending");
    b.click(&format!("#stop-withdraw-{late}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("已撤销"), "{done}");
    let card = b.find(&format!("#stop-{late}")).await.text().await.unwrap();
    assert!(card.contains("已撤销"), "{card}");
    assert_eq!(stops_of(&app, child).await[2].1, "withdrawn");
    b.sign_out().await;

    // The canteen's numbers of 11-04: only the other child's lunch; final after 11-03 15:00.
    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    let side = b.text("nav.side").await;
    assert!(
        side.contains("备餐数") && side.contains("停餐审批"),
        "{side}"
    );
    b.goto("/t/sqsf/console/meals/counts").await;
    assert_eq!(
        value_of(&b, "#day").await,
        "2026-10-13",
        "tomorrow by default"
    );
    set_date(&b, "#day", "2026-11-04").await;
    b.click("#counts-submit").await;
    b.find("#counts-summary[data-day='2026-11-04']").await;
    assert_eq!(b.text("#counts-total").await, "1");
    let finality = b.text("#counts-final").await;
    assert!(
        finality.contains("截止 11-03 15:00 后为最终数"),
        "{finality}"
    );
    let item = b.find(".canteen-item").await.text().await.unwrap();
    assert!(
        item.contains("标准午餐") && item.contains("三年级2班") && !item.contains("一年级1班"),
        "{item}"
    );
    let flag = b
        .find(".allergy-flag[data-conflict='true']")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        flag.contains('*')
            && flag.contains("蛋类")
            && flag.contains("鸡蛋过敏")
            && flag.contains("所订餐品含其过敏原"),
        "{flag}"
    );
    b.shot("console-counts").await;
    let href = b
        .find("#counts-download")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let r = b.fetch(&app, &href).await;
    assert_eq!(r.status(), 200);
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.contains("spreadsheetml"), "{kind}");
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains(&*urlencoding::encode("备餐数_2026-11-04.xlsx")),
        "{disposition}"
    );
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..2], b"PK", "an xlsx workbook");
    b.close().await;
}

#[tokio::test]
async fn an_admin_rejects_a_stop_with_a_comment_and_registers_one_for_any_student() {
    // Arrange: both children have November's lunch; child 1 (三年级2班) asks to stop 11-10.
    let (app, fam) = demo_with_families(2).await;
    november_lunch_for_all(&app, &fam).await;
    let (asker, token) = (fam[1].0, fam[1].1.clone());
    let (s, filed) = app
        .school(
            reqwest::Method::POST,
            &token,
            "/meals/stops",
            Some(json!({ "student_id": asker, "first_day": "2026-11-10", "reason": "去外婆家" })),
        )
        .await;
    assert_eq!(s, 200, "{filed}");
    let stop = filed["id"].as_i64().unwrap();
    let asker_name = student_name(&app, asker).await;
    let other = fam[0].0;
    let other_name = student_name(&app, other).await;
    let class: i64 =
        sqlx::query_scalar("select id from school_sqsf.classes where name = '一年级1班'")
            .fetch_one(&app.db.admin)
            .await
            .unwrap();
    let mut b = Browser::start("meals_console_stops", &app.address).await;

    b.sign_in_school_admin(&app, ADMIN_PHONE).await;
    b.click_link("停餐审批").await;
    let row = b.find(&format!("#stop-{stop}")).await.text().await.unwrap();
    assert!(
        row.contains(&asker_name) && row.contains("去外婆家") && row.contains("¥12.50"),
        "{row}"
    );
    assert!(!b.exists("#register-form").await, "a class is picked first");
    b.shot("console-stops").await;

    // Rejecting without a comment is refused next to the comment; then with one.
    b.click(&format!("#reject-{stop}")).await;
    let err = b
        .find(&format!("#comment-{stop}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(err.contains("驳回时须填写原因"), "{err}");
    assert_eq!(stops_of(&app, asker).await[0].1, "pending");
    b.fill(&format!("#comment-{stop}"), "当天有集体活动，请在校用餐")
        .await;
    b.click(&format!("#reject-{stop}")).await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("已驳回"), "{done}");
    let decided = b.find("#decided-stops").await.text().await.unwrap();
    assert!(
        decided.contains(&asker_name) && decided.contains("已驳回") && decided.contains("集体活动"),
        "{decided}"
    );
    assert_eq!(
        stops_of(&app, asker).await[0],
        (
            stop,
            "rejected".to_string(),
            Some("当天有集体活动，请在校用餐".to_string())
        )
    );

    // Registering: a class, then any of its students; a past day is refused on its field.
    b.find("#class")
        .await
        .select_by_value(&class.to_string())
        .await
        .unwrap();
    b.click("#stop-class-submit").await;
    b.find("#register-form").await;
    b.find("#student")
        .await
        .select_by_value(&other.to_string())
        .await
        .unwrap();
    set_date(&b, "#first_day", "2026-10-12").await;
    b.fill("#reason", "家长电话请假").await;
    b.click("#register-submit").await;
    let err = b.find("#first_day-error").await.text().await.unwrap();
    assert!(err.contains("不能再停餐"), "{err}");
    assert_eq!(value_of(&b, "#student").await, other.to_string());
    assert!(stops_of(&app, other).await.is_empty());
    set_date(&b, "#first_day", "2026-11-12").await;
    set_date(&b, "#last_day", "2026-11-13").await;
    b.click("#register-submit").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(done.contains("停餐已登记"), "{done}");
    assert!(b.path().await.contains(&format!("class={class}")));
    let decided = b.find("#decided-stops").await.text().await.unwrap();
    assert!(
        decided.contains(&other_name) && decided.contains("直接登记"),
        "{decided}"
    );
    let registered = stops_of(&app, other).await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].1, "approved");
    b.shot("console-registered").await;

    // The refund desk gives the two stopped days back in one action, once (R-T13).
    b.click("#refund-desk").await;
    let due = b.find("#due-amount").await.text().await.unwrap();
    assert_eq!(due, "¥25.00");
    b.click("#refund-run button").await;
    let done = b.find("#done").await.text().await.unwrap();
    assert!(
        done.contains("已发起 1 笔退款") && done.contains("2 个供餐日") && done.contains("¥25.00"),
        "{done}"
    );
    let batches = b.find("#refund-batches").await.text().await.unwrap();
    assert!(
        batches.contains("全部周期") && batches.contains("¥25.00"),
        "{batches}"
    );
    assert!(!b.exists("#refund-run").await, "nothing is left to refund");
    assert_eq!(
        app.count("select count(*) from platform.refunds where source = 'meal'")
            .await,
        1
    );
    b.shot("console-refunded").await;
    b.close().await;
}
