//! The school's meal rules (R-S05): the ordering period (month or term), when ordering
//! opens and closes, the daily cut-off for stopping tomorrow's meal and how long an unpaid
//! order keeps its place; and the days the canteen does not serve although school runs.
//! The same service calls as `PATCH /school/meals/rules` and `POST|DELETE
//! /school/meals/excluded-days`.

use maud::html;
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::done_notice;
use crate::error::ApiError;
use crate::meals::model::{MealRulesPatch, MealRulesView, NewExcludedDay, PeriodMode, WEEKDAYS};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::field;
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/meals/rules", get(rules).post(rules_update))
        .at("/console/meals/rules/excluded", post(excluded_add))
        .at(
            "/console/meals/rules/excluded/:day/remove",
            post(excluded_remove),
        )
}

const NAV: &str = "/console/meals/rules";

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

fn rules_control(f: &str) -> Option<&'static str> {
    match f {
        "period" => Some("period"),
        "opens_days_before" => Some("opens_days_before"),
        "closes_days_before" => Some("closes_days_before"),
        "stop_cutoff" => Some("stop_cutoff"),
        "hold_minutes" => Some("hold_minutes"),
        _ => None,
    }
}

fn excluded_control(f: &str) -> Option<&'static str> {
    match f {
        "day" | "DATE_INVALID" => Some("excluded_day"),
        "reason" | "REASON_INVALID" => Some("excluded_reason"),
        _ => None,
    }
}

fn rules_values(r: &MealRulesView) -> Posted {
    Posted::of(&[
        ("period", r.period.as_str().to_string()),
        ("opens_days_before", r.opens_days_before.to_string()),
        ("closes_days_before", r.closes_days_before.to_string()),
        ("stop_cutoff", r.stop_cutoff.clone()),
        ("hold_minutes", r.hold_minutes.to_string()),
    ])
}

/// A whole number as typed; what is not one becomes 0, which the service refuses with the
/// field's own range message.
fn number(s: &str) -> i32 {
    s.trim().parse().unwrap_or(0)
}

fn patch(f: &Posted) -> MealRulesPatch {
    MealRulesPatch {
        period: PeriodMode::parse(f.get("period")),
        opens_days_before: Some(number(f.get("opens_days_before"))),
        closes_days_before: Some(number(f.get("closes_days_before"))),
        stop_cutoff: Some(f.get("stop_cutoff").trim().to_string()),
        hold_minutes: Some(number(f.get("hold_minutes"))),
    }
}

/// The rules page; `typed` is the refused form as typed (`p.form` says which).
async fn rules_page(web: &Web, typed: &Posted, p: &FormError, done: Option<&str>) -> PageResult {
    let mut tx = web.school_tx(&RULES).await?;
    let r = service::rules_view(&mut tx).await?;
    tx.commit().await?;
    let stored = rules_values(&r);
    let f = if p.form == "rules" { typed } else { &stored };
    let blank = Posted::default();
    let x = if p.form == "excluded" { typed } else { &blank };
    let e = |form: &str, n: &str| if p.form == form { p.field(n) } else { None };
    let chosen = if f.get("period").is_empty() {
        r.period.as_str()
    } else {
        f.get("period")
    };
    let refused = |form: &str| {
        html! {
            @if p.form == form && !p.is_empty() {
                @if p.general.is_some() { (p.notice(form)) }
                @else { div.notice.error role="alert" id={ (form) "-error" } data-code=(p.code) { "未保存：请按标红的提示修改后再提交" } }
            }
        }
    };
    let body = school_page(
        web,
        "订餐规则",
        NAV,
        html! {
            (done_notice(done))
            div.card #rules {
                h2 { "订餐周期与时间" }
                p.muted {
                    "家长按周期订餐：按月订餐为每个自然月一个周期，按学期订餐为每个学期一个周期。"
                    "周期开始前若干天开放订餐，截止日那天结束时截止（1 为周期开始前一天）。"
                }
                form.stack method="post" action=(web.post_url("/console/meals/rules")) id="rules-form" novalidate {
                    (refused("rules"))
                    div.form-grid {
                        (field("订餐周期", "period", html! {
                            select id="period" name="period" {
                                @for m in PeriodMode::ALL {
                                    option value=(m.as_str()) selected[m.as_str() == chosen] { (m.label()) }
                                }
                            }
                        }, e("rules", "period")))
                        (field("周期开始前几天开放订餐", "opens_days_before", html! {
                            input type="number" id="opens_days_before" name="opens_days_before" value=(f.get("opens_days_before")) min="1" max="90" step="1";
                        }, e("rules", "opens_days_before")))
                        (field("周期开始前几天截止订餐", "closes_days_before", html! {
                            input type="number" id="closes_days_before" name="closes_days_before" value=(f.get("closes_days_before")) min="1" max="30" step="1";
                        }, e("rules", "closes_days_before")))
                        (field("每天几点前可停次日的餐（HH:MM）", "stop_cutoff", html! {
                            input type="text" id="stop_cutoff" name="stop_cutoff" value=(f.get("stop_cutoff")) placeholder="15:00" inputmode="numeric" maxlength="5";
                        }, e("rules", "stop_cutoff")))
                        (field("未支付的订餐保留（分钟）", "hold_minutes", html! {
                            input type="number" id="hold_minutes" name="hold_minutes" value=(f.get("hold_minutes")) min="5" max="1440" step="1";
                        }, e("rules", "hold_minutes")))
                    }
                    button type="submit" id="rules-submit" { "保存规则" }
                }
            }
            div.card #excluded {
                h2 { "食堂不供餐的日期" }
                p.muted { "学校上课但食堂不供餐的日子（如食堂检修）。节假日和停课按学期校历，无需在此添加。这些日子不计入订餐天数。" }
                (p.notice("excluded_list"))
                @if r.excluded_days.is_empty() {
                    p.muted #no-excluded { "没有设置不供餐的日期" }
                } @else {
                    div.table-wrap {
                        table #excluded-days {
                            thead { tr { th { "日期" } th { "原因" } th { "操作" } } }
                            tbody {
                                @for d in &r.excluded_days {
                                    @let wd = WEEKDAYS[chrono::Datelike::weekday(&d.day).num_days_from_monday() as usize];
                                    tr data-day=(d.day) {
                                        td { (d.day) " " (wd) }
                                        td { (d.reason) }
                                        td {
                                            form.inline method="post" action=(web.post_url(&format!("/console/meals/rules/excluded/{}/remove", d.day))) {
                                                button.link type="submit" id={ "excluded-remove-" (d.day) } { "取消" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h3 style="margin-top:14px" { "添加不供餐日" }
                form.stack method="post" action=(web.post_url("/console/meals/rules/excluded")) id="excluded-form" novalidate {
                    (refused("excluded"))
                    div.form-grid {
                        (field("日期", "excluded_day", html! {
                            input type="date" id="excluded_day" name="day" value=(x.get("day"));
                        }, e("excluded", "excluded_day")))
                        (field("原因", "excluded_reason", html! {
                            input type="text" id="excluded_reason" name="reason" value=(x.get("reason")) maxlength="50" placeholder="如 食堂检修";
                        }, e("excluded", "excluded_reason")))
                    }
                    button type="submit" id="excluded-submit" { "添加" }
                }
            }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn rules(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    rules_page(
        &web,
        &Posted::default(),
        &FormError::none(),
        q.done.as_deref(),
    )
    .await
}

#[handler]
async fn rules_update(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut tx = web.school_tx(&RULES_UPDATE).await?;
    let r = service::update_rules(&mut tx, &actor(&web), patch(&f)).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/meals/rules?done=rules_saved"),
        )),
        Err(e) => {
            let p = FormError::of("rules", &e, rules_control);
            rules_page(&web, &f, &p, None).await
        }
    }
}

#[handler]
async fn excluded_add(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let req = NewExcludedDay {
        day: f.get("day").to_string(),
        reason: f.get("reason").to_string(),
    };
    let mut tx = web.school_tx(&EXCLUDED_ADD).await?;
    let r = service::add_excluded_day(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/meals/rules?done=excluded_added#excluded"),
        )),
        Err(e) => {
            let p = FormError::of("excluded", &e, excluded_control);
            rules_page(&web, &f, &p, None).await
        }
    }
}

#[handler]
async fn excluded_remove(web: Web, Path(day): Path<String>) -> PageResult {
    let mut tx = web.school_tx(&EXCLUDED_REMOVE).await?;
    let r = service::remove_excluded_day(&mut tx, &actor(&web), &day).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/meals/rules?done=excluded_removed#excluded"),
        )),
        Err(e) => {
            let p = FormError::of("excluded_list", &e, |_| None);
            rules_page(&web, &Posted::default(), &p, None).await
        }
    }
}
