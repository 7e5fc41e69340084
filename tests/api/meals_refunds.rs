//! Meal refund batches end to end (issue #16; R-T13, R-S08): a school admin gives back, in
//! one action, the approved stops' days and the days the school stopped serving after they
//! were ordered; one WeChat refund per original payment of exactly those days' price,
//! traced in the ledger, never twice, however often or concurrently the batch runs.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fixtures::demo_with_families;
use crate::helpers::TestApp;
use crate::meals::{lunch, open_november, paid_meal, published_item};

/// Registers a stop for `child` (approved at once) as the admin; answers its id.
async fn staff_stop(app: &TestApp, admin: &str, child: i64, first: &str, last: &str) -> i64 {
    let body = json!({ "student_id": child, "first_day": first, "last_day": last,
                       "reason": "家长电话请假" });
    let (s, b) = app
        .school(Method::POST, admin, "/meals/stops/register", Some(body))
        .await;
    assert_eq!(
        (s, b["status_label"].as_str()),
        (200, Some("已批准")),
        "{b}"
    );
    b["id"].as_i64().unwrap()
}

/// Every child of `fam` has November's lunch at `price`, each paid on its own; answers the
/// admin's token.
async fn november_lunch(app: &TestApp, fam: &[(i64, String)], price: &str, key: &str) -> String {
    let admin = app.admin_token("sqsf").await;
    open_november(app, &admin).await;
    let item = published_item(app, &admin, lunch(price)).await;
    for (i, (child, token)) in fam.iter().enumerate() {
        let b = json!({ "student_id": child, "period_start": "2026-11-01", "item_id": item,
                        "allergy_acknowledged": true });
        paid_meal(app, token, b, &format!("{key}-pay-000{i}")).await;
    }
    admin
}

async fn batch(app: &TestApp, admin: &str, body: Value) -> (u16, Value) {
    app.school(Method::POST, admin, "/meals/refund-batches", Some(body))
        .await
}

/// The child's stop as the parent sees it.
async fn stop_of(app: &TestApp, token: &str, child: i64, id: i64) -> Value {
    let (s, list) = app
        .school(
            Method::GET,
            token,
            &format!("/children/{child}/meals/stops"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == id).cloned())
        .unwrap_or_else(|| panic!("stop {id} not in {list}"))
}

/// Lets the simulator complete refunds until no meal refund is on its way.
async fn until_meal_refunds_settle(app: &TestApp) {
    for _ in 0..100 {
        let _ = app.sim_control(json!({ "deliver_due": true })).await;
        let open = app
            .count(
                "select count(*) from platform.refunds
                 where source = 'meal' and status in ('requested', 'processing')",
            )
            .await;
        if open == 0 {
            return;
        }
        app.clock.advance(chrono::Duration::seconds(10));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("meal refunds never completed");
}

/// The ledger's view of every meal line: (paid, released + reserved + refunded + held).
async fn meal_lines_balance(app: &TestApp) -> (i64, i64) {
    let paid = app
        .count(
            "select coalesce(sum(b.paid * 100), 0)::bigint from platform.ledger_lines b
             join platform.order_lines l on l.id = b.line_id where l.meal_order_id is not null",
        )
        .await;
    let parts = app
        .count(
            "select coalesce(sum((b.released + b.refund_reserved + b.refunded) * 100), 0)::bigint
                    + coalesce((select sum((e.credit - e.debit) * 100)
                                from platform.ledger_entries e
                                join platform.order_lines l2 on l2.id = e.line_id
                                where l2.meal_order_id is not null and e.account like 'held:%'), 0)::bigint
             from platform.ledger_lines b
             join platform.order_lines l on l.id = b.line_id where l.meal_order_id is not null",
        )
        .await;
    (paid, parts)
}

#[tokio::test]
async fn r_t13_one_batch_refunds_the_stopped_days_once_per_payment_and_never_twice() {
    // Arrange: two children with November's lunch at 12.50, paid separately; stops of three
    // days and one day for the first, two days for the second
    let (app, fam) = demo_with_families(2).await;
    let admin = november_lunch(&app, &fam, "12.50", "refund").await;
    let a1 = staff_stop(&app, &admin, fam[0].0, "2026-11-03", "2026-11-05").await;
    let a2 = staff_stop(&app, &admin, fam[0].0, "2026-11-10", "2026-11-10").await;
    let b1 = staff_stop(&app, &admin, fam[1].0, "2026-11-16", "2026-11-17").await;

    // Act: what is due, the batch, and the batch again
    let (s_due, due) = app
        .school(
            Method::GET,
            &admin,
            "/meals/refund-batches?period_start=2026-11-01",
            None,
        )
        .await;
    let (s1, first) = batch(&app, &admin, json!({ "period_start": "2026-11-01" })).await;
    let (s2, second) = batch(&app, &admin, json!({ "period_start": "2026-11-01" })).await;
    let processing = stop_of(&app, &fam[0].1, fam[0].0, a1).await;
    until_meal_refunds_settle(&app).await;

    // Assert: 6 days, 75.00, two refunds (one per payment); nothing the second time
    assert_eq!(s_due, 200, "{due}");
    assert_eq!(
        (
            due["stops"].as_i64(),
            due["stop_days"].as_i64(),
            due["amount"].as_str()
        ),
        (Some(3), Some(6), Some("75.00")),
        "{due}"
    );
    assert_eq!(s1, 200, "{first}");
    assert_eq!(
        (
            first["refunds"].as_i64(),
            first["days"].as_i64(),
            first["amount"].as_str()
        ),
        (Some(2), Some(6), Some("75.00")),
        "{first}"
    );
    assert_eq!(s2, 200, "{second}");
    assert_eq!(
        (
            second["refunds"].as_i64(),
            second["days"].as_i64(),
            second["progress_label"].as_str()
        ),
        (Some(0), Some(0), Some("无需退款")),
        "{second}"
    );
    assert_eq!(processing["progress_label"], "退款中", "{processing}");
    let mut amounts = Vec::new();
    for q in [
        "select count(*) from platform.refunds where source = 'meal'",
        "select (sum(amount) * 100)::bigint from platform.refunds where source = 'meal' and status = 'succeeded'",
        "select (sum(amount) * 100)::bigint from platform.ledger_journals where kind = 'refund_settle'",
        "select sum(refund)::bigint from platform.wxpay_sim_refunds",
        "select count(*) from school_sqsf.meal_refund_days where status = 'refunded'",
    ] {
        amounts.push(app.count(q).await);
    }
    assert_eq!(amounts, vec![2, 7500, 7500, 7500, 6]);
    for (id, token, child, amount) in [
        (a1, &fam[0].1, fam[0].0, "37.50"),
        (a2, &fam[0].1, fam[0].0, "12.50"),
        (b1, &fam[1].1, fam[1].0, "25.00"),
    ] {
        let s = stop_of(&app, token, child, id).await;
        assert_eq!(
            (s["progress_label"].as_str(), s["refund_amount"].as_str()),
            (Some("已到账"), Some(amount)),
            "{s}"
        );
    }
    let (paid, parts) = meal_lines_balance(&app).await;
    assert_eq!(paid, 2 * 21 * 1250);
    assert_eq!(parts, paid, "paid = released + reserved + refunded + held");
    // The stopped days are not counted for the canteen.
    let (_, counts) = app
        .school(Method::GET, &admin, "/meals/counts?day=2026-11-04", None)
        .await;
    assert_eq!(counts["total"], 1, "{counts}");
}

#[tokio::test]
async fn a_day_the_school_closes_after_ordering_is_refunded_to_everyone_who_paid_for_it() {
    // Arrange: both children paid November; the first also stopped 11-20 already
    let (app, fam) = demo_with_families(2).await;
    let admin = november_lunch(&app, &fam, "10.00", "closed").await;
    let stop = staff_stop(&app, &admin, fam[0].0, "2026-11-20", "2026-11-20").await;

    // Act: the canteen closes 11-20 after everyone ordered; one batch for every period
    let (s, r) = app
        .school(
            Method::POST,
            &admin,
            "/meals/excluded-days",
            Some(json!({ "day": "2026-11-20", "reason": "停水检修" })),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (_, due) = app
        .school(Method::GET, &admin, "/meals/refund-batches", None)
        .await;
    let (s, out) = batch(&app, &admin, json!({})).await;
    until_meal_refunds_settle(&app).await;

    // Assert: the day once for each child (the stop's day is not refunded twice)
    assert_eq!(
        (
            due["stop_days"].as_i64(),
            due["unserved_days"].as_i64(),
            due["amount"].as_str()
        ),
        (Some(1), Some(1), Some("20.00")),
        "{due}"
    );
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        (
            out["refunds"].as_i64(),
            out["days"].as_i64(),
            out["amount"].as_str(),
            out["period_label"].as_str()
        ),
        (Some(2), Some(2), Some("20.00"), Some("全部周期")),
        "{out}"
    );
    assert_eq!(
        app.count(
            "select count(*) from school_sqsf.meal_refund_days
             where day = '2026-11-20' and stop_id is null and status = 'refunded'"
        )
        .await,
        1
    );
    let s = stop_of(&app, &fam[0].1, fam[0].0, stop).await;
    assert_eq!(s["progress_label"], "已到账", "{s}");
    let reasons = app
        .count(
            "select count(*) from platform.refunds where source = 'meal' and reason = '学校停供退款'",
        )
        .await;
    assert_eq!(reasons, 1);
    let (paid, parts) = meal_lines_balance(&app).await;
    assert_eq!((paid, parts), (2 * 21 * 1000, 2 * 21 * 1000));
}

#[tokio::test]
async fn a_refund_batch_racing_with_itself_or_for_a_bad_period_refunds_nothing_twice() {
    // Arrange: eight children's stops waiting for their refunds
    let (app, fam) = demo_with_families(8).await;
    let admin = november_lunch(&app, &fam, "8.00", "race").await;
    for (child, _) in &fam {
        staff_stop(&app, &admin, *child, "2026-11-09", "2026-11-13").await;
    }

    // Act: a bad period, a parent, then eight batches at once
    let (s_bad, bad) = batch(&app, &admin, json!({ "period_start": "2026-11-02" })).await;
    let (s_parent, parent) = batch(&app, &fam[0].1, json!({})).await;
    let before = app
        .count("select count(*) from school_sqsf.meal_refund_batches")
        .await;
    let runs = futures::future::join_all(
        (0..8).map(|_| batch(&app, &admin, json!({ "period_start": "2026-11-01" }))),
    )
    .await;

    // Assert
    assert_eq!(
        (s_bad, bad["code"].as_str()),
        (422, Some("MEAL_PERIOD_INVALID")),
        "{bad}"
    );
    assert_eq!(s_parent, 403, "{parent}");
    assert_eq!(before, 0, "a refused batch leaves no trace");
    let mut days = 0;
    for (s, b) in &runs {
        match s {
            200 => days += b["days"].as_i64().unwrap(),
            409 => assert_eq!(b["code"], "MEAL_REFUND_BATCH_RUNNING", "{b}"),
            _ => panic!("{s} {b}"),
        }
    }
    assert_eq!(days, 8 * 5, "every stopped day once: {runs:?}");
    assert_eq!(
        app.count("select count(*) from platform.refunds where source = 'meal'")
            .await,
        8
    );
    assert_eq!(
        app.count(
            "select (sum(amount) * 100)::bigint from platform.ledger_journals where kind = 'refund_reserve'"
        )
        .await,
        8 * 5 * 800
    );
}
