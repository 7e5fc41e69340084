//! Inspections (巡课): the inspector's phone page (`/m/teacher/inspections`) with the
//! school's sessions of the day, a form per session for what was seen, and their own
//! records of the day with a photo each; the admin's list in the console
//! (`/console/inspections`). The same service calls and permissions as
//! `/school/inspections…`.

use chrono::NaiveDate;
use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, Response, Route};
use serde::Deserialize;

use crate::attendance::inspections as svc;
use crate::attendance::model::{InspectionView, NewInspection};
use crate::attendance::perms::*;
use crate::attendance::service;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, when};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const MOBILE: &str = "/m/teacher/inspections";
const CONSOLE: &str = "/console/inspections";

pub fn mount(r: Route) -> Route {
    r.at(MOBILE, get(mobile).post(create))
        .at(
            format!("{MOBILE}/:id/picture"),
            get(picture).post(picture_add),
        )
        .at(format!("{CONSOLE}/:id/picture"), get(picture))
        .at(CONSOLE, get(console))
}

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    day: Option<String>,
    done: Option<String>,
}

fn day_of(q: &DayQuery) -> Result<Option<NaiveDate>, WebError> {
    q.day
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
        .transpose()
        .map_err(|_| WebError::NotFound)
}

fn record_card(web: &Web, base: &str, r: &InspectionView, upload: bool) -> Markup {
    html! {
        div.card.inspection id={ "inspection-" (r.id) } {
            div.row { strong { (r.course_name) } small.muted { (when(r.observed_at)) " · " (r.inspector_name) } }
            p style="white-space:pre-wrap" { (r.notes) }
            @if r.picture.is_some() {
                div.pictures { img src=(web.link(&format!("{base}/{}/picture", r.id))) alt="巡课照片" loading="lazy"; }
            }
            @if upload {
                form.inline method="post" enctype="multipart/form-data" action=(web.post_url(&format!("{MOBILE}/{}/picture", r.id))) {
                    input type="file" name="file" id={ "photo-" (r.id) } accept="image/jpeg,image/png,image/webp";
                    " "
                    button.secondary type="submit" id={ "photo-submit-" (r.id) } {
                        @if r.picture.is_some() { "更换照片" } @else { "上传照片" }
                    }
                }
            }
        }
    }
}

/// A refusal on the inspector's page: of a session's form (with the notes as typed) or
/// of a photo.
struct Refused {
    course: Option<i64>,
    notes: String,
    p: FormError,
}

async fn mobile_page(web: &Web, q: &DayQuery, r: Option<&Refused>) -> PageResult {
    let day = day_of(q)?;
    let mut tx = web.school_tx(&INSPECTION_SESSIONS).await?;
    let d = service::day(&mut tx, &actor(web), day).await?;
    web.authorize(&INSPECTIONS).await?;
    let mine = svc::list(&mut tx, &actor(web), Some(d.day)).await?;
    tx.commit().await?;
    let body = html! {
        p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
        @match q.done.as_deref() {
            Some("recorded") => div.notice.ok id="done" { "巡课记录已保存，可以再上传一张照片" },
            Some("photo") => div.notice.ok id="done" { "照片已上传" },
            _ => {},
        }
        @if let Some(r) = r.filter(|r| r.course.is_none()) {
            div.notice.error role="alert" id="photo-error" data-code=(r.p.code) { (r.p.message) }
        }
        h2 { (d.day) " 的课" }
        @if d.sessions.is_empty() { p.muted #no-sessions { "这一天没有课后服务" } }
        @for s in &d.sessions {
            @let mine_r = r.filter(|r| r.course == Some(s.course_id));
            div.card.session id={ "session-" (s.course_id) } {
                div.row { strong { (s.name) } small.muted { (s.time) } }
                small.muted {
                    @if let Some(v) = &s.venue { (v) " · " }
                    (s.teachers.join("、")) " · 应到 " (s.expected) " 人"
                    @if s.checkins.is_empty() { " · 教师未签到" } @else { " · 教师已签到" }
                }
                form.stack method="post" action=(web.post_url(&format!("{MOBILE}?day={}", d.day))) id={ "inspect-" (s.course_id) } novalidate {
                    input type="hidden" name="course_id" value=(s.course_id);
                    textarea name="notes" id={ "notes-" (s.course_id) } rows="2" maxlength="500" placeholder="所见情况，如 到课 18 人，课堂秩序良好" {
                        @if let Some(m) = mine_r { (m.notes) }
                    }
                    @if let Some(m) = mine_r {
                        div.error role="alert" id={ "notes-" (s.course_id) "-error" } { (m.p.message) }
                    }
                    button.secondary type="submit" id={ "inspect-submit-" (s.course_id) } { "记录巡课" }
                }
            }
        }
        h2 { "我的巡课记录" }
        @if mine.is_empty() { p.muted #no-inspections { "这一天还没有巡课记录" } }
        @for i in &mine { (record_card(web, MOBILE, i, true)) }
    };
    let status = r.map_or(StatusCode::OK, |r| r.p.status());
    Ok(html_response(
        status,
        layout::mobile(web, "巡课", "/m/teacher", body),
    ))
}

#[handler]
async fn mobile(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    mobile_page(&web, &q, None).await
}

#[handler]
async fn create(web: Web, Query(q): Query<DayQuery>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let day = day_of(&q)?.unwrap_or_else(|| web.app.clock.today());
    let course = f.id("course_id").unwrap_or_default();
    let req = NewInspection {
        course_id: course,
        day,
        notes: f.get("notes").to_string(),
    };
    let mut tx = web.school_tx(&INSPECTION_CREATE).await?;
    match svc::create(&mut tx, &actor(&web), &req).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("{MOBILE}?day={day}&done=recorded")),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let r = Refused {
                course: Some(course),
                notes: req.notes,
                p: FormError::from_domain(&e),
            };
            mobile_page(&web, &q, Some(&r)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn picture_add(web: Web, Path(id): Path<i64>, mut form: Multipart) -> PageResult {
    let mut tx = web.school_tx(&INSPECTION_PICTURE_ADD).await?;
    let refused = |p: FormError| Refused {
        course: None,
        notes: String::new(),
        p,
    };
    let upload = match crate::courses::pages::read_upload(&mut form).await {
        Ok(u) => u,
        Err(fe) => {
            drop(tx);
            return mobile_page(&web, &DayQuery::default(), Some(&refused(fe))).await;
        }
    };
    match svc::set_picture(&mut tx, &actor(&web), id, upload).await {
        Ok(v) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("{MOBILE}?day={}&done=photo", v.day)),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            mobile_page(
                &web,
                &DayQuery::default(),
                Some(&refused(FormError::from_domain(&e))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn picture(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&INSPECTION_PICTURE).await?;
    let obj = svc::picture(&mut tx, &actor(&web), id).await?;
    tx.commit().await?;
    Ok(Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(obj.body.to_vec()))
}

#[handler]
async fn console(web: Web, Query(q): Query<DayQuery>) -> PageResult {
    let day = day_of(&q)?;
    let mut tx = web.school_tx(&INSPECTIONS).await?;
    let list = svc::list(&mut tx, &actor(&web), day).await?;
    tx.commit().await?;
    let body = html! {
        form.inline method="get" action=(web.link(CONSOLE)) id="day-form" {
            label for="day" { "日期 " }
            input type="date" id="day" name="day" value=[day];
            " "
            button.secondary type="submit" { "查看" }
            " "
            a href=(web.link(CONSOLE)) { "全部" }
        }
        @if list.is_empty() { p.muted #no-inspections { "没有巡课记录" } }
        div #inspections {
            @for i in &list { (record_card(&web, CONSOLE, i, false)) }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        school_page(&web, "巡课记录", CONSOLE, body),
    ))
}
