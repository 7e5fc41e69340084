//! The meal refund desk (R-T13, R-S08): the school admin sees what is due back (approved
//! stops' days and the days the school stopped serving after they were ordered), refunds
//! it all in one action, and follows each batch until every refund has arrived. In the
//! console (`/console/meals/refunds`) and on the phone (`/m/teacher/meal-refunds`), with the
//! same handlers.
//!
//! The same service calls and permissions as `GET` and `POST /school/meals/refund-batches`.
//! Must never compute what is due or move money here.

use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::Query;
use poem::{get, handler, Route};
use serde::Deserialize;

use crate::error::ApiError;
use crate::meals::model::{MealRefundBatchView, NewRefundBatch, RefundDueView};
use crate::payments::perms::{MEAL_REFUNDS_DUE, MEAL_REFUND_BATCH};
use crate::payments::service;
use crate::web::forms::{actor, in_place, select, FormError, Posted};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{self, notice, when, yuan, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const CONSOLE: &str = "/console/meals/refunds";
const MOBILE: &str = "/m/teacher/meal-refunds";

pub fn mount(r: Route) -> Route {
    r.at(CONSOLE, get(console_page).post(console_run))
        .at(MOBILE, get(mobile_page).post(mobile_run))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Desk {
    Console,
    Mobile,
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Console => CONSOLE,
            Desk::Mobile => MOBILE,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct DeskQuery {
    /// "2026-11-01", or empty for every period
    period: Option<String>,
    /// the batch just run
    batch: Option<i64>,
}

fn period_of(s: Option<&str>) -> Option<NaiveDate> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
}

/// The periods to choose from: every period, and the months around today.
fn period_options(today: NaiveDate) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "全部周期".to_string())];
    for k in -2i32..=1 {
        let m0 = today.year() * 12 + today.month0() as i32 + k;
        if let Some(d) = NaiveDate::from_ymd_opt(m0.div_euclid(12), m0.rem_euclid(12) as u32 + 1, 1)
        {
            out.push((d.to_string(), format!("{}年{}月", d.year(), d.month())));
        }
    }
    out
}

fn progress_tag(b: &MealRefundBatchView) -> Markup {
    let class = match b.progress_label.as_str() {
        "已到账" => "tag ok",
        "有异常" => "tag bad",
        "退款中" => "tag warn",
        _ => "tag",
    };
    html! { span class=(class) { (b.progress_label) } }
}

fn due_card(web: &Web, desk: Desk, period: &str, due: &RefundDueView) -> Markup {
    let nothing = due.stop_days == 0 && due.unserved_days == 0;
    html! {
        form.card method="get" action=(web.link(desk.base())) id="refund-period" {
            label { "订餐周期 " (select("period", &period_options(web.app.clock.today()), period)) }
            " " button.btn.secondary type="submit" { "查看" }
        }
        section.card #refund-due {
            h2 { "待退款" }
            dl.kv {
                dt { "已批准的停餐" } dd #due-stops { (due.stops) " 条，" (due.stop_days) " 个供餐日" }
                dt { "学校停供的已订供餐日" } dd #due-unserved { (due.unserved_days) " 个" }
                dt { "应退总额" } dd #due-amount { (yuan(&due.amount)) }
            }
            @if nothing {
                p.muted { "没有需要退款的停餐或停供日" }
            } @else {
                form method="post" action=(web.post_url(desk.base())) id="refund-run" {
                    input type="hidden" name="period" value=(period);
                    p.muted { "每笔原支付退一笔微信退款，原路退回家长，金额为停掉的供餐日单价之和。重复点击不会重复退款。" }
                    button.btn type="submit" { "一键退款 " (yuan(&due.amount)) }
                }
            }
        }
    }
}

fn batches_console(due: &RefundDueView) -> Markup {
    html! {
        section.card {
            h2 { "退款批次" }
            @if due.batches.is_empty() { p.muted { "还没有发起过退款" } }
            @else {
                div.table-wrap { table #refund-batches {
                    thead { tr {
                        th { "发起时间" } th { "周期" } th.num { "退款笔数" } th.num { "供餐日" }
                        th.num { "金额" } th.num { "已到账" } th.num { "退款中" } th.num { "异常" } th { "进度" }
                    } }
                    tbody { @for b in &due.batches { tr data-batch=(b.id) {
                        td { (when(b.created_at)) } td { (b.period_label) } td.num { (b.refunds) }
                        td.num { (b.days) } td.num { (yuan(&b.amount)) } td.num { (b.refunded_days) }
                        td.num { (b.processing_days) } td.num { (b.failed_days) } td { (progress_tag(b)) }
                    } } }
                } }
            }
        }
    }
}

fn batches_mobile(due: &RefundDueView) -> Markup {
    html! {
        h2 { "退款批次" }
        @if due.batches.is_empty() { p.muted { "还没有发起过退款" } }
        ul.cards #refund-batches {
            @for b in &due.batches {
                li.card data-batch=(b.id) {
                    p { strong { (b.period_label) } " " (progress_tag(b)) }
                    p { (b.refunds) " 笔退款，" (b.days) " 个供餐日，" (yuan(&b.amount)) }
                    p.muted { (when(b.created_at)) " · 已到账 " (b.refunded_days) " 天"
                        @if b.processing_days > 0 { "，退款中 " (b.processing_days) " 天" }
                        @if b.failed_days > 0 { "，异常 " (b.failed_days) " 天" } }
                }
            }
        }
    }
}

fn ran_notice(due: &RefundDueView, batch: Option<i64>) -> Markup {
    let Some(b) = batch.and_then(|id| due.batches.iter().find(|b| b.id == id)) else {
        return html! {};
    };
    let text = if b.days == 0 {
        "没有需要退款的停餐或停供日，本次未发起退款".to_string()
    } else {
        format!(
            "已发起 {} 笔退款，共 {} 个供餐日 {}，到账后家长会收到微信通知",
            b.refunds,
            b.days,
            yuan(&b.amount)
        )
    };
    html! { div #done { (notice(Tone::Ok, &text)) } }
}

async fn desk_page(
    web: &Web,
    desk: Desk,
    q: &DeskQuery,
    refused: Option<&FormError>,
) -> PageResult {
    let mut period = q.period.clone().unwrap_or_default();
    let who = actor(web);
    let mut tx = web.school_tx(&MEAL_REFUNDS_DUE).await?;
    let mut own = None;
    let due = match crate::meals::service::refund_overview(&mut tx, &who, period_of(Some(&period)))
        .await
        .map_err(ApiError::from)
    {
        Ok(d) => d,
        // A period that is not one: say so, and show every period's.
        Err(e) if in_place(&e) => {
            drop(tx);
            own = Some(FormError::from_api(&e));
            period.clear();
            tx = web.school_tx(&MEAL_REFUNDS_DUE).await?;
            crate::meals::service::refund_overview(&mut tx, &who, None)
                .await
                .map_err(ApiError::from)?
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    let refused = own.as_ref().or(refused);
    let status = refused.map_or(StatusCode::OK, |e| e.status);
    let top = html! {
        @if let Some(e) = refused { (notice(Tone::Error, &e.message)) }
        (ran_notice(&due, q.batch))
    };
    let page = match desk {
        Desk::Console => school_page(
            web,
            "停餐退款",
            CONSOLE,
            html! {
                (top)
                p { a href=(web.link("/console/meals/stops")) { "停餐审批" } " · "
                    a href=(web.link(MOBILE)) { "手机版" } }
                (due_card(web, desk, &period, &due))
                (batches_console(&due))
            },
        ),
        Desk::Mobile => layout::mobile(
            web,
            "停餐退款",
            "/m/teacher",
            html! {
                p { a href=(web.link("/m/teacher/meal-stops")) { "‹ 停餐审批" } }
                (top)
                (due_card(web, desk, &period, &due))
                (batches_mobile(&due))
            },
        ),
    };
    Ok(html_response(status, page))
}

async fn run(web: Web, desk: Desk, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let period = f.get("period").to_string();
    let tx = web.school_tx(&MEAL_REFUND_BATCH).await?;
    let req = NewRefundBatch {
        period_start: period_of(Some(&period)),
    };
    match service::refund_meal_batch(&web.app, &web.auth, tx, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(b) => Ok(see_other(&web.link(&format!(
            "{}?period={}&batch={}",
            desk.base(),
            urlencoding::encode(&period),
            b.id
        )))),
        Err(e) if in_place(&e) => {
            let q = DeskQuery {
                period: Some(period),
                batch: None,
            };
            desk_page(&web, desk, &q, Some(&FormError::from_api(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn console_page(web: Web, Query(q): Query<DeskQuery>) -> PageResult {
    desk_page(&web, Desk::Console, &q, None).await
}

#[handler]
async fn mobile_page(web: Web, Query(q): Query<DeskQuery>) -> PageResult {
    desk_page(&web, Desk::Mobile, &q, None).await
}

#[handler]
async fn console_run(web: Web, body: String) -> PageResult {
    run(web, Desk::Console, body).await
}

#[handler]
async fn mobile_run(web: Web, body: String) -> PageResult {
    run(web, Desk::Mobile, body).await
}
