//! The school's orders (R-S08): each order with its lines and the refunds of each line with
//! their progress, filtered by status, and a refund form per line of a paid order that has
//! money left to refund. A refund is at most the line's unreleased part; the payments
//! service says so, and the page shows its words next to the amount.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::error::ApiError;
use crate::kernel::ids::LineId;
use crate::payments::model::{
    LineView, NewRefund, OrderStatus, OrderView, RefundStatus, RefundView,
};
use crate::payments::perms as pay_perms;
use crate::payments::service as pay;
use crate::web::forms::{err_at, is_refusal, FormError};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{field, notice, when, yuan, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/orders", get(orders_page))
        .at("/console/orders/lines/:line/refund", post(refund_submit))
}

const NAV: &str = "/console/orders";

#[derive(Debug, Default, Deserialize)]
struct OrdersQuery {
    /// created | paid | closed (empty: all)
    status: Option<String>,
    done: Option<String>,
}

impl OrdersQuery {
    fn status(&self) -> Option<&str> {
        self.status.as_deref().filter(|s| !s.is_empty())
    }
}

#[derive(Debug, Default, Deserialize)]
struct RefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

/// A refused refund: the line, the service's refusal and the form as typed.
struct LineError {
    line_id: LineId,
    error: FormError,
    form: RefundForm,
}

fn order_tag(o: &OrderView) -> Markup {
    let class = match o.order_status() {
        Some(OrderStatus::Created) => "tag warn",
        Some(OrderStatus::Closed) => "tag grey",
        _ => "tag",
    };
    html! { span class=(class) { (o.status_label) } }
}

fn refund_tag(r: &RefundView) -> Markup {
    let class = match r.refund_status() {
        Some(RefundStatus::Succeeded) => "tag",
        Some(RefundStatus::Abnormal) => "tag bad",
        Some(RefundStatus::Closed) => "tag grey",
        _ => "tag warn",
    };
    html! { span class=(class) { (r.status_label) } }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "withdrawal" => "退课审批",
        "admin" => "学校发起",
        "auto" => "系统自动",
        "meal" => "停餐退款",
        _ => "",
    }
}

fn release_label(l: &LineView) -> String {
    match l.release_rule.as_str() {
        "per_day" => format!("按天结算 · {} 天", l.units),
        _ => format!("一课一消 · {} 次课", l.units),
    }
}

/// Whether the line has money left to refund: the form is offered only then.
fn has_refundable(l: &LineView) -> bool {
    l.refundable
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|d| d > rust_decimal::Decimal::ZERO)
}

fn refund_form(web: &Web, q: &OrdersQuery, l: &LineView, err: Option<&LineError>) -> Markup {
    let mine = err.filter(|e| e.line_id == l.id);
    let e = mine.map(|m| &m.error);
    let other = e.filter(|e| e.field != "amount" && e.field != "reason");
    let path = match q.status() {
        Some(s) => format!("/console/orders/lines/{}/refund?status={s}", l.id),
        None => format!("/console/orders/lines/{}/refund", l.id),
    };
    html! {
        form.refund-form method="post" action=(web.post_url(&path)) {
            div.filters {
                (field("退款金额（元）", &format!("amount-{}", l.id), html! {
                    input type="text" id={ "amount-" (l.id) } name="amount" inputmode="decimal"
                        placeholder="留空则退还全部未结算金额" value=(mine.map(|m| m.form.amount.as_str()).unwrap_or(""));
                }, err_at(e, "amount")))
                (field("退款原因", &format!("reason-{}", l.id), html! {
                    input type="text" id={ "reason-" (l.id) } name="reason" maxlength="80"
                        value=(mine.map(|m| m.form.reason.as_str()).unwrap_or(""));
                }, err_at(e, "reason")))
            }
            @if let Some(o) = other {
                div.error role="alert" id={ "refund-" (l.id) "-error" } data-code=(o.code) { (o.message) }
            }
            button.secondary type="submit" id={ "refund-submit-" (l.id) } { "发起退款" }
        }
    }
}

fn order_card(web: &Web, q: &OrdersQuery, o: &OrderView, err: Option<&LineError>) -> Markup {
    html! {
        div.card.order id={ "order-" (o.id) } data-status=(o.status) {
            div.row {
                strong { (o.description) }
                (order_tag(o))
            }
            div.row {
                small.muted {
                    "订单号 " (o.out_trade_no) " · 下单 " (when(o.created_at))
                    @if let Some(t) = o.paid_at { " · 支付 " (when(t)) }
                    @if let Some(t) = o.closed_at { " · 关闭 " (when(t)) }
                }
                span.price { (yuan(&o.amount)) }
            }
            @if let Some(r) = &o.close_reason { p.muted { "关闭原因：" (r) } }
            @for l in &o.lines {
                div.line data-line=(l.id) {
                    div.row {
                        span { (l.description) br; small.muted { (release_label(l)) } }
                        span { (yuan(&l.amount)) }
                    }
                    @for r in o.refunds.iter().filter(|r| r.line_id == l.id) {
                        div.row.refund data-status=(r.status) {
                            small {
                                "退款 " (yuan(&r.amount)) " · " (r.reason) " · " (source_label(&r.source))
                                " · " (when(r.created_at))
                                @if let Some(t) = r.succeeded_at { " · 到账 " (when(t)) }
                            }
                            (refund_tag(r))
                        }
                    }
                    @if o.order_status() == Some(OrderStatus::Paid) {
                        @if has_refundable(l) {
                            p.muted { small { "可退 " (yuan(&l.refundable)) } }
                            (refund_form(web, q, l, err))
                        } @else {
                            p.muted.no-refund { small { "已无可退金额（已全部退款或已结算）" } }
                        }
                    }
                }
            }
        }
    }
}

async fn render(web: &Web, q: &OrdersQuery, err: Option<LineError>) -> PageResult {
    let tenant = web.authorize(&pay_perms::ORDERS_SCHOOL).await?;
    let orders = pay::school_orders(&web.app, tenant, q.status()).await?;
    let status = err.as_ref().map_or(StatusCode::OK, |e| e.error.status);
    let filters = [
        (None, "全部"),
        (Some("created"), "待支付"),
        (Some("paid"), "已支付"),
        (Some("closed"), "已关闭"),
    ];
    let body = school_page(
        web,
        "订单与退款",
        NAV,
        html! {
            @if q.done.as_deref() == Some("refund") {
                (notice(Tone::Ok, "退款已提交微信支付，到账后状态显示为“已到账”"))
            }
            @if err.as_ref().is_some_and(|e| e.error.field == "amount" || e.error.field == "reason") {
                (notice(Tone::Error, "退款未发起：请按标红的提示修改"))
            }
            div.toolbar {
                @for (s, label) in filters {
                    @if s == q.status() { strong.tag { (label) } }
                    @else {
                        a.tag.grey href=(web.link(&match s {
                            Some(s) => format!("{NAV}?status={s}"),
                            None => NAV.to_string(),
                        })) { (label) }
                    }
                }
            }
            @if orders.is_empty() { p.muted { "没有符合条件的订单" } }
            div #orders {
                @for o in &orders { (order_card(web, q, o, err.as_ref())) }
            }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn orders_page(web: Web, Query(q): Query<OrdersQuery>) -> PageResult {
    render(&web, &q, None).await
}

#[handler]
async fn refund_submit(
    web: Web,
    Path(line): Path<i64>,
    Query(q): Query<OrdersQuery>,
    Form(f): Form<RefundForm>,
) -> PageResult {
    let tx = web.school_tx(&pay_perms::REFUND_CREATE).await?;
    let req = NewRefund {
        line_id: LineId(line),
        amount: Some(f.amount.trim())
            .filter(|a| !a.is_empty())
            .map(str::to_string),
        reason: f.reason.clone(),
    };
    // The service commits (and submits the refund to WeChat) itself.
    match pay::refund_line(&web.app, &web.auth, tx, req)
        .await
        .map_err(ApiError::from)
    {
        Ok(r) => {
            let back = match q.status() {
                Some(s) => format!("{NAV}?status={s}&done=refund#order-{}", r.order_id),
                None => format!("{NAV}?done=refund#order-{}", r.order_id),
            };
            Ok(see_other(&web.link(&back)))
        }
        Err(e) if is_refusal(&e) => {
            let le = LineError {
                line_id: LineId(line),
                error: FormError::from_api(&e),
                form: f,
            };
            render(&web, &q, Some(le)).await
        }
        Err(e) => Err(e.into()),
    }
}
