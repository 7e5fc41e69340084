//! The admin's day in the console (R-T05): every session of the day with its teachers'
//! check-ins, the ones nobody checked in to flagged, the children expected, present and
//! absent; and the check-in rules (as `GET /school/attendance/day` and
//! `PUT /school/attendance/rules`).

use chrono::{Duration, NaiveDate};
use maud::html;
use poem::http::StatusCode;
use poem::web::Query;
use poem::{get, handler, Route};
use serde::Deserialize;

use super::checkin_tag;
use crate::attendance::model::AttendanceRules;
use crate::attendance::perms::*;
use crate::attendance::service;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::field;
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const BASE: &str = "/console/attendance";

pub fn mount(r: Route) -> Route {
    r.at(BASE, get(day_page).post(rules_save))
        .at(format!("{BASE}/report"), get(report_page))
        .at(format!("{BASE}/report/download"), get(report_download))
}

#[derive(Debug, Default, Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// The month asked for, or this one.
fn month_of(web: &Web, q: &MonthQuery) -> String {
    q.month
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| web.app.clock.today().format("%Y-%m").to_string())
}

/// The teachers' check-in report of a month (the attendance assessment), as
/// `GET /school/attendance/teacher-report`.
#[handler]
async fn report_page(web: Web, Query(q): Query<MonthQuery>) -> PageResult {
    let month = month_of(&web, &q);
    let mut tx = web.school_tx(&REPORT).await?;
    let result = service::teacher_report(&mut tx, &actor(&web), &month).await;
    tx.commit().await?;
    let (status, table) = match result {
        Ok(r) => (
            StatusCode::OK,
            html! {
                p.muted #report-through { "统计 " (r.month) "，截至 " (r.through) " 已结束的课节" }
                p { a.btn.secondary href=(web.link(&format!("{BASE}/report/download?month={}", r.month))) id="report-download" { "下载 .xlsx" } }
                @if r.teachers.is_empty() { p.muted #no-teachers { "这个月没有需要签到的课" } }
                @else {
                    div.table-wrap {
                        table #teacher-report {
                            thead { tr { th { "教师" } th.num { "应上课" } th.num { "已签到" } th.num { "其中迟到" } th.num { "未签到" } } }
                            tbody {
                                @for t in &r.teachers {
                                    tr data-staff=(t.staff_id) {
                                        td { (t.teacher_name) }
                                        td.num { (t.planned) }
                                        td.num { (t.taught) }
                                        td.num { (t.late) }
                                        td.num { @if t.missed > 0 { span.tag.bad { (t.missed) } } @else { "0" } }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
        Err(e) if is_domain_refusal(&e) => {
            let p = FormError::from_domain(&e);
            (
                p.status(),
                html! { div.notice.error role="alert" id="month-error" { (p.message) } },
            )
        }
        Err(e) => return Err(e.into()),
    };
    let body = html! {
        p { a href=(web.link(BASE)) { "‹ 签到与考勤" } }
        form.inline method="get" action=(web.link(&format!("{BASE}/report"))) id="month-form" {
            label for="month" { "月份 " }
            input type="month" id="month" name="month" value=(month);
            " "
            button.secondary type="submit" id="month-submit" { "查看" }
        }
        (table)
    };
    Ok(html_response(
        status,
        school_page(&web, "教师签到月报", BASE, body),
    ))
}

#[handler]
async fn report_download(web: Web, Query(q): Query<MonthQuery>) -> PageResult {
    let month = month_of(&web, &q);
    let mut tx = web.school_tx(&REPORT_FILE).await?;
    let (r, bytes) = service::teacher_report_file(&mut tx, &actor(&web), &month).await?;
    tx.commit().await?;
    Ok(crate::web::forms::download(
        bytes,
        &format!("teacher-checkins-{}.xlsx", r.month),
        &format!("教师签到_{}.xlsx", r.month),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ))
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
    done: Option<String>,
}

fn rules_control(f: &str) -> Option<&'static str> {
    match f {
        "opens_before_min" => Some("opens_before_min"),
        "late_after_min" => Some("late_after_min"),
        "radius_m" => Some("radius_m"),
        "location" => Some("latitude"),
        _ => None,
    }
}

async fn page(web: &Web, q: &DayQuery, typed: Option<&Posted>, p: &FormError) -> PageResult {
    let day = match q.day.as_deref() {
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| WebError::NotFound)?),
        None => None,
    };
    let mut tx = web.school_tx(&DAY).await?;
    let d = service::day(&mut tx, &actor(web), day).await?;
    web.authorize(&RULES).await?;
    let rules = service::rules(&mut tx).await?;
    tx.commit().await?;
    let link = |day: NaiveDate| web.link(&format!("{BASE}?day={day}"));
    let opt = |v: Option<String>| v.unwrap_or_default();
    let stored = Posted::of(&[
        ("opens_before_min", rules.opens_before_min.to_string()),
        ("late_after_min", rules.late_after_min.to_string()),
        ("latitude", opt(rules.latitude.map(|v| v.to_string()))),
        ("longitude", opt(rules.longitude.map(|v| v.to_string()))),
        ("radius_m", opt(rules.radius_m.map(|v| v.to_string()))),
    ]);
    let f = typed.unwrap_or(&stored);
    let body = html! {
        @if q.done.as_deref() == Some("rules_saved") { div.notice.ok id="done" { "签到规则已保存" } }
        div.toolbar #day-nav {
            a.btn.secondary href=(link(d.day - Duration::days(1))) id="day-prev" { "‹ 前一天" }
            strong #day { (d.day) }
            a.btn.secondary href=(link(d.day + Duration::days(1))) id="day-next" { "后一天 ›" }
        }
        @if !d.sessions.is_empty() {
            @let held = d.sessions.iter().filter(|s| !s.checkins.is_empty()).count();
            @let teachers: usize = d.sessions.iter().map(|s| s.checkins.len()).sum();
            @let expected: i64 = d.sessions.iter().map(|s| s.expected).sum();
            @let present: i64 = d.sessions.iter().map(|s| s.present).sum();
            @let absent: i64 = d.sessions.iter().map(|s| s.absent).sum();
            p.card #day-figures {
                "计划 " strong { (d.sessions.len()) } " 节 · 已开课（有教师签到） " strong { (held) } " 节 · 教师签到 "
                strong { (teachers) } " 人次 · 应到学生 " strong { (expected) } " · 已到 " strong { (present) }
                " · 缺勤 " strong { (absent) }
            }
        }
        p { a href=(web.link(&format!("{BASE}/report"))) id="report-link" { "教师签到月报（考勤考核） ›" } }
        @if d.missed > 0 {
            div.notice.error role="alert" #missed-count { (d.missed) " 节课签到时间已过仍无人签到" }
        }
        @if d.sessions.is_empty() {
            p.muted #no-sessions { "这一天没有课后服务" }
        } @else {
            div.table-wrap {
                table #sessions {
                    thead { tr {
                        th { "课程" } th { "时间" } th { "场地" } th { "教师" } th { "签到" }
                        th.num { "应到" } th.num { "已到" } th.num { "缺勤" }
                    } }
                    tbody {
                        @for s in &d.sessions {
                            tr.session data-course=(s.course_id) data-missed=(s.missed) id={ "session-" (s.course_id) } {
                                td { (s.name) }
                                td { (s.time) }
                                td { (s.venue.clone().unwrap_or_default()) }
                                td { (s.teachers.join("、")) }
                                td { (checkin_tag(s)) }
                                td.num { (s.expected) }
                                td.num { (s.present) }
                                td.num { (s.absent) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "签到规则" }
        form.stack method="post" action=(web.post_url(BASE)) id="rules-form" novalidate {
            (p.unplaced_notice())
            (field("开课前多少分钟起可以签到", "opens_before_min", html! {
                input type="number" id="opens_before_min" name="opens_before_min" min="0" max="120" value=(f.get("opens_before_min"));
            }, p.field("opens_before_min")))
            (field("开课后多少分钟内签到不算迟到", "late_after_min", html! {
                input type="number" id="late_after_min" name="late_after_min" min="0" max="60" value=(f.get("late_after_min"));
            }, p.field("late_after_min")))
            (field("学校位置：纬度（不检查位置可留空）", "latitude", html! {
                input type="text" id="latitude" name="latitude" value=(f.get("latitude")) placeholder="如 22.5176";
            }, p.field("latitude")))
            (field("学校位置：经度", "longitude", html! {
                input type="text" id="longitude" name="longitude" value=(f.get("longitude")) placeholder="如 113.3845";
            }, p.field("longitude")))
            (field("签到半径（米）", "radius_m", html! {
                input type="number" id="radius_m" name="radius_m" min="50" max="5000" value=(f.get("radius_m"));
            }, p.field("radius_m")))
            button type="submit" id="rules-submit" { "保存签到规则" }
        }
    };
    let status = if p.is_empty() {
        StatusCode::OK
    } else {
        p.status()
    };
    Ok(html_response(
        status,
        school_page(web, "签到与考勤", BASE, body),
    ))
}

#[handler]
async fn day_page(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    page(&web, &q, None, &FormError::none()).await
}

#[handler]
async fn rules_save(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let num = |k: &str| match f.get(k).trim() {
        "" => None,
        v => Some(v.parse::<f64>().unwrap_or(f64::NAN)),
    };
    let int = |k: &str, bad: i32| match f.get(k).trim() {
        "" => None,
        v => Some(v.parse::<i32>().unwrap_or(bad)),
    };
    let rules = AttendanceRules {
        opens_before_min: int("opens_before_min", -1).unwrap_or(-1),
        late_after_min: int("late_after_min", -1).unwrap_or(-1),
        latitude: num("latitude"),
        longitude: num("longitude"),
        radius_m: int("radius_m", 0),
    };
    let mut tx = web.school_tx(&RULES_UPDATE).await?;
    match service::set_rules(&mut tx, &actor(&web), &rules).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&format!("{BASE}?done=rules_saved"))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let api = crate::error::ApiError::from_domain(&e);
            let p = FormError::of("rules", &api, rules_control);
            page(&web, &DayQuery::default(), Some(&f), &p).await
        }
        Err(e) => Err(e.into()),
    }
}
