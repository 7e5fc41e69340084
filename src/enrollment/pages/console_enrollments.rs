//! The school's enrollment status (R-T03 for the whole school), filtered by course or class,
//! with the two things the school does to one enrollment: record an offline payment (a held
//! place becomes confirmed) and cancel it with a reason (R-P05's school side: a paid place
//! is refunded through the payments service after commit, as the API does).

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::courses::perms as course_perms;
use crate::courses::service::{self as courses, CourseQuery};
use crate::enrollment::model::{CourseEnrollmentStatus, EnrollmentStatus};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::requests;
use crate::enrollment::service as enroll;
use crate::enrollment::staff;
use crate::kernel::actor::Actor;
use crate::school::service as school;
use crate::web::forms::{err_at, is_domain_refusal, FormError};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{field, notice, when, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/enrollments", get(status_page))
        .at("/console/enrollments/:id/confirm", post(confirm_submit))
        .at("/console/enrollments/:id/cancel", post(cancel_submit))
}

const NAV: &str = "/console/enrollments";

#[derive(Debug, Default, Deserialize)]
struct StatusQuery {
    /// Course id (empty: every course).
    course: Option<String>,
    /// Class id (empty: every class).
    class: Option<String>,
    done: Option<String>,
}

impl StatusQuery {
    fn course_id(&self) -> Option<i64> {
        self.course.as_deref().and_then(|s| s.trim().parse().ok())
    }

    fn class_id(&self) -> Option<i64> {
        self.class.as_deref().and_then(|s| s.trim().parse().ok())
    }

    /// The filters as a query string, for links and redirects back to the same view.
    fn filters(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = self.course_id() {
            parts.push(format!("course={c}"));
        }
        if let Some(c) = self.class_id() {
            parts.push(format!("class={c}"));
        }
        parts.join("&")
    }

    fn back(&self, done: &str) -> String {
        let f = self.filters();
        if f.is_empty() {
            format!("{NAV}?done={done}")
        } else {
            format!("{NAV}?{f}&done={done}")
        }
    }
}

/// A refused action on one enrollment, and the reason as typed.
struct RowError {
    enrollment_id: i64,
    error: FormError,
    reason: String,
}

fn done_notice(done: Option<&str>) -> Markup {
    match done {
        Some("confirmed") => notice(Tone::Ok, "已确认线下缴费，报名已生效"),
        Some("cancelled") => notice(
            Tone::Ok,
            "已取消报名，名额已释放；已在线支付的款项将原路退回",
        ),
        _ => html! {},
    }
}

fn student_rows(
    web: &Web,
    q: &StatusQuery,
    c: &CourseEnrollmentStatus,
    err: Option<&RowError>,
) -> Markup {
    let filters = q.filters();
    let action = |eid: i64, what: &str| {
        let path = format!("/console/enrollments/{eid}/{what}");
        if filters.is_empty() {
            web.post_url(&path)
        } else {
            web.post_url(&format!("{path}?{filters}"))
        }
    };
    html! {
        @for s in &c.students {
            @let mine = err.filter(|e| e.enrollment_id == s.enrollment_id);
            @let reason_err = mine.and_then(|e| err_at(Some(&e.error), "reason"));
            @let other_err = mine.filter(|e| e.error.field != "reason");
            tr data-enrollment=(s.enrollment_id) data-status=(s.status) {
                td { (s.name) }
                td { (s.class_name) @if let Some(a) = &s.class_alias { br; small.muted { (a) } } }
                td {
                    span class={ "tag" @if s.status == EnrollmentStatus::Held.as_str() { " warn" } } { (s.status_label) }
                    @if let Some(t) = s.hold_expires_at { br; small.muted { "保留至 " (when(t)) } }
                }
                td.wrap {
                    @if s.status == EnrollmentStatus::Held.as_str() {
                        form.inline method="post" action=(action(s.enrollment_id, "confirm")) {
                            button.secondary type="submit" id={ "confirm-" (s.enrollment_id) } { "确认线下缴费" }
                        }
                    }
                    form.cancel-form method="post" action=(action(s.enrollment_id, "cancel")) {
                        (field("取消原因（家长可见）", &format!("reason-{}", s.enrollment_id), html! {
                            input type="text" id={ "reason-" (s.enrollment_id) } name="reason" maxlength="500"
                                value=(mine.map(|e| e.reason.as_str()).unwrap_or(""));
                        }, reason_err))
                        button.danger type="submit" id={ "cancel-" (s.enrollment_id) } { "取消报名" }
                    }
                    @if let Some(e) = other_err {
                        div.error role="alert" id={ "enrollment-" (s.enrollment_id) "-error" } data-code=(e.error.code) { (e.error.message) }
                    }
                }
            }
        }
    }
}

async fn render(web: &Web, q: &StatusQuery, err: Option<RowError>) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::STATUS).await?;
    let view =
        staff::enrollment_status(&web.app, &web.auth, &mut tx, q.course_id(), q.class_id()).await?;
    // The filter's choices: the courses and classes the status can be narrowed to.
    web.authorize(&course_perms::LIST).await?;
    let who = Actor {
        st: &web.app,
        auth: &web.auth,
    };
    let courses = courses::list(&mut tx, &who, &CourseQuery::default()).await?;
    let grades = school::grades_with_classes(&mut tx, false).await?;
    tx.commit().await?;
    let course = q.course_id().map(|c| c.to_string()).unwrap_or_default();
    let class = q.class_id().map(|c| c.to_string()).unwrap_or_default();
    let status = err.as_ref().map_or(StatusCode::OK, |e| e.error.status);
    let body = school_page(
        web,
        "报名管理",
        NAV,
        html! {
            (done_notice(q.done.as_deref()))
            form.card method="get" action=(web.link(NAV)) {
                div.filters {
                    (field("课程", "course", html! {
                        select id="course" name="course" {
                            option value="" { "全部课程" }
                            @for c in &courses {
                                option value=(c.id) selected[c.id.to_string() == course] { (c.name) }
                                @for s in &c.sub_items {
                                    option value=(s.id) selected[s.id.to_string() == course] { "└ " (s.name) }
                                }
                            }
                        }
                    }, None))
                    (field("班级", "class", html! {
                        select id="class" name="class" {
                            option value="" { "全部班级" }
                            @for g in &grades {
                                @for k in &g.classes {
                                    option value=(k.id) selected[k.id.to_string() == class] {
                                        (k.name) @if let Some(a) = &k.alias { "（" (a) "）" }
                                    }
                                }
                            }
                        }
                    }, None))
                }
                button type="submit" id="filter-submit" { "筛选" }
            }
            p #enrollment-totals { "待支付 " strong { (view.held) } " 人，已报名 " strong { (view.confirmed) } " 人" }
            @if view.courses.is_empty() { p.muted { "没有符合条件的报名" } }
            @for c in &view.courses {
                div.card.course-status data-course=(c.course_id) {
                    div.row {
                        h3 { a href=(web.link(&format!("/console/courses/{}", c.course_id))) { (c.name) } }
                    }
                    p.muted {
                        (c.schedule) @if let Some(v) = &c.venue { " · " (v) }
                        " · 全校已占 " (c.taken) " / " (c.capacity)
                        " · 待支付 " (c.held) " · 已报名 " (c.confirmed)
                    }
                    @if c.students.is_empty() { p.muted { "暂无报名" } }
                    @else {
                        div.table-wrap {
                            table {
                                thead { tr { th { "学生" } th { "班级" } th { "状态" } th { "操作" } } }
                                tbody { (student_rows(web, q, c, err.as_ref())) }
                            }
                        }
                    }
                }
            }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn status_page(web: Web, Query(q): Query<StatusQuery>) -> PageResult {
    render(&web, &q, None).await
}

#[handler]
async fn confirm_submit(web: Web, Path(id): Path<i64>, Query(q): Query<StatusQuery>) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::CONFIRM).await?;
    match enroll::confirm(&web.app, &web.auth, &mut tx, id).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&q.back("confirmed"))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let row = RowError {
                enrollment_id: id,
                error: FormError::from_domain(&e),
                reason: String::new(),
            };
            render(&web, &q, Some(row)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CancelForm {
    #[serde(default)]
    reason: String,
}

#[handler]
async fn cancel_submit(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<StatusQuery>,
    Form(f): Form<CancelForm>,
) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::CANCEL_BY_SCHOOL).await?;
    match requests::cancel_by_school(&web.app, &web.auth, &mut tx, id, &f.reason).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&q.back("cancelled"))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let row = RowError {
                enrollment_id: id,
                error: FormError::from_domain(&e),
                reason: f.reason,
            };
            render(&web, &q, Some(row)).await
        }
        Err(e) => Err(e.into()),
    }
}
