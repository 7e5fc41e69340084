//! The canteen's numbers of a serving day (tomorrow unless another day is picked): whether
//! the canteen serves, when the numbers become final (the day's stop cut-off), how many
//! meals of each item per class, the children whose allergies are recorded (masked, red
//! when the item contains one of them), and the same as an .xlsx download. The same
//! service calls and permissions as `GET /school/meals/counts` and `…/counts/download`.

use chrono::{Datelike, Duration, NaiveDate};
use maud::{html, Markup};
use poem::web::Query;
use poem::{get, handler, Route};
use serde::Deserialize;

use crate::clock::cst;
use crate::meals::model::{CanteenItem, CanteenView, WEEKDAYS};
use crate::meals::perms::{COUNTS, COUNTS_FILE};
use crate::meals::service;
use crate::web::forms::{actor, download, XLSX};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{notice, Tone};
use crate::web::nav::school_page;
use crate::web::session::Web;

const NAV: &str = "/console/meals/counts";

pub fn mount(r: Route) -> Route {
    r.at(NAV, get(counts_get))
        .at(format!("{NAV}/download"), get(counts_download))
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
}

/// The day asked for; tomorrow (the day the canteen prepares for) when none or no date.
fn day_of(web: &Web, q: &DayQuery) -> NaiveDate {
    q.day
        .as_deref()
        .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .unwrap_or_else(|| web.app.clock.today() + Duration::days(1))
}

fn weekday(d: NaiveDate) -> &'static str {
    WEEKDAYS[d.weekday().num_days_from_monday() as usize]
}

/// Whether the numbers are final, with the cut-off in Beijing time.
fn final_note(v: &CanteenView) -> Markup {
    let at = v.final_at.with_timezone(&cst()).format("%m-%d %H:%M");
    html! {
        @if v.is_final {
            span.tag #counts-final data-final="true" { "最终数" }
            " " small.muted { "已过停餐截止时间（" (at) "），数字不再变化" }
        } @else {
            span.tag.warn #counts-final data-final="false" { "截止 " (at) " 后为最终数" }
            " " small.muted { "截止前家长仍可停餐，数字可能变化" }
        }
    }
}

fn item_table(i: &CanteenItem) -> Markup {
    html! {
        div.card.canteen-item id={ "canteen-item-" (i.item_id) } data-item=(i.item_id) {
            div.row {
                h3 { (i.name) " " small.muted { (i.kind_label) } }
                strong.item-total { "共 " (i.total) " 份" }
            }
            div.table-wrap {
                table.canteen-classes {
                    thead { tr { th { "班级" } th.num { "份数" } th { "过敏提示" } } }
                    tbody {
                        @for c in &i.classes {
                            tr data-class=(c.class_id) {
                                td { (c.class_name) }
                                td.num.class-count { (c.count) }
                                td.wrap {
                                    @if c.allergies.is_empty() { span.muted { "无" } }
                                    @for a in &c.allergies {
                                        div.allergy-flag data-conflict=(a.conflict) {
                                            strong { (a.student) } "："
                                            @if !a.allergens.is_empty() { (a.allergens.join("、")) }
                                            @if !a.note.is_empty() {
                                                @if !a.allergens.is_empty() { "；" }
                                                (a.note)
                                            }
                                            @if a.conflict { " " span.tag.bad { "所订餐品含其过敏原" } }
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

#[handler]
async fn counts_get(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    let day = day_of(&web, &q);
    let mut tx = web.school_tx(&COUNTS).await?;
    let v = service::counts(&mut tx, &actor(&web), day).await?;
    tx.commit().await?;
    let link = |d: NaiveDate| web.link(&format!("{NAV}?day={d}"));
    let body = school_page(
        &web,
        "备餐数",
        NAV,
        html! {
            form.toolbar method="get" action=(web.link(NAV)) id="counts-form" {
                label.inline for="day" { "日期" }
                input type="date" id="day" name="day" value=(v.day) style="width:auto";
                button.secondary type="submit" id="counts-submit" { "查看" }
                a.btn.secondary href=(link(v.day - Duration::days(1))) id="counts-prev" { "‹ 前一天" }
                a.btn.secondary href=(link(v.day + Duration::days(1))) id="counts-next" { "后一天 ›" }
                span.grow {}
                a.btn href=(web.link(&format!("{NAV}/download?day={}", v.day))) id="counts-download" download { "下载 .xlsx" }
            }
            div.card #counts-summary data-day=(v.day) data-served=(v.served) {
                div.row {
                    h2 { (v.day) " " (weekday(v.day)) }
                    @if v.served { span.tag { "供餐日" } } @else { span.tag.grey { "不供餐" } }
                }
                @if !v.note.is_empty() { p.muted #counts-note { (v.note) } }
                p { "合计 " strong #counts-total { (v.total) } " 份" }
                p { (final_note(&v)) }
            }
            @if !v.served {
                (notice(Tone::Warn, "这一天食堂不供餐，没有需要准备的餐。"))
            } @else if v.items.is_empty() {
                p.muted #no-counts { "这一天没有学生订餐（或都已停餐）。" }
            }
            @for i in &v.items { (item_table(i)) }
            p.muted { small { "过敏提示只列出有过敏登记的学生，姓名已脱敏；标红表示所订餐品含其过敏原，请备餐时注意。" } }
        },
    );
    Ok(html_response(poem::http::StatusCode::OK, body))
}

/// The counts as .xlsx, named `备餐数_<day>.xlsx` as the API names it.
#[handler]
async fn counts_download(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    let day = day_of(&web, &q);
    let mut tx = web.school_tx(&COUNTS_FILE).await?;
    let school = tx.tenant().name.clone();
    let v = service::counts(&mut tx, &actor(&web), day).await?;
    tx.commit().await?;
    let bytes = service::counts_file(&v, &school)?;
    Ok(download(
        bytes,
        &format!("canteen_{}.xlsx", v.day),
        &format!("备餐数_{}.xlsx", v.day),
        XLSX,
    ))
}
