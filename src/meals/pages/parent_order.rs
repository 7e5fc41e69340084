//! A parent orders meals for a child (R-P07) and sees the orders (R-P12): the periods whose
//! ordering has not closed, with their window, served days and the choices the child may
//! order (price per day, total, sold out, already ordered, and the allergy warning that must
//! be acknowledged); the order itself, held for payment; paying through the payments pages
//! (`POST /m/pay` with `meal_order_id`, like a booking); and cancelling an unpaid order.
//! The same service calls as `GET /school/children/:id/meals/offer`, `POST
//! /school/meals/orders`, `POST …/orders/:id/cancel` and `GET …/meals/orders`.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::{child_switcher, done_notice, order_tag, parent_links, short_date};
use crate::clock::cst;
use crate::enrollment::pages::parent::{class_label, family};
use crate::error::ApiError;
use crate::meals::model::{
    MealChoice, MealOfferView, MealOrderStatus, MealOrderView, NewMealOrder, PeriodOffer, WEEKDAYS,
};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, notice, when, yuan, Tone};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/m/meals", get(offer_get))
        .at("/m/meals/order", post(order_submit))
        .at("/m/meals/orders/:id/cancel", post(cancel_submit))
        .at("/m/meals/records", get(records_get))
}

#[derive(Debug, Default, Deserialize)]
struct ChildQuery {
    child: Option<i64>,
    done: Option<String>,
}

/// What was picked in a refused order: the period and the choice, and the acknowledgement.
struct Pick {
    period_start: String,
    item_id: Option<i64>,
    package_id: Option<i64>,
    acknowledged: bool,
}

/// Why the last action was refused: about a choice (`pick`) or the page as a whole.
struct Refusal {
    pick: Option<Pick>,
    p: FormError,
}

impl Pick {
    fn is(&self, period: &PeriodOffer, c: &MealChoice) -> bool {
        self.period_start == period.starts_on.to_string()
            && self.item_id == c.item_id
            && self.package_id == c.package_id
    }
}

fn refusal_box(p: &FormError, id: &str) -> Markup {
    html! { div.notice.error role="alert" id=(id) data-code=(p.code) { (p.message) } }
}

/// 去支付 (the payments page's `POST /m/pay`, with a fresh idempotency key per rendering, so
/// pressing twice finds the same payment order) and 取消 of an order that can still be paid.
/// `back` is where cancelling returns to (`offer` or `records`).
fn order_actions(web: &Web, child: i64, o: &MealOrderView, back: &str) -> Markup {
    let key = uuid::Uuid::now_v7().simple().to_string();
    html! {
        @if o.payable {
            div.toolbar.meal-order-actions style="margin:8px 0 0" {
                form.inline method="post" action=(web.post_url(&format!("/m/pay?child={child}"))) id={ "meal-pay-form-" (o.id) } {
                    input type="hidden" name="meal_order_id" value=(o.id);
                    input type="hidden" name="key" value=(key);
                    button type="submit" id={ "meal-pay-" (o.id) } { "去支付 " (yuan(&o.amount)) }
                }
                form.inline method="post" action=(web.post_url(&format!("/m/meals/orders/{}/cancel?child={child}&back={back}", o.id))) {
                    button.link type="submit" id={ "meal-cancel-" (o.id) } { "取消订餐" }
                }
            }
        }
    }
}

/// A held order waiting for payment, at the top of the ordering page.
fn held_card(web: &Web, child: i64, o: &MealOrderView) -> Markup {
    html! {
        div.card.meal-held id={ "held-" (o.id) } data-status=(o.status.as_str()) {
            div.row { h3 { "待支付订餐" } (order_tag(o.status, &o.status_label)) }
            div.row { span { (o.name) } span.muted { (o.period_label) } }
            div.row {
                small.muted { "供餐 " (o.day_count) " 天 × " (yuan(&o.price)) "/天" }
                strong.price { (yuan(&o.amount)) }
            }
            @if let Some(t) = o.hold_expires_at {
                p.muted { small { "请在 " (when(t)) " 前完成支付，超时将自动取消" } }
            }
            (order_actions(web, child, o, "offer"))
        }
    }
}

/// The end of an ordering window: windows close as a Beijing day starts, which parents read
/// as 24:00 of the day before.
fn until(t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&cst());
    if local.time() == NaiveTime::MIN {
        format!("{} 24:00", local.date_naive() - Duration::days(1))
    } else {
        when(t)
    }
}

fn served_days_text(days: &[NaiveDate]) -> String {
    days.iter()
        .map(|d| {
            let wd = WEEKDAYS[chrono::Datelike::weekday(d).num_days_from_monday() as usize];
            format!("{} {wd}", short_date(*d))
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn choice_key(period: &PeriodOffer, c: &MealChoice) -> String {
    match (c.item_id, c.package_id) {
        (Some(i), _) => format!("{}-i{i}", period.starts_on),
        (_, Some(p)) => format!("{}-p{p}", period.starts_on),
        _ => period.starts_on.to_string(),
    }
}

fn choice_row(
    web: &Web,
    child: i64,
    period: &PeriodOffer,
    c: &MealChoice,
    refused: Option<&Refusal>,
) -> Markup {
    let key = choice_key(period, c);
    let mine = refused.filter(|r| r.pick.as_ref().is_some_and(|p| p.is(period, c)));
    let acknowledged = mine
        .and_then(|r| r.pick.as_ref())
        .is_some_and(|p| p.acknowledged);
    let can_order = period.open && !c.sold_out && !c.taken;
    html! {
        li.meal-choice id={ "choice-" (key) } data-item=[c.item_id] data-package=[c.package_id] {
            div.row {
                strong { (c.name) }
                span {
                    @if c.sold_out { span.tag.bad { "售罄" } }
                    @if c.taken { " " span.tag { "已订" } }
                }
            }
            small.muted { "含 " (c.kinds) }
            div.row {
                span { (yuan(&c.price)) " / 天" }
                span.price { "合计 " (yuan(&c.total)) }
            }
            @if !c.allergy_warnings.is_empty() {
                div.notice.error.allergy-warning role="alert" id={ "allergy-" (key) } {
                    "注意：含孩子过敏的" (c.allergy_warnings.join("、"))
                }
            }
            @if let Some(r) = mine { (refusal_box(&r.p, "order-error")) }
            @if can_order {
                form.order-form method="post" action=(web.post_url(&format!("/m/meals/order?child={child}"))) id={ "order-form-" (key) } {
                    input type="hidden" name="period_start" value=(period.starts_on);
                    @if let Some(i) = c.item_id { input type="hidden" name="item_id" value=(i); }
                    @if let Some(p) = c.package_id { input type="hidden" name="package_id" value=(p); }
                    @if !c.allergy_warnings.is_empty() {
                        label.check style="display:block;margin:6px 0" {
                            input type="checkbox" name="allergy_acknowledged" value="true" id={ "ack-" (key) } required checked[acknowledged];
                            " 已知晓过敏提示"
                        }
                    }
                    button.block type="submit" id={ "order-" (key) } { "订餐" }
                }
            }
        }
    }
}

fn period_card(web: &Web, child: i64, p: &PeriodOffer, refused: Option<&Refusal>) -> Markup {
    html! {
        div.card.meal-period id={ "period-" (p.starts_on) } data-start=(p.starts_on) data-open=(p.open) {
            div.row {
                h3 { (p.label) }
                @if p.open { span.tag { "可订餐" } } @else { span.tag.grey { "未到订餐时间" } }
            }
            p.muted { small { "订餐时间 " (when(p.opens_at)) " 至 " (until(p.closes_at)) } }
            p { "供餐 " strong.served-count { (p.served_days.len()) } " 天（" (p.starts_on) " 至 " (p.ends_on) "，已扣除节假日和食堂不供餐日）" }
            details.served-days {
                summary { "查看供餐日期" }
                p { small { (served_days_text(&p.served_days)) } }
            }
            @if p.choices.is_empty() {
                p.muted { "没有适合孩子年级的餐品" }
            } @else {
                ul.list {
                    @for c in &p.choices { (choice_row(web, child, p, c, refused)) }
                }
            }
        }
    }
}

fn allergy_summary(web: &Web, child: i64, o: &MealOfferView) -> Markup {
    let labels: Vec<&str> = o.allergies.allergens.iter().map(|a| a.label()).collect();
    html! {
        p #allergy-summary {
            small {
                @if labels.is_empty() && o.allergies.note.is_empty() {
                    "未登记过敏信息。"
                } @else {
                    "过敏信息：" (labels.join("、"))
                    @if !o.allergies.note.is_empty() { @if !labels.is_empty() { "；" } (o.allergies.note) }
                    "。"
                }
                a href=(web.link(&format!("/m/meals/allergies?child={child}"))) id="allergies-link" { "登记或修改" }
            }
        }
    }
}

async fn offer_page(
    web: &Web,
    asked: Option<i64>,
    refused: Option<&Refusal>,
    done: Option<&str>,
) -> PageResult {
    let fam = match family(web, asked).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let who = actor(web);
    let mut tx = web.school_tx(&OFFER).await?;
    let offer = service::offer(&mut tx, &who, child.id).await?;
    web.authorize(&RECORDS).await?;
    let records = service::records(&mut tx, &who, child.id).await?;
    tx.commit().await?;
    let held: Vec<&MealOrderView> = records.iter().filter(|o| o.payable).collect();
    // A refusal whose choice is not on the page any more is shown at the top.
    let placed = refused.is_some_and(|r| {
        r.pick.as_ref().is_some_and(|pk| {
            offer
                .periods
                .iter()
                .any(|p| p.choices.iter().any(|c| pk.is(p, c)))
        })
    });
    let status = refused.map_or(poem::http::StatusCode::OK, |r| r.p.status());
    let body = layout::mobile(
        web,
        "订餐",
        "/m",
        html! {
            (done_notice(done))
            (child_switcher(web, &fam, "/m/meals"))
            (parent_links(web, child.id, "offer"))
            @if let Some(r) = refused.filter(|_| !placed) { (refusal_box(&r.p, "order-error")) }
            div.card #meal-child {
                div.row { h2 { (child.name) } span.muted { (class_label(child)) } }
                (allergy_summary(web, child.id, &offer))
            }
            @for o in &held { (held_card(web, child.id, o)) }
            @if offer.periods.is_empty() {
                (notice(Tone::Warn, "目前没有可订餐的周期"))
            }
            @for p in &offer.periods { (period_card(web, child.id, p, refused.filter(|_| placed))) }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn offer_get(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    offer_page(&web, q.child, None, q.done.as_deref()).await
}

#[handler]
async fn order_submit(web: Web, Query(q): Query<ChildQuery>, body: String) -> PageResult {
    let child = q.child.ok_or(WebError::NotFound)?;
    let f = Posted::parse(&body);
    let pick = Pick {
        period_start: f.get("period_start").trim().to_string(),
        item_id: f.id("item_id"),
        package_id: f.id("package_id"),
        acknowledged: f.get("allergy_acknowledged") == "true",
    };
    let Ok(period_start) = NaiveDate::parse_from_str(&pick.period_start, "%Y-%m-%d") else {
        let p = FormError::new("", "请按页面上列出的周期订餐");
        let r = Refusal { pick: None, p };
        return offer_page(&web, Some(child), Some(&r), None).await;
    };
    let req = NewMealOrder {
        student_id: child,
        period_start,
        item_id: pick.item_id,
        package_id: pick.package_id,
        allergy_acknowledged: pick.acknowledged,
    };
    let mut tx = web.school_tx(&ORDER).await?;
    let r = service::order(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(o) => Ok(see_other(&web.link(&format!(
            "/m/meals?child={child}&done=ordered#held-{}",
            o.id
        )))),
        Err(e) => {
            let r = Refusal {
                pick: Some(pick),
                p: FormError::from_api(&e),
            };
            offer_page(&web, Some(child), Some(&r), None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct CancelQuery {
    child: Option<i64>,
    /// `offer` or `records`: where to return.
    back: Option<String>,
}

#[handler]
async fn cancel_submit(web: Web, Path(id): Path<i64>, Query(q): Query<CancelQuery>) -> PageResult {
    let mut tx = web.school_tx(&ORDER_CANCEL).await?;
    let r = service::cancel(&mut tx, &actor(&web), id).await;
    let to_offer = q.back.as_deref() == Some("offer");
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(o) => {
            let path = if to_offer {
                "/m/meals"
            } else {
                "/m/meals/records"
            };
            Ok(see_other(&web.link(&format!(
                "{path}?child={}&done=cancelled",
                o.student_id
            ))))
        }
        Err(e) => {
            let p = FormError::from_api(&e);
            if to_offer {
                let r = Refusal { pick: None, p };
                offer_page(&web, q.child, Some(&r), None).await
            } else {
                records_page(&web, q.child, Some(&p), None).await
            }
        }
    }
}

fn record_card(web: &Web, child: i64, o: &MealOrderView) -> Markup {
    html! {
        div.card.meal-order id={ "meal-order-" (o.id) } data-status=(o.status.as_str()) {
            div.row { strong { (o.name) } (order_tag(o.status, &o.status_label)) }
            small.muted { (o.period_label) " · 含 " (o.kinds) }
            div.row {
                span { (o.day_count) " 天 × " (yuan(&o.price)) "/天" }
                span.price { (yuan(&o.amount)) }
            }
            @if o.payable {
                @if let Some(t) = o.hold_expires_at {
                    p.muted { small { "请在 " (when(t)) " 前完成支付，超时将自动取消" } }
                }
            } @else if o.status == MealOrderStatus::Held {
                p.muted { small { "已超过保留时间，将自动取消" } }
            }
            (order_actions(web, child, o, "records"))
            p.muted { small { "下单时间 " (when(o.created_at)) } }
        }
    }
}

async fn records_page(
    web: &Web,
    asked: Option<i64>,
    err: Option<&FormError>,
    done: Option<&str>,
) -> PageResult {
    let fam = match family(web, asked).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&RECORDS).await?;
    let records = service::records(&mut tx, &actor(web), child.id).await?;
    tx.commit().await?;
    let status = err.map_or(poem::http::StatusCode::OK, |p| p.status());
    let body = layout::mobile(
        web,
        "订餐记录",
        "/m",
        html! {
            (done_notice(done))
            @if let Some(p) = err { (refusal_box(p, "cancel-error")) }
            (child_switcher(web, &fam, "/m/meals/records"))
            (parent_links(web, child.id, "records"))
            @if records.is_empty() {
                p.muted #no-meal-orders { "还没有订餐记录。" a href=(web.link(&format!("/m/meals?child={}", child.id))) { "去订餐 ›" } }
            }
            div #meal-orders {
                @for o in &records { (record_card(web, child.id, o)) }
            }
            p.muted { small { "支付结果以微信支付通知为准，通常几秒内更新。" } }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn records_get(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    records_page(&web, q.child, None, q.done.as_deref()).await
}
