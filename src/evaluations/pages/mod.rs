//! The pages of evaluations: the parent's ratings on the phone (`/m/evaluations`) and the
//! admin's summary in the console (`/console/evaluations`). Every page calls the same
//! service function, with the same permission, as the endpoint of `evaluations::api` it
//! mirrors; refusals come from the service and are shown in Chinese next to their field.

use maud::html;
use poem::http::StatusCode;
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};

use crate::enrollment::pages::parent::{child_switcher, family, ChildQuery};
use crate::evaluations::model::*;
use crate::evaluations::perms::*;
use crate::evaluations::service;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{self, when};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const MOBILE: &str = "/m/evaluations";
const CONSOLE: &str = "/console/evaluations";

pub fn mount(r: Route) -> Route {
    r.at(MOBILE, get(parent_list))
        .at(format!("{MOBILE}/:course"), post(parent_rate))
        .at(CONSOLE, get(console_summary))
}

/// A refused rating: the course it was for, the form as typed, the refusal.
struct Refused {
    course: i64,
    typed: Posted,
    p: FormError,
}

async fn parent_page(web: &Web, q: &ChildQuery, r: Option<&Refused>) -> PageResult {
    let fam = match family(web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&CHILD).await?;
    let courses = service::of_child(&mut tx, &actor(web), child.id).await?;
    tx.commit().await?;
    let body = html! {
        @if q.done.as_deref() == Some("rated") { div.notice.ok id="done" { "评价已提交，谢谢您的反馈" } }
        (child_switcher(web, &fam.list, child, MOBILE))
        @if courses.is_empty() { p.muted #no-courses { "孩子目前没有在上的课程，报名并上课后可以评价" } }
        @for c in &courses {
            @let mine = r.filter(|r| r.course == c.course_id);
            @let score = match (mine, &c.evaluation) {
                (Some(m), _) => m.typed.get("score").to_string(),
                (None, Some(e)) => e.score.to_string(),
                _ => String::new(),
            };
            @let content = match (mine, &c.evaluation) {
                (Some(m), _) => m.typed.get("content").to_string(),
                (None, Some(e)) => e.content.clone(),
                _ => String::new(),
            };
            div.card.evaluation id={ "course-" (c.course_id) } data-course=(c.course_id) {
                div.row {
                    strong { (c.course_name) }
                    @if let Some(e) = &c.evaluation { span.tag data-score=(e.score) { "已评价 " (e.score) " 分" } }
                    @else { span.tag.grey { "未评价" } }
                }
                small.muted { (c.term_name) @if !c.teachers.is_empty() { " · " (c.teachers.join("、")) } }
                form.stack method="post" action=(web.post_url(&format!("{MOBILE}/{}?child={}", c.course_id, child.id))) id={ "rate-" (c.course_id) } novalidate {
                    @if let Some(m) = mine { (m.p.unplaced_notice()) }
                    div.choices {
                        @for n in 1..=5 {
                            label {
                                input type="radio" name="score" value=(n) id={ "score-" (c.course_id) "-" (n) } checked[score == n.to_string()];
                                " " (n) " 分"
                            }
                        }
                    }
                    @if let Some(m) = mine.and_then(|m| m.p.field("score")) { div.error id={ "score-" (c.course_id) "-error" } role="alert" { (m) } }
                    textarea name="content" id={ "content-" (c.course_id) } rows="3" maxlength=(CONTENT_MAX) placeholder="说说孩子上课的收获或建议（可不填）" { (content) }
                    @if let Some(m) = mine.and_then(|m| m.p.field("content")) { div.error id={ "content-" (c.course_id) "-error" } role="alert" { (m) } }
                    button type="submit" id={ "rate-submit-" (c.course_id) } {
                        @if c.evaluation.is_some() { "修改评价" } @else { "提交评价" }
                    }
                }
            }
        }
    };
    let status = r.map_or(StatusCode::OK, |r| r.p.status());
    Ok(html_response(
        status,
        layout::mobile(web, "课程评价", "/m", body),
    ))
}

#[handler]
async fn parent_list(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    parent_page(&web, &q, None).await
}

#[handler]
async fn parent_rate(
    web: Web,
    Path(course): Path<i64>,
    Query(q): Query<ChildQuery>,
    body: String,
) -> PageResult {
    let f = Posted::parse(&body);
    let child = q.child.unwrap_or_default();
    let input = EvaluationInput {
        course_id: Some(course),
        score: f.get("score").trim().parse().unwrap_or(0),
        content: f.get("content").to_string(),
    };
    let mut tx = web.school_tx(&CHILD).await?;
    let who = actor(&web);
    let existing = service::of_child(&mut tx, &who, child)
        .await?
        .into_iter()
        .find(|c| c.course_id == course)
        .and_then(|c| c.evaluation);
    let result = match existing {
        Some(e) => {
            web.authorize(&UPDATE).await?;
            service::update(&mut tx, &who, e.id, &input).await
        }
        None => {
            web.authorize(&CREATE).await?;
            service::create(&mut tx, &who, child, &input).await
        }
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&format!(
                "{MOBILE}?child={child}&done=rated#course-{course}"
            ))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let r = Refused {
                course,
                typed: f,
                p: FormError::from_domain(&e),
            };
            parent_page(&web, &q, Some(&r)).await
        }
        Err(e) => Err(e.into()),
    }
}

fn average(a: Option<f64>) -> String {
    a.map_or("—".to_string(), |a| format!("{a:.1}"))
}

#[handler]
async fn console_summary(web: Web) -> PageResult {
    let mut tx = web.school_tx(&SUMMARY).await?;
    let s = service::summary(&mut tx).await?;
    tx.commit().await?;
    let body = html! {
        h2 { "各课程评分" }
        @if s.courses.is_empty() { p.muted #no-evaluations { "还没有家长评价" } }
        @else {
            div.table-wrap {
                table #course-scores {
                    thead { tr { th { "课程" } th { "教师" } th.num { "评价数" } th.num { "平均分" } th { "最近的评价" } } }
                    tbody {
                        @for c in &s.courses {
                            tr data-course=(c.course_id) {
                                td { (c.course_name) }
                                td { (c.teachers.join("、")) }
                                td.num { (c.count) }
                                td.num { (average(c.average)) }
                                td.wrap {
                                    @for m in &c.comments { div { span.tag { (m.score) " 分" } " " (m.content) " " small.muted { (when(m.at)) } } }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "各教师评分" }
            div.table-wrap {
                table #teacher-scores {
                    thead { tr { th { "教师" } th.num { "课程数" } th.num { "评价数" } th.num { "平均分" } } }
                    tbody {
                        @for t in &s.teachers {
                            tr { td { (t.teacher_name) } td.num { (t.courses) } td.num { (t.count) } td.num { (average(t.average)) } }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        StatusCode::OK,
        school_page(&web, "课程评价", CONSOLE, body),
    ))
}
