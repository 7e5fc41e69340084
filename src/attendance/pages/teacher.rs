//! The teacher's day on the phone (R-T05, R-T06): today's sessions with the 签到 button
//! (the same call as `POST /school/attendance/sessions/:course/:day/checkin`) and, per
//! session, the roll: each child with 已到 / 迟到 / 缺勤 / 早退 / 请假, saved in one go (as `PUT
//! …/roll`).

use chrono::NaiveDate;
use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::checkin_tag;
use crate::attendance::model::*;
use crate::attendance::perms::*;
use crate::attendance::service;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, when};
use crate::web::session::{see_other, Web};

pub(super) const BASE: &str = "/m/teacher/sessions";

pub fn mount(r: Route) -> Route {
    r.at(BASE, get(list))
        .at(format!("{BASE}/:course/:day/checkin"), post(checkin))
        .at(
            format!("{BASE}/:course/:day"),
            get(roll_page).post(roll_save),
        )
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
    done: Option<String>,
}

pub(super) fn parse_day(s: &str) -> Result<NaiveDate, WebError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| WebError::NotFound)
}

fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("checked_in") => "签到成功",
        Some("late") => "已签到（迟到）",
        Some("marked") => "点名已保存，已通知家长",
        Some("recorded") => "课堂记录已保存，家长可以看到",
        Some("photo") => "课堂照片已上传",
        Some("commented") => "点评已保存，家长可以看到",
        _ => return html! {},
    };
    html! { div.notice.ok id="done" { (text) } }
}

fn frame(web: &Web, title: &str, body: Markup) -> Markup {
    layout::mobile(
        web,
        title,
        "/m/teacher",
        html! {
            p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
            (body)
        },
    )
}

async fn list_page(web: &Web, q: &DayQuery, refused: Option<(i64, FormError)>) -> PageResult {
    let day = match q.day.as_deref() {
        Some(d) => Some(parse_day(d)?),
        None => None,
    };
    let mut tx = web.school_tx(&MY_SESSIONS).await?;
    let sessions = service::my_sessions(&mut tx, &actor(web), day).await?;
    tx.commit().await?;
    let day = day.unwrap_or_else(|| web.app.clock.today());
    let body = html! {
        (done_notice(q.done.as_deref()))
        h2 { (day) " 的课" }
        @if sessions.is_empty() { p.muted #no-sessions { "这一天您没有要上的课" } }
        @for s in &sessions {
            @let err = refused.as_ref().filter(|(c, _)| *c == s.course_id).map(|(_, e)| e);
            div.card.session id={ "session-" (s.course_id) } data-course=(s.course_id) {
                div.row { strong { (s.name) } (checkin_tag(s)) }
                small.muted { (s.time) @if let Some(v) = &s.venue { " · " (v) } " · 应到 " (s.expected) " 人" }
                @if let Some(e) = err {
                    div.notice.error role="alert" id={ "checkin-error-" (s.course_id) } data-code=(e.code) { (e.message) }
                }
                @if s.checkins.is_empty() {
                    form method="post" action=(web.post_url(&format!("{BASE}/{}/{}/checkin", s.course_id, s.day))) {
                        button type="submit" id={ "checkin-" (s.course_id) } { "签到" }
                        " " small.muted { (when(s.checkin_opens_at)) " 起可签到" }
                    }
                } @else {
                    p { a href=(web.link(&format!("{BASE}/{}/{}", s.course_id, s.day))) id={ "roll-link-" (s.course_id) } {
                        "点名（已点 " (s.marked) "/" (s.expected) "） ›"
                    } }
                }
            }
        }
    };
    let status = refused.as_ref().map_or(StatusCode::OK, |(_, e)| e.status());
    Ok(html_response(status, frame(web, "签到与点名", body)))
}

#[handler]
async fn list(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    list_page(&web, &q, None).await
}

#[handler]
async fn checkin(web: Web, Path((course, day)): Path<(i64, String)>) -> PageResult {
    let day = parse_day(&day)?;
    let mut tx = web.school_tx(&CHECKIN).await?;
    match service::check_in(
        &mut tx,
        &actor(&web),
        course,
        day,
        &CheckinRequest::default(),
    )
    .await
    {
        Ok(k) => {
            tx.commit().await?;
            let done = if k.late { "late" } else { "checked_in" };
            Ok(see_other(
                &web.link(&format!("{BASE}?day={day}&done={done}")),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let q = DayQuery {
                day: Some(day.to_string()),
                done: None,
            };
            list_page(&web, &q, Some((course, FormError::from_domain(&e)))).await
        }
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn roll_form(
    web: &Web,
    course: i64,
    day: NaiveDate,
    done: Option<&str>,
    refused: Option<&FormError>,
) -> PageResult {
    let mut tx = web.school_tx(&ROLL).await?;
    let r = service::roll(&mut tx, &actor(web), course, day).await?;
    web.authorize(&LESSON).await?;
    let (record, comments) =
        crate::attendance::lessons::session(&mut tx, &actor(web), course, day).await?;
    tx.commit().await?;
    let s = &r.session;
    let body = html! {
        (done_notice(done))
        div.card {
            div.row { strong #roll-course { (s.name) } (checkin_tag(s)) }
            small.muted { (s.day) " " (s.time) @if let Some(v) = &s.venue { " · " (v) } }
            p #roll-counts { "应到 " (s.expected) " · 已到 " (s.present) " · 缺勤 " (s.absent) }
        }
        @if let Some(e) = refused {
            div.notice.error role="alert" id="roll-error" data-code=(e.code) { (e.message) }
        }
        @if r.students.is_empty() {
            p.muted { "这节课没有已报名的学生" }
        } @else {
            form.stack method="post" action=(web.post_url(&format!("{BASE}/{course}/{day}"))) id="roll-form" {
                ul.list.card #roll {
                    @for st in &r.students {
                        @let current = st.mark.unwrap_or(Mark::Present);
                        li.roll-entry data-student=(st.student_id) data-mark=[st.mark.map(|m| m.as_str())] {
                            div.row {
                                span { strong { (st.name) } " " small.muted { (st.class_name) } }
                                @if st.abnormal { span.tag.bad { "未请假缺勤" } }
                            }
                            div.choices {
                                @for m in Mark::ALL {
                                    label {
                                        input type="radio" name={ "mark_" (st.student_id) } value=(m.as_str())
                                            id={ "mark-" (st.student_id) "-" (m.as_str()) } checked[*m == current];
                                        " " (m.label())
                                    }
                                }
                            }
                        }
                    }
                }
                button type="submit" id="roll-submit" { "保存点名" }
                small.muted { " 保存后会通知家长；未请假缺勤会同时提醒班主任" }
            }
        }
        (super::lessons::section(web, course, day, record.as_ref(), &comments, &r.students))
        p { a href=(web.link(&format!("{BASE}?day={day}"))) { "‹ 当天的课" } }
    };
    let status = refused.map_or(StatusCode::OK, FormError::status);
    Ok(html_response(status, frame(web, "点名", body)))
}

#[handler]
async fn roll_page(
    web: Web,
    Path((course, day)): Path<(i64, String)>,
    Query(q): Query<DayQuery>,
) -> PageResult {
    roll_form(&web, course, parse_day(&day)?, q.done.as_deref(), None).await
}

#[handler]
async fn roll_save(web: Web, Path((course, day)): Path<(i64, String)>, body: String) -> PageResult {
    let day = parse_day(&day)?;
    let f = Posted::parse(&body);
    let marks: Vec<MarkInput> = f
        .pairs()
        .filter_map(|(k, v)| {
            let id = k.strip_prefix("mark_")?.parse().ok()?;
            Some(MarkInput {
                student_id: id,
                mark: v.to_string(),
            })
        })
        .collect();
    let mut tx = web.school_tx(&MARK).await?;
    match service::mark(&mut tx, &actor(&web), course, day, &RollInput { marks }).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("{BASE}/{course}/{day}?done=marked")),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            roll_form(&web, course, day, None, Some(&FormError::from_domain(&e))).await
        }
        Err(e) => Err(e.into()),
    }
}
