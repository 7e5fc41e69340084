//! The simulators' inboxes and the escrow day close: what the built-in SMS gateway, WeChat
//! Pay and custodian bank hold (demo, development and tests; a live WeChat Pay has none),
//! and the operator's close of an escrow day with its reconciliation.
//!
//! Reads the simulators only through their own functions; must never change what a
//! simulator holds, except through the day close service.

use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use poem::handler;
use poem::http::StatusCode;
use poem::web::{Form, Query};
use serde::Deserialize;

use super::{allow, internal, may, parse_date, when_s, BANK, SMS, WXPAY};
use crate::auth::perms::SMS_OUTBOX;
use crate::bank::{self, sim::ESCROW_ACCOUNT_NO, DifferenceKind, Direction};
use crate::error::ApiError;
use crate::ledger::Money;
use crate::payments::daily;
use crate::payments::model::DayCloseView;
use crate::payments::perms::DAY_CLOSE;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{field, notice, when, yuan, Tone};
use crate::web::nav::platform_page;
use crate::web::session::Web;
use crate::wechatpay::model::{RefundStatus as WxRefundStatus, TradeState};

/// Newest simulator messages shown.
const SIM_ROWS: i64 = 100;

/// Integer fen (WeChat Pay's unit) as yuan.
fn fen(amount: i64) -> String {
    Money::total_from_fen(amount)
        .map(|m| yuan(&m.to_string()))
        .unwrap_or_else(|_| format!("{amount} 分"))
}

#[handler]
pub(super) async fn sms_outbox(web: Web) -> PageResult {
    allow(&web, &SMS_OUTBOX).await?;
    let messages = crate::auth::sms::outbox(&web.app.db_app, &web.app.keys.pii, SIM_ROWS)
        .await
        .map_err(internal)?;
    page(platform_page(
        &web,
        "短信收件箱",
        SMS,
        html! {
            (notice(Tone::Warn, "短信模拟器：演示和测试环境不真正发送短信，验证码等短信在此查看。手机号已脱敏。"))
            div.toolbar { a.btn.secondary href=(SMS) { "刷新" } span.muted { "最新 " (messages.len()) " 条" } }
            @if messages.is_empty() { p.muted { "还没有短信" } }
            @else {
                div.table-wrap {
                    table #sms-outbox {
                        thead { tr { th { "时间" } th { "手机号" } th { "内容" } } }
                        tbody {
                            @for m in &messages {
                                tr { td { (when_s(m.created_at)) } td { (m.phone_masked) } td.sms-body { (m.body) } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn trade_state_label(s: &str) -> &'static str {
    TradeState::parse(s).map_or("未知", |t| t.description())
}

fn refund_status_label(s: &str) -> &'static str {
    WxRefundStatus::parse(s).map_or("未知", |r| r.description())
}

fn delivery_label(s: &str) -> &'static str {
    match s {
        "pending" => "待发送",
        "delivered" => "已送达",
        "failed" => "已放弃",
        _ => "未知",
    }
}

fn trade_tone(s: &str) -> &'static str {
    let s = TradeState::parse(s);
    tone_class(
        s == Some(TradeState::Success),
        s == Some(TradeState::PayError),
    )
}

fn refund_tone(s: &str) -> &'static str {
    let s = WxRefundStatus::parse(s);
    tone_class(
        s == Some(WxRefundStatus::Success),
        s == Some(WxRefundStatus::Abnormal),
    )
}

fn tone_class(ok: bool, bad: bool) -> &'static str {
    if ok {
        "tag"
    } else if bad {
        "tag bad"
    } else {
        "tag warn"
    }
}

#[handler]
pub(super) async fn wxpay_inbox(web: Web) -> PageResult {
    allow(&web, &SMS_OUTBOX).await?;
    let Some(sim) = web.app.wxpay_sim.clone() else {
        return page(platform_page(
            &web,
            "微信支付",
            WXPAY,
            notice(
                Tone::Warn,
                "当前为正式（live）模式，连接真实的微信支付商户平台，没有模拟器可查看。订单与退款请在微信支付商户平台查询。",
            ),
        ));
    };
    let inbox = sim.inbox(SIM_ROWS).await.map_err(internal)?;
    page(platform_page(
        &web,
        "微信支付模拟器",
        WXPAY,
        html! {
            (notice(Tone::Warn, "微信支付模拟器：演示和测试环境的支付、退款和回调通知都在这里，不涉及真实资金。"))
            div.toolbar { a.btn.secondary href=(WXPAY) { "刷新" } }
            h2 { "订单" }
            @if inbox.orders.is_empty() { p.muted { "还没有订单" } }
            @else {
                div.table-wrap {
                    table #wxpay-orders {
                        thead { tr { th { "商户订单号" } th { "商品描述" } th.num { "金额" } th { "状态" } th { "方式" } th { "微信支付单号" } th { "支付时间" } th { "下单时间" } } }
                        tbody {
                            @for o in &inbox.orders {
                                tr data-state=(o.trade_state) data-trade-no=(o.out_trade_no) {
                                    td { code { (o.out_trade_no) } }
                                    td { (o.description) }
                                    td.num { (fen(o.total)) }
                                    td { span class=(trade_tone(&o.trade_state)) { (trade_state_label(&o.trade_state)) } }
                                    td { (o.trade_type) }
                                    td { (o.transaction_id.as_deref().unwrap_or("")) }
                                    td { @if let Some(t) = o.success_time { (when_s(t)) } }
                                    td { (when_s(o.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "退款" }
            @if inbox.refunds.is_empty() { p.muted { "还没有退款" } }
            @else {
                div.table-wrap {
                    table #wxpay-refunds {
                        thead { tr { th { "商户退款单号" } th { "商户订单号" } th.num { "退款金额" } th.num { "订单金额" } th { "状态" } th { "申请时间" } } }
                        tbody {
                            @for r in &inbox.refunds {
                                tr data-status=(r.status) {
                                    td { code { (r.out_refund_no) } }
                                    td { code { (r.out_trade_no) } }
                                    td.num { (fen(r.refund)) }
                                    td.num { (fen(r.total)) }
                                    td { span class=(refund_tone(&r.status)) { (refund_status_label(&r.status)) } }
                                    td { (when_s(r.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "回调通知" }
            @if inbox.notifications.is_empty() { p.muted { "还没有回调通知" } }
            @else {
                div.table-wrap {
                    table #wxpay-notifications {
                        thead { tr { th { "事件" } th { "状态" } th.num { "尝试次数" } th { "最后应答" } th { "送达时间" } th { "下次尝试" } th { "通知地址" } } }
                        tbody {
                            @for n in &inbox.notifications {
                                tr data-state=(n.state) {
                                    td { code { (n.event_type) } }
                                    td { span class=(tone_class(n.state == "delivered", n.state == "failed")) { (delivery_label(&n.state)) } }
                                    td.num { (n.attempts) }
                                    td {
                                        @if let Some(s) = n.last_status { "HTTP " (s) }
                                        @if let Some(e) = &n.last_error { " " small.muted { (e) } }
                                    }
                                    td { @if let Some(t) = n.delivered_at { (when_s(t)) } }
                                    td { @if n.state == "pending" { (when_s(n.next_attempt_at)) } }
                                    td { small { (n.url) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------
// Custodian bank and the escrow day close
// ---------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
struct BankQuery {
    /// The statement's value date.
    #[serde(default)]
    day: String,
}

#[derive(Debug, Default, Deserialize)]
struct CloseForm {
    #[serde(default)]
    date: String,
}

fn difference_label(k: DifferenceKind) -> &'static str {
    match k {
        DifferenceKind::MissingInLedger => "银行有、账本无",
        DifferenceKind::MissingInBank => "账本有、银行无",
        DifferenceKind::AmountMismatch => "金额不符",
    }
}

/// The kind a day close reports as its API code (`DifferenceView::kind`).
fn kind_of(code: &str) -> DifferenceKind {
    match code {
        "missing_in_ledger" => DifferenceKind::MissingInLedger,
        "missing_in_bank" => DifferenceKind::MissingInBank,
        _ => DifferenceKind::AmountMismatch,
    }
}

fn close_result(v: &DayCloseView) -> Markup {
    html! {
        div.card #close-result data-differences=(v.differences.len()) {
            h3 { (v.date) " 日终处理完成" }
            dl.kv {
                dt { "结算给学校的明细" } dd #released-lines { (v.released_lines) " 笔" }
                dt { "结算给学校的金额" } dd #released { (yuan(&v.released)) }
                dt { "微信结算入存管净额" } dd #settled { (yuan(&v.settled_to_bank)) }
                dt { "对账匹配流水" } dd #matched { (v.matched) " 笔" }
            }
            @if v.differences.is_empty() {
                (notice(Tone::Ok, "对账无差异：银行流水与存管账本一致"))
            } @else {
                (notice(Tone::Error, &format!("对账发现 {} 处差异，已记录，请核查", v.differences.len())))
                div.table-wrap {
                    table #close-differences {
                        thead { tr { th { "类型" } th { "参考号" } th.num { "银行金额" } th.num { "账本金额" } } }
                        tbody {
                            @for d in &v.differences {
                                tr data-kind=(d.kind) {
                                    td { (difference_label(kind_of(&d.kind))) }
                                    td { code { (d.reference) } }
                                    td.num { (d.bank_amount.as_deref().map(yuan).unwrap_or_default()) }
                                    td.num { (d.ledger_amount.as_deref().map(yuan).unwrap_or_default()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the bank page shows around its two forms.
struct BankView<'a> {
    /// The statement's day, and the day field as typed (empty: the day itself).
    day: NaiveDate,
    day_raw: &'a str,
    day_error: Option<String>,
    close_date: &'a str,
    close_error: Option<String>,
    closed: Option<&'a DayCloseView>,
}

async fn bank_render(web: &Web, v: BankView<'_>) -> PageResult {
    let mut conn = web.app.db_app.acquire().await?;
    let bank_err = |e: bank::BankError| WebError::Api(ApiError::from_domain(&e));
    let feed = bank::sim::statement_feed(&mut conn, ESCROW_ACCOUNT_NO, v.day)
        .await
        .map_err(bank_err)?;
    let runs = bank::reconcile::runs(&mut conn, ESCROW_ACCOUNT_NO, v.day)
        .await
        .map_err(bank_err)?;
    drop(conn);
    let status = if v.day_error.is_some() || v.close_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let can_close = may(web, &DAY_CLOSE);
    // The day shown is in the field too, so the operator sees which day it is and edits it.
    let day_shown = if v.day_raw.trim().is_empty() {
        v.day.to_string()
    } else {
        v.day_raw.to_string()
    };
    let body = html! {
        (notice(Tone::Warn, "存管银行模拟器：演示和测试环境的监管账户流水由模拟器记账；正式环境由存管银行推送。"))
        @if let Some(r) = v.closed { (close_result(r)) }
        @if can_close {
            form.card.stack method="post" action=(web.post_url("/console/platform/sim/bank/close")) id="close-form" {
                h3 { "存管日终处理" }
                p.muted { small { "对已结束的一天：按课消/服务天数把款项结算给学校，微信支付结算资金划入存管账户，再用银行流水与存管账本对账。可重复执行，不会重复结算。" } }
                (field("日期（北京时间）", "date", html! {
                    input type="text" id="date" name="date" value=(v.close_date) placeholder="YYYY-MM-DD" inputmode="numeric" autocomplete="off";
                }, v.close_error.as_deref()))
                button type="submit" id="close-submit" { "执行日终处理" }
            }
        }
        div.card {
            h3 { "监管账户流水" }
            p.muted { "账号 " (feed.account_no) }
            form method="get" action=(BANK) id="statement-form" {
                (field("记账日期", "day", html! {
                    input type="text" id="day" name="day" value=(day_shown) placeholder="YYYY-MM-DD" inputmode="numeric";
                }, v.day_error.as_deref()))
                button.secondary type="submit" { "查看流水" }
            }
            p #statement-totals {
                (feed.value_date) "：收入 " strong { (yuan(&feed.total_credit.to_string())) }
                "，支出 " strong { (yuan(&feed.total_debit.to_string())) }
                "，共 " (feed.lines.len()) " 笔"
            }
            @if !feed.lines.is_empty() {
                div.table-wrap {
                    table #statement {
                        thead { tr { th { "方向" } th.num { "金额" } th { "对方户名" } th { "参考号" } th { "摘要" } th { "入账时间" } } }
                        tbody {
                            @for l in &feed.lines {
                                tr data-reference=(l.reference) {
                                    td { @if l.direction == Direction::Credit { span.tag { "收入" } } @else { span.tag.warn { "支出" } } }
                                    td.num { (yuan(&l.amount.to_string())) }
                                    td { (l.counterparty) }
                                    td { code { (l.reference) } }
                                    td { (l.memo) }
                                    td { (when(l.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        div.card {
            h3 { "对账记录" }
            @if runs.is_empty() { p.muted #runs-empty { (v.day) " 还没有对账记录" } }
            @else {
                div.table-wrap {
                    table #reconciliation-runs {
                        thead { tr { th { "对账时间" } th.num { "匹配流水" } th { "差异" } } }
                        tbody {
                            @for r in &runs {
                                tr {
                                    td { (when_s(r.at)) }
                                    td.num { (r.matched) }
                                    td {
                                        @if r.is_clean() { span.tag { "无差异" } }
                                        @for d in &r.differences {
                                            div { span.tag.bad { (difference_label(d.kind)) } " " code { (d.reference) } " "
                                                small.muted {
                                                    "银行 " (d.bank_amount.map(|m| yuan(&m.to_string())).unwrap_or_else(|| "—".into()))
                                                    " / 账本 " (d.ledger_amount.map(|m| yuan(&m.to_string())).unwrap_or_else(|| "—".into()))
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        status,
        platform_page(web, "监管银行", BANK, body),
    ))
}

/// Yesterday in Beijing time: the day the sweeper closes next, so the likeliest to look at.
fn yesterday(web: &Web) -> NaiveDate {
    web.app.clock.today() - Duration::days(1)
}

#[handler]
pub(super) async fn bank_page(web: Web, Query(q): Query<BankQuery>) -> PageResult {
    allow(&web, &SMS_OUTBOX).await?;
    let fallback = yesterday(&web);
    let (day, day_error) = match parse_date(&q.day) {
        Ok(d) => (d.unwrap_or(fallback), None),
        Err(m) => (fallback, Some(m)),
    };
    let close_date = fallback.to_string();
    bank_render(
        &web,
        BankView {
            day,
            day_raw: &q.day,
            day_error,
            close_date: &close_date,
            close_error: None,
            closed: None,
        },
    )
    .await
}

/// Closes the escrow's day. The result (what this run released and settled) exists only in
/// this answer, so it is rendered here rather than after a redirect; posting it again is
/// harmless because every step of the close is idempotent on its reference.
#[handler]
pub(super) async fn bank_close(web: Web, Form(f): Form<CloseForm>) -> PageResult {
    allow(&web, &DAY_CLOSE).await?;
    allow(&web, &SMS_OUTBOX).await?;
    let fallback = yesterday(&web);
    let refused = |message: String| BankView {
        day: fallback,
        day_raw: "",
        day_error: None,
        close_date: &f.date,
        close_error: Some(message),
        closed: None,
    };
    let date = match parse_date(&f.date) {
        Ok(Some(d)) => d,
        Ok(None) => return bank_render(&web, refused("请输入要处理的日期".into())).await,
        Err(m) => return bank_render(&web, refused(m)).await,
    };
    match daily::close_day(&web.app, date)
        .await
        .map_err(ApiError::from)
    {
        Ok(result) => {
            let day_raw = date.to_string();
            bank_render(
                &web,
                BankView {
                    day: date,
                    day_raw: &day_raw,
                    day_error: None,
                    close_date: &day_raw,
                    close_error: None,
                    closed: Some(&result),
                },
            )
            .await
        }
        Err(e) if !crate::web::frame::api_status(&e).is_server_error() => {
            bank_render(&web, refused(e.body().message.clone())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_amounts_show_as_yuan() {
        assert_eq!(fen(30000), "¥300.00");
        assert_eq!(fen(5), "¥0.05");
    }
}
