//! The settlement statement (R-S10): by course, item or day for a period (Beijing dates),
//! with its totals row and the same statement as `.xlsx` or `.csv` downloads. Every figure
//! is the payments report's, which adds up to the escrow ledger.

use chrono::{Datelike, NaiveDate};
use maud::html;
use poem::http::{header, StatusCode};
use poem::web::Query;
use poem::{get, handler, Response, Route};
use serde::Deserialize;

use crate::error::{ApiError, DomainError};
use crate::payments::error::PaymentsError;
use crate::payments::model::{Grouping, SettlementRow, SettlementView};
use crate::payments::perms as pay_perms;
use crate::payments::report;
use crate::web::forms::{err_at, is_refusal, FormError};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{field, input, notice, yuan, Tone};
use crate::web::nav::school_page;
use crate::web::session::Web;

pub fn mount(r: Route) -> Route {
    r.at("/console/settlement", get(settlement_page))
        .at("/console/settlement/download", get(download))
}

const NAV: &str = "/console/settlement";

#[derive(Debug, Default, Deserialize)]
struct SettlementQuery {
    from: Option<String>,
    to: Option<String>,
    group: Option<String>,
    /// xlsx (default) | csv, for the download.
    format: Option<String>,
}

/// The period and grouping asked for, as typed (for the form) and as read.
struct Period {
    from: String,
    to: String,
    group: Grouping,
}

fn group_of(s: Option<&str>) -> Grouping {
    match s {
        Some("item") => Grouping::Item,
        Some("day") => Grouping::Day,
        _ => Grouping::Course,
    }
}

fn group_str(g: Grouping) -> &'static str {
    match g {
        Grouping::Course => "course",
        Grouping::Item => "item",
        Grouping::Day => "day",
    }
}

fn typed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Period {
    /// What was asked for; by default this month up to today.
    fn of(q: &SettlementQuery, today: NaiveDate) -> Self {
        let first = today.with_day(1).unwrap_or(today);
        Period {
            from: typed(&q.from).map_or_else(|| first.to_string(), str::to_string),
            to: typed(&q.to).map_or_else(|| today.to_string(), str::to_string),
            group: group_of(q.group.as_deref()),
        }
    }

    fn dates(&self) -> Result<(NaiveDate, NaiveDate), FormError> {
        let date = |field: &str, s: &str| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                let e = PaymentsError::ReportDateInvalid {
                    field: field.into(),
                };
                FormError::new(field, e.user_message())
            })
        };
        Ok((date("from", &self.from)?, date("to", &self.to)?))
    }

    fn query(&self) -> String {
        format!(
            "from={}&to={}&group={}",
            urlencoding::encode(&self.from),
            urlencoding::encode(&self.to),
            group_str(self.group)
        )
    }
}

/// A row of the table: the key only where it means something to a reader (an item's
/// number, never a course code or the totals row's marker), as in the files.
fn row(g: Grouping, r: &SettlementRow, total: bool) -> maud::Markup {
    html! {
        @if g.shows_key() { td { @if !total { (r.key) } } }
        td.wrap { (r.name) } td.num { (r.orders) }
        td.num { (r.paid) } td.num { (r.released) } td.num { (r.refunded) }
        td.num { (r.refund_pending) } td.num { (r.held) }
    }
}

fn statement(web: &Web, p: &Period, v: &SettlementView) -> maud::Markup {
    let file = |fmt: &str| web.link(&format!("{NAV}/download?{}&format={fmt}", p.query()));
    html! {
        div.toolbar {
            span.grow { (v.from) " 至 " (v.to) "（北京时间），金额单位：元" }
            a.btn.secondary href=(file("xlsx")) id="download-xlsx" download { "下载 Excel" }
            a.btn.secondary href=(file("csv")) id="download-csv" download { "下载 CSV" }
        }
        div.table-wrap {
            table #settlement {
                thead { tr {
                    @if v.group.shows_key() { th { (v.group.key_header()) } }
                    th { (v.group.name_header()) } th.num { "订单数" } th.num { "实收" } th.num { "已结算" }
                    th.num { "已退款" } th.num { "退款中" } th.num { "存管中" }
                } }
                tbody { @for r in &v.rows { tr { (row(v.group, r, false)) } } }
                tfoot { tr #settlement-total { (row(v.group, &v.total, true)) } }
            }
        }
        @if v.rows.is_empty() { p.muted { "统计期间内没有收支" } }
        dl.kv style="margin-top:12px" {
            dt { "期末应付学校（已结算未划付）" } dd #payable { (yuan(&v.payable_at_end)) }
            dt { "期内已划付学校" } dd #paid-out { (yuan(&v.paid_out)) }
        }
    }
}

#[handler]
async fn settlement_page(web: Web, Query(q): Query<SettlementQuery>) -> PageResult {
    let p = Period::of(&q, web.app.clock.today());
    let outcome = match p.dates() {
        Err(fe) => Err(fe),
        Ok((from, to)) => {
            let mut tx = web.school_tx(&pay_perms::SETTLEMENT).await?;
            match report::settlement(&web.app, &mut tx, from, to, p.group)
                .await
                .map_err(ApiError::from)
            {
                Ok(v) => {
                    tx.commit().await?;
                    Ok(v)
                }
                Err(e) if is_refusal(&e) => Err(FormError::from_api(&e)),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let err = outcome.as_ref().err();
    let status = err.map_or(StatusCode::OK, |e| e.status);
    let groups = [
        (Grouping::Course, "按课程"),
        (Grouping::Item, "按明细"),
        (Grouping::Day, "按日"),
    ];
    let body = school_page(
        &web,
        "结算报表",
        NAV,
        html! {
            form.card method="get" action=(web.link(NAV)) id="settlement-form" {
                div.filters {
                    (field("开始日期", "from", input("date", "from", &p.from), err_at(err, "from")))
                    (field("结束日期（含当日）", "to", input("date", "to", &p.to), err_at(err, "to")))
                    (field("统计方式", "group", html! {
                        select id="group" name="group" {
                            @for (g, label) in groups {
                                option value=(group_str(g)) selected[g == p.group] { (label) }
                            }
                        }
                    }, None))
                }
                button type="submit" id="settlement-submit" { "查询" }
            }
            @if let Some(e) = err.filter(|e| e.field.is_empty()) { (notice(Tone::Error, &e.message)) }
            @if let Ok(v) = &outcome { (statement(&web, &p, v)) }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn download(web: Web, Query(q): Query<SettlementQuery>) -> PageResult {
    let p = Period::of(&q, web.app.clock.today());
    let (from, to) = p
        .dates()
        .map_err(|fe| WebError::from(PaymentsError::ReportDateInvalid { field: fe.field }))?;
    let mut tx = web.school_tx(&pay_perms::SETTLEMENT_FILE).await?;
    let school = tx.tenant().name.clone();
    let v = report::settlement(&web.app, &mut tx, from, to, p.group).await?;
    tx.commit().await?;
    let csv = q.format.as_deref() == Some("csv");
    let bytes = report::to_file(&v, &school, csv)?;
    let (ext, mime) = if csv {
        ("csv", "text/csv; charset=utf-8")
    } else {
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    };
    let name = format!("结算报表_{}_{}.{ext}", v.from, v.to);
    // An ASCII fallback for old clients, and the Chinese name per RFC 6266 / 5987.
    let disposition = format!(
        "attachment; filename=\"settlement_{}_{}.{ext}\"; filename*=UTF-8''{}",
        v.from,
        v.to,
        urlencoding::encode(&name)
    );
    Ok(Response::builder()
        .content_type(mime)
        .header(header::CONTENT_DISPOSITION, disposition)
        .header(header::CACHE_CONTROL, "no-store")
        .body(bytes))
}
