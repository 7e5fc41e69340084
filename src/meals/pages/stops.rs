//! A parent stops a child's meals (R-P08): one day or a range, with a reason, before the
//! first day's cut-off; the child's stops with their days, the refund and how far they got
//! (申请中 … 已到账), the teacher's comment, and 撤销 while the teacher has not decided. The
//! same service calls as `POST /school/meals/stops`, `GET /school/children/:id/meals/stops`
//! and `POST /school/meals/stops/:id/withdraw`.
//!
//! Also what the stop desks of staff (`stops_review`) share with it: the stop form's fields
//! as typed, how they become a [`NewMealStop`], and a stop's dates and status tag.

use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::catalogue_form::refused_notice;
use super::{child_switcher, done_notice, parent_links, short_date};
use crate::enrollment::pages::parent::{class_label, family};
use crate::error::ApiError;
use crate::meals::model::{parse_date, MealStopView, NewMealStop, StopStatus};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, field, when, yuan};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/m/meals/stops", get(stops_get).post(stop_submit))
        .at("/m/meals/stops/:id/withdraw", post(withdraw_submit))
}

#[derive(Debug, Default, Deserialize)]
struct ChildQuery {
    child: Option<i64>,
    done: Option<String>,
}

/// The control of the parent's stop form a refusal is about.
fn parent_control(f: &str) -> Option<&'static str> {
    match f {
        "first_day" | "MEAL_STOP_PAST" | "MEAL_STOP_AFTER_CUTOFF" => Some("first_day"),
        "last_day" | "MEAL_STOP_RANGE_INVALID" => Some("last_day"),
        "reason" | "REASON_INVALID" => Some("reason"),
        _ => None,
    }
}

/// The control of staff's register form a refusal is about: the parent's, and the student.
pub(super) fn register_control(f: &str) -> Option<&'static str> {
    match f {
        "student_id" | "CHILD_NOT_FOUND" => Some("student"),
        other => parent_control(other),
    }
}

/// The stop as typed, for the service: dates that are not dates are refused with the
/// model's own message, on their control; the rest goes to the service as typed.
pub(super) fn new_stop(
    f: &Posted,
    form: &'static str,
    student_id: i64,
    map: fn(&str) -> Option<&'static str>,
) -> Result<NewMealStop, FormError> {
    let first = f.get("first_day").trim();
    if first.is_empty() {
        return Err(FormError {
            form,
            ..FormError::new("first_day", "请选择停餐的第一天")
        });
    }
    let date = |name: &'static str, s: &str| {
        parse_date(name, s).map_err(|e| FormError::of(form, &ApiError::from(e), map))
    };
    let first_day = date("first_day", first)?;
    let last = f.get("last_day").trim();
    let last_day = if last.is_empty() {
        None
    } else {
        Some(date("last_day", last)?)
    };
    Ok(NewMealStop {
        student_id,
        first_day,
        last_day,
        reason: f.get("reason").to_string(),
    })
}

/// The first day, last day and reason of a stop form, as typed; `p` is its refusal.
pub(super) fn stop_fields(web: &Web, f: &Posted, p: &FormError, form: &str) -> Markup {
    let e = |n: &str| if p.form == form { p.field(n) } else { None };
    let tomorrow = web.app.clock.today() + Duration::days(1);
    html! {
        div.form-grid {
            (field("第一天", "first_day", html! {
                input type="date" id="first_day" name="first_day" value=(f.get("first_day")) min=(tomorrow);
            }, e("first_day")))
            (field("最后一天（只停一天可不填）", "last_day", html! {
                input type="date" id="last_day" name="last_day" value=(f.get("last_day")) min=(tomorrow);
            }, e("last_day")))
        }
        (field("原因", "reason", html! {
            input type="text" id="reason" name="reason" value=(f.get("reason")) maxlength="200" placeholder="如 请假外出";
        }, e("reason")))
    }
}

/// "11-03" or "11-03 至 11-05".
pub(super) fn stop_dates(s: &MealStopView) -> String {
    if s.first_day == s.last_day {
        short_date(s.first_day)
    } else {
        format!("{} 至 {}", short_date(s.first_day), short_date(s.last_day))
    }
}

/// The days a stop covers, or a word that it covers none any more.
pub(super) fn days_text(days: &[NaiveDate]) -> String {
    if days.is_empty() {
        return "无".into();
    }
    days.iter()
        .map(|d| short_date(*d))
        .collect::<Vec<_>>()
        .join("、")
}

/// The tag of a stop's progress (申请中 … 已到账), coloured by its status.
pub(super) fn stop_tag(s: &MealStopView) -> Markup {
    let class = match s.status {
        StopStatus::Pending => "tag warn",
        StopStatus::Approved if s.progress_label == "异常" => "tag bad",
        StopStatus::Approved => "tag",
        StopStatus::Rejected | StopStatus::Withdrawn => "tag grey",
    };
    html! { span class=(class) data-status=(s.status.as_str()) { (s.progress_label) } }
}

fn stop_card(web: &Web, child: i64, s: &MealStopView) -> Markup {
    html! {
        div.card.meal-stop id={ "stop-" (s.id) } data-status=(s.status.as_str()) {
            div.row { strong { "停餐 " (stop_dates(s)) } (stop_tag(s)) }
            div.row {
                span { "共 " (s.day_count) " 个供餐日" }
                span.price { "退款 " (yuan(&s.refund_amount)) }
            }
            p { small.muted { "停餐日：" (days_text(&s.days)) } }
            p { "原因：" (s.reason) }
            @if let Some(c) = &s.review_comment { p.muted.review-comment { "老师意见：" (c) } }
            p.muted {
                small {
                    @if s.by_staff { "由老师登记 · " }
                    "申请于 " (when(s.requested_at))
                    @if let Some(t) = s.reviewed_at { " · 处理于 " (when(t)) }
                }
            }
            @if s.status == StopStatus::Pending {
                form.inline method="post" action=(web.post_url(&format!("/m/meals/stops/{}/withdraw?child={child}", s.id))) {
                    button.link type="submit" id={ "stop-withdraw-" (s.id) } { "撤销申请" }
                }
            }
        }
    }
}

async fn stops_page(
    web: &Web,
    asked: Option<i64>,
    typed: &Posted,
    p: &FormError,
    done: Option<&str>,
) -> PageResult {
    let fam = match family(web, asked).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&CHILD_STOPS).await?;
    let list = service::child_stops(&mut tx, &actor(web), child.id).await?;
    web.authorize(&RULES).await?;
    let rules = service::rules_view(&mut tx).await?;
    tx.commit().await?;
    let body = layout::mobile(
        web,
        "停餐",
        "/m",
        html! {
            (done_notice(done))
            (p.notice("list"))
            (child_switcher(web, &fam, "/m/meals/stops"))
            (parent_links(web, child.id, "stops"))
            div.card #stop-new {
                div.row { h2 { "为" (child.name) "申请停餐" } span.muted { (class_label(child)) } }
                p.muted {
                    small {
                        "请假等不在校就餐的日子可以停餐，须在前一天 " (rules.stop_cutoff) " 前申请，由班主任审批。"
                        "批准后，停掉的供餐日按订餐价格退款。"
                    }
                }
                form.stack method="post" action=(web.post_url(&format!("/m/meals/stops?child={}", child.id))) id="stop-form" novalidate {
                    (refused_notice(p, "stop"))
                    (stop_fields(web, typed, p, "stop"))
                    button.block type="submit" id="stop-submit" { "提交停餐申请" }
                }
            }
            h2 { "停餐记录" }
            @if list.is_empty() { p.muted #no-stops { "还没有停餐记录" } }
            div #meal-stops {
                @for s in &list { (stop_card(web, child.id, s)) }
            }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn stops_get(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    stops_page(
        &web,
        q.child,
        &Posted::default(),
        &FormError::none(),
        q.done.as_deref(),
    )
    .await
}

#[handler]
async fn stop_submit(web: Web, Query(q): Query<ChildQuery>, body: String) -> PageResult {
    let child = q.child.ok_or(WebError::NotFound)?;
    let f = Posted::parse(&body);
    let req = match new_stop(&f, "stop", child, parent_control) {
        Ok(r) => r,
        Err(p) => return stops_page(&web, Some(child), &f, &p, None).await,
    };
    let mut tx = web.school_tx(&STOP_FILE).await?;
    let r = service::file_stop(&mut tx, &actor(&web), req, false).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(s) => Ok(see_other(&web.link(&format!(
            "/m/meals/stops?child={child}&done=stop_requested#stop-{}",
            s.id
        )))),
        Err(e) => {
            let p = FormError::of("stop", &e, parent_control);
            stops_page(&web, Some(child), &f, &p, None).await
        }
    }
}

#[handler]
async fn withdraw_submit(web: Web, Path(id): Path<i64>, Query(q): Query<ChildQuery>) -> PageResult {
    let mut tx = web.school_tx(&STOP_WITHDRAW).await?;
    let r = service::withdraw_stop(&mut tx, &actor(&web), id).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(s) => Ok(see_other(&web.link(&format!(
            "/m/meals/stops?child={}&done=stop_withdrawn",
            s.student_id
        )))),
        Err(e) => {
            let p = FormError::of("list", &e, |_| None);
            stops_page(&web, q.child, &Posted::default(), &p, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_form_reads_one_day_or_a_range_and_names_a_wrong_date_on_its_control() {
        let one = Posted::parse("first_day=2026-11-03&last_day=&reason=%E5%A4%96%E5%87%BA");
        let s = new_stop(&one, "stop", 7, parent_control).unwrap();
        assert_eq!(
            (s.student_id, s.last_day, s.reason.as_str()),
            (7, None, "外出")
        );
        let bad = Posted::parse("first_day=2026-11-03&last_day=2026-13-01&reason=x");
        let p = new_stop(&bad, "stop", 7, parent_control).unwrap_err();
        assert!(
            p.field("last_day")
                .is_some_and(|m| m.contains("2026-13-01")),
            "{p:?}"
        );
        let blank = Posted::parse("first_day=&reason=x");
        let p = new_stop(&blank, "stop", 7, parent_control).unwrap_err();
        assert_eq!(p.field("first_day"), Some("请选择停餐的第一天"));
    }

    #[test]
    fn refusals_land_on_the_control_they_are_about() {
        assert_eq!(parent_control("MEAL_STOP_AFTER_CUTOFF"), Some("first_day"));
        assert_eq!(parent_control("MEAL_STOP_OVERLAP"), None);
        assert_eq!(register_control("CHILD_NOT_FOUND"), Some("student"));
        assert_eq!(register_control("REASON_INVALID"), Some("reason"));
    }
}
