//! Where the children are today (R-T08): the homeroom teacher's classes on the phone
//! (`/m/teacher/whereabouts`) and the school, or one class, in the console
//! (`/console/whereabouts`), as `GET /school/attendance/whereabouts`.

use maud::{html, Markup};
use poem::web::Query;
use poem::{get, handler, Route};
use serde::Deserialize;

use crate::attendance::model::{ChildWhereabouts, Mark, Whereabouts};
use crate::attendance::perms::WHEREABOUTS;
use crate::attendance::whereabouts::whereabouts;
use crate::school::perms as school_perms;
use crate::school::service as school;
use crate::web::forms::actor;
use crate::web::frame::{page, PageResult};
use crate::web::layout;
use crate::web::nav::school_page;
use crate::web::session::Web;

const MOBILE: &str = "/m/teacher/whereabouts";
const CONSOLE: &str = "/console/whereabouts";

pub fn mount(r: Route) -> Route {
    r.at(MOBILE, get(mobile)).at(CONSOLE, get(console))
}

#[derive(Debug, Default, Deserialize)]
struct ClassQuery {
    class: Option<String>,
    day: Option<String>,
}

fn mark_tag(m: Option<Mark>, label: &str) -> Markup {
    let class = match m {
        Some(Mark::Absent) => "tag bad",
        Some(Mark::Late | Mark::LeftEarly | Mark::Leave) => "tag warn",
        Some(Mark::Present) => "tag",
        None => "tag grey",
    };
    html! { span class=(class) { (label) } }
}

fn summary(w: &Whereabouts) -> Markup {
    html! {
        p.muted #whereabouts-summary {
            (w.day) " · 共 " (w.children.len()) " 人，今天有课后服务 " (w.with_sessions) " 人"
            @if w.absent > 0 { "，" span.tag.bad { (w.absent) " 人缺勤" } }
        }
    }
}

fn child_sessions(c: &ChildWhereabouts) -> Markup {
    html! {
        @if c.sessions.is_empty() { span.muted { "今天没有课后服务" } }
        @for s in &c.sessions {
            div.session {
                (s.time) " " strong { (s.name) }
                @if let Some(v) = &s.venue { " · " (v) }
                @if !s.teachers.is_empty() { " · " (s.teachers.join("、")) }
                " " (mark_tag(s.mark, &s.mark_label))
            }
        }
    }
}

#[handler]
async fn mobile(web: Web) -> PageResult {
    let mut tx = web.school_tx(&WHEREABOUTS).await?;
    let w = whereabouts(&mut tx, &actor(&web), None, None).await?;
    tx.commit().await?;
    page(layout::mobile(
        &web,
        "学生去向",
        "/m/teacher",
        html! {
            p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
            (summary(&w))
            @if w.children.is_empty() { p.muted #no-children { "您目前没有担任班主任的班级" } }
            ul.list.card #whereabouts {
                @for c in &w.children {
                    li.child data-student=(c.student_id) data-sessions=(c.sessions.len()) {
                        div.row { strong { (c.name) } small.muted { (c.class_name) } }
                        (child_sessions(c))
                    }
                }
            }
        },
    ))
}

#[handler]
async fn console(web: Web, Query(q): Query<ClassQuery>) -> PageResult {
    let class = q.class.as_deref().and_then(|c| c.trim().parse().ok());
    let day = q
        .day
        .as_deref()
        .filter(|d| !d.trim().is_empty())
        .map(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d"))
        .transpose()
        .map_err(|_| crate::web::frame::WebError::NotFound)?;
    let mut tx = web.school_tx(&WHEREABOUTS).await?;
    let w = whereabouts(&mut tx, &actor(&web), day, class).await?;
    web.authorize(&school_perms::CLASSES).await?;
    let grades = school::grades_with_classes(&mut tx, false)
        .await
        .map_err(crate::error::ApiError::from)?;
    tx.commit().await?;
    page(school_page(
        &web,
        "学生去向",
        CONSOLE,
        html! {
            form.inline method="get" action=(web.link(CONSOLE)) id="class-form" {
                label for="day" { "日期 " }
                input type="date" id="day" name="day" value=(w.day);
                " "
                label for="class" { "班级 " }
                select id="class" name="class" {
                    option value="" { "全校" }
                    @for g in &grades {
                        optgroup label=(g.name) {
                            @for k in &g.classes {
                                option value=(k.id) selected[class == Some(k.id)] { (k.name) }
                            }
                        }
                    }
                }
                " "
                button.secondary type="submit" id="class-submit" { "查看" }
            }
            (summary(&w))
            div.table-wrap {
                table #whereabouts {
                    thead { tr { th { "学生" } th { "班级" } th { "今天的课后服务（时间 · 课程 · 场地 · 教师 · 考勤）" } } }
                    tbody {
                        @for c in &w.children {
                            tr.child data-student=(c.student_id) data-sessions=(c.sessions.len()) {
                                td { (c.name) }
                                td { (c.class_name) }
                                td.wrap { (child_sessions(c)) }
                            }
                        }
                    }
                }
            }
        },
    ))
}
