//! The stop desks (R-T10): the homeroom teacher on the phone (`/m/teacher/meal-stops`, next
//! to the withdrawal review of `/m/teacher/requests`) and the school admin in the console
//! (`/console/meals/stops`) see the stops waiting in their scope, approve them or reject
//! them with a comment, see the ones decided lately, and register a stop for a student
//! directly (approved at once). One set of handlers serves both desks ([`Desk`]); only the
//! frame and the student picker differ: a teacher picks among the children of their
//! classes, an admin picks a class first, then any of its children.
//!
//! The same service calls and permissions as `GET /school/meals/stops`, `POST
//! …/stops/:id/approve|reject` and `POST /school/meals/stops/register`; the students come
//! from the people service's scoped list (`GET /school/students`). Must never decide a
//! stop or a scope here.

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::catalogue_form::refused_notice;
use super::done_notice;
use super::stops::{days_text, new_stop, register_control, stop_dates, stop_fields, stop_tag};
use crate::error::ApiError;
use crate::meals::model::{MealStopPage, MealStopView, StopFilter, StopReview, StopStatus};
use crate::meals::perms::*;
use crate::meals::service;
use crate::people::model::{StudentStatus, StudentView};
use crate::people::perms as people_perms;
use crate::people::service::{self as people, StudentQuery};
use crate::school::model::GradeView;
use crate::school::perms as school_perms;
use crate::school::service as school;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{self, field, when, yuan};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

const MOBILE: &str = "/m/teacher/meal-stops";
const CONSOLE: &str = "/console/meals/stops";
/// How many waiting stops the desk lists at most (the count says how many more wait).
const PENDING: i64 = 200;
/// How many decided stops the desk shows under the waiting ones.
const RECENT: i64 = 20;

pub fn mount(r: Route) -> Route {
    r.at(MOBILE, get(mobile_list))
        .at(format!("{MOBILE}/register"), post(mobile_register))
        .at(format!("{MOBILE}/:id/approve"), post(mobile_approve))
        .at(format!("{MOBILE}/:id/reject"), post(mobile_reject))
        .at(CONSOLE, get(console_list))
        .at(format!("{CONSOLE}/register"), post(console_register))
        .at(format!("{CONSOLE}/:id/approve"), post(console_approve))
        .at(format!("{CONSOLE}/:id/reject"), post(console_reject))
}

/// Where a reviewer works: the homeroom teacher's phone or the school's console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Desk {
    Mobile,
    Console,
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Mobile => MOBILE,
            Desk::Console => CONSOLE,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct DeskQuery {
    /// The console's class whose students the register form offers.
    class: Option<String>,
    done: Option<String>,
}

impl DeskQuery {
    fn class_id(&self) -> Option<i64> {
        self.class.as_deref().and_then(|c| c.trim().parse().ok())
    }

    /// `?class=…` (or nothing) to keep the chosen class across a post.
    fn keep(&self) -> String {
        self.class_id()
            .map(|c| format!("?class={c}"))
            .unwrap_or_default()
    }
}

/// A refused approve or reject, shown on the stop it was about with the comment as typed.
struct ReviewFailure {
    stop_id: i64,
    comment: String,
    p: FormError,
}

/// What the desk shows again after a refusal: a review, or the register form as typed.
#[derive(Default)]
struct Refused {
    review: Option<ReviewFailure>,
    typed: Posted,
    register: Option<FormError>,
}

fn review_control(f: &str) -> Option<&'static str> {
    match f {
        "COMMENT_INVALID" => Some("comment"),
        _ => None,
    }
}

/// What the desk lists: the waiting stops, the latest decided ones, the students the
/// register form offers and (on the console) the classes to pick them from.
struct DeskData {
    pending: MealStopPage,
    decided: Vec<MealStopView>,
    students: Vec<StudentView>,
    grades: Vec<GradeView>,
}

async fn load(
    web: &Web,
    desk: Desk,
    class: Option<i64>,
) -> Result<DeskData, crate::web::frame::WebError> {
    let who = actor(web);
    let mut tx = web.school_tx(&STOPS).await?;
    // The console's chosen class narrows the lists too; a teacher's scope is their classes.
    let filter = |statuses: Vec<StopStatus>, limit: i64| StopFilter {
        statuses,
        class_id: class.filter(|_| desk == Desk::Console),
        limit,
        offset: 0,
    };
    let pending =
        service::stops(&mut tx, &who, &filter(vec![StopStatus::Pending], PENDING)).await?;
    let decided = service::stops(
        &mut tx,
        &who,
        &filter(vec![StopStatus::Approved, StopStatus::Rejected], RECENT),
    )
    .await?
    .items;
    let grades = if desk == Desk::Console {
        web.authorize(&school_perms::CLASSES).await?;
        school::grades_with_classes(&mut tx, false).await?
    } else {
        Vec::new()
    };
    // A teacher picks among the children of their classes; an admin among one class's.
    let students = if desk == Desk::Mobile || class.is_some() {
        web.authorize(&people_perms::STUDENT_LIST).await?;
        let q = StudentQuery {
            class_id: class,
            status: Some(StudentStatus::Active.as_str().into()),
            q: None,
            limit: 500,
            offset: 0,
        };
        people::list_students(&web.app, &web.auth, &mut tx, &q)
            .await?
            .items
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok(DeskData {
        pending,
        decided,
        students,
        grades,
    })
}

fn class_text(name: &str, alias: Option<&str>) -> String {
    match alias.filter(|a| !a.is_empty()) {
        Some(a) => format!("{name}（{a}）"),
        None => name.to_string(),
    }
}

/// 批准 and 驳回 of one waiting stop: one comment box (needed to reject), two buttons.
fn review_form(web: &Web, desk: Desk, q: &DeskQuery, s: &MealStopView, r: &Refused) -> Markup {
    let mine = r.review.as_ref().filter(|f| f.stop_id == s.id);
    let url =
        |verdict: &str| web.post_url(&format!("{}/{}/{verdict}{}", desk.base(), s.id, q.keep()));
    let name = format!("comment-{}", s.id);
    html! {
        @if let Some(f) = mine { (f.p.notice("review")) }
        form.review method="post" action=(url("approve")) id={ "review-" (s.id) } novalidate {
            (field("审批意见（驳回时必填）", &name, html! {
                input type="text" id=(name) name="comment" maxlength="200" value=[mine.map(|f| f.comment.as_str())] placeholder="如 同意";
            }, mine.and_then(|f| f.p.field("comment"))))
            div.toolbar {
                button type="submit" id={ "approve-" (s.id) } { "批准" }
                button.danger type="submit" id={ "reject-" (s.id) } formaction=(url("reject")) { "驳回" }
            }
        }
    }
}

/// The student picker of the register form: a teacher's children grouped by class.
fn student_select(students: &[StudentView], chosen: &str) -> Markup {
    let mut classes: Vec<(i64, String)> = Vec::new();
    for s in students {
        if !classes.iter().any(|(id, _)| *id == s.class_id) {
            classes.push((
                s.class_id,
                class_text(&s.class_name, s.class_alias.as_deref()),
            ));
        }
    }
    html! {
        select id="student" name="student" {
            option value="" { "请选择学生" }
            @for (id, label) in &classes {
                optgroup label=(label) {
                    @for s in students.iter().filter(|s| s.class_id == *id) {
                        option value=(s.id) selected[s.id.to_string() == chosen] { (s.name) }
                    }
                }
            }
        }
    }
}

/// The console's class choice for the register form (a plain GET form).
fn class_picker(web: &Web, grades: &[GradeView], chosen: Option<i64>) -> Markup {
    html! {
        form.toolbar method="get" action=(web.link(CONSOLE)) id="stop-class-form" {
            label.inline for="class" { "班级" }
            select id="class" name="class" style="width:auto" {
                option value="" { "请选择班级" }
                @for g in grades {
                    optgroup label=(g.name) {
                        @for c in &g.classes {
                            option value=(c.id) selected[Some(c.id) == chosen] { (class_text(&c.name, c.alias.as_deref())) }
                        }
                    }
                }
            }
            button.secondary type="submit" id="stop-class-submit" { "选择" }
        }
    }
}

fn register_card(web: &Web, desk: Desk, q: &DeskQuery, d: &DeskData, r: &Refused) -> Markup {
    let blank = FormError::none();
    let p = r.register.as_ref().unwrap_or(&blank);
    let e = |n: &str| {
        if p.form == "register" {
            p.field(n)
        } else {
            None
        }
    };
    let offer = !d.students.is_empty();
    html! {
        div.card #stop-register {
            h2 { "登记停餐" }
            p.muted {
                small {
                    @if desk == Desk::Mobile { "为本班学生直接登记停餐（如家长电话请假），立即生效，无需审批。" }
                    @else { "为任一学生直接登记停餐，立即生效，无需审批。先选择班级，再选择学生。" }
                }
            }
            @if desk == Desk::Console { (class_picker(web, &d.grades, q.class_id())) }
            @if offer {
                form.stack method="post" action=(web.post_url(&format!("{}/register{}", desk.base(), q.keep()))) id="register-form" novalidate {
                    (refused_notice(p, "register"))
                    (field("学生", "student", student_select(&d.students, r.typed.get("student")), e("student")))
                    (stop_fields(web, &r.typed, p, "register"))
                    button type="submit" id="register-submit" { "登记停餐" }
                }
            } @else if desk == Desk::Mobile {
                p.muted #no-students { "您目前没有负责的班级，无法登记停餐" }
            } @else if q.class_id().is_some() {
                p.muted #no-students { "该班级没有在读学生" }
            }
        }
    }
}

fn decided_note(s: &MealStopView) -> Markup {
    html! {
        @if let Some(c) = &s.review_comment { span.review-comment { "意见：" (c) } }
        @if let Some(t) = s.reviewed_at { br; small.muted { (when(t)) } }
    }
}

/// The refund desk (payments' page) for those who may refund: the school admin.
fn refund_link(web: &Web, path: &str) -> Markup {
    html! {
        @if web.has_role(crate::auth::model::Role::SchoolAdmin) {
            p { a #refund-desk href=(web.link(path)) { "停餐退款：把已批准的停餐一键退给家长 ›" } }
        }
    }
}

/// None waiting, or how many, and that only the latest are listed when there are more.
fn pending_count(p: &MealStopPage) -> Markup {
    html! {
        @if p.items.is_empty() { p.muted #no-pending-stops { "没有待审批的停餐申请" } }
        @else if p.total > p.items.len() as i64 {
            p.muted #pending-count {
                "共 " (p.total) " 条待审批，这里列出最近的 " (p.items.len()) " 条，处理后会显示其余的"
            }
        }
    }
}

fn mobile_body(web: &Web, q: &DeskQuery, d: &DeskData, r: &Refused) -> Markup {
    html! {
        (refund_link(web, "/m/teacher/meal-refunds"))
        h2 { "待审批" }
        (pending_count(&d.pending))
        @for s in &d.pending.items {
            div.card.meal-stop data-id=(s.id) data-status=(s.status.as_str()) id={ "stop-" (s.id) } {
                div.row { strong { (s.student_name) } (stop_tag(s)) }
                small.muted { (s.class_name) " · 申请于 " (when(s.requested_at)) }
                p { "停餐 " strong { (stop_dates(s)) } "，共 " (s.day_count) " 个供餐日，退款 " (yuan(&s.refund_amount)) }
                p { "原因：" (s.reason) }
                (review_form(web, Desk::Mobile, q, s, r))
            }
        }
        (register_card(web, Desk::Mobile, q, d, r))
        h2 { "最近处理" }
        @if d.decided.is_empty() { p.muted #no-decided-stops { "最近没有处理过的停餐" } }
        @else {
            ul.list.card #decided-stops {
                @for s in &d.decided {
                    li.meal-stop data-id=(s.id) data-status=(s.status.as_str()) {
                        div.row { span { (s.student_name) " " small.muted { (stop_dates(s)) } } (stop_tag(s)) }
                        small.muted {
                            @if s.by_staff { "老师登记 · " }
                            (s.day_count) " 天 · " (s.reason)
                            @if let Some(c) = &s.review_comment { " · 意见：" (c) }
                        }
                    }
                }
            }
        }
    }
}

fn console_body(web: &Web, q: &DeskQuery, d: &DeskData, r: &Refused) -> Markup {
    html! {
        (refund_link(web, "/console/meals/refunds"))
        h2 { "待审批" }
        @if q.class_id().is_some() {
            p.muted #class-filter { "只列出所选班级的停餐 · " a href=(web.link(CONSOLE)) { "看全校的" } }
        }
        (pending_count(&d.pending))
        @if !d.pending.items.is_empty() {
            div.table-wrap {
                table #pending-stops {
                    thead { tr {
                        th { "学生" } th { "班级" } th { "停餐日期" } th.num { "天数" } th.num { "退款" }
                        th { "原因" } th { "申请时间" } th { "审批" }
                    } }
                    tbody {
                        @for s in &d.pending.items {
                            tr.meal-stop data-id=(s.id) data-status=(s.status.as_str()) id={ "stop-" (s.id) } {
                                td { (s.student_name) }
                                td { (s.class_name) }
                                td { (stop_dates(s)) br; small.muted { (days_text(&s.days)) } }
                                td.num { (s.day_count) }
                                td.num { (yuan(&s.refund_amount)) }
                                td.wrap { (s.reason) }
                                td { (when(s.requested_at)) }
                                td.review { (review_form(web, Desk::Console, q, s, r)) }
                            }
                        }
                    }
                }
            }
        }
        (register_card(web, Desk::Console, q, d, r))
        h2 { "最近处理" }
        @if d.decided.is_empty() { p.muted #no-decided-stops { "最近没有处理过的停餐" } }
        @else {
            div.table-wrap {
                table #decided-stops {
                    thead { tr {
                        th { "学生" } th { "班级" } th { "停餐日期" } th.num { "天数" } th.num { "退款" }
                        th { "原因" } th { "状态" } th { "审批" }
                    } }
                    tbody {
                        @for s in &d.decided {
                            tr.meal-stop data-id=(s.id) data-status=(s.status.as_str()) {
                                td { (s.student_name) }
                                td { (s.class_name) }
                                td { (stop_dates(s)) }
                                td.num { (s.day_count) }
                                td.num { (yuan(&s.refund_amount)) }
                                td.wrap { (s.reason) }
                                td { (stop_tag(s)) @if s.by_staff { br; small.muted { "直接登记" } } }
                                td.wrap { (decided_note(s)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn desk_page(web: &Web, desk: Desk, q: &DeskQuery, r: &Refused) -> PageResult {
    let d = load(web, desk, q.class_id()).await?;
    // A refused review of a stop that no longer waits is shown at the top.
    let lost = r
        .review
        .as_ref()
        .filter(|f| !d.pending.items.iter().any(|s| s.id == f.stop_id));
    let status = r
        .review
        .as_ref()
        .map(|f| f.p.status())
        .or(r.register.as_ref().map(FormError::status))
        .unwrap_or(poem::http::StatusCode::OK);
    let top = html! {
        (done_notice(q.done.as_deref()))
        @if let Some(f) = lost { (f.p.notice("review")) }
    };
    let page = match desk {
        Desk::Mobile => layout::mobile(
            web,
            "停餐审批",
            "/m/teacher",
            html! {
                p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
                (top)
                (mobile_body(web, q, &d, r))
            },
        ),
        Desk::Console => school_page(
            web,
            "停餐审批",
            CONSOLE,
            html! {
                (top)
                (console_body(web, q, &d, r))
            },
        ),
    };
    Ok(html_response(status, page))
}

async fn list(web: Web, desk: Desk, q: DeskQuery) -> PageResult {
    desk_page(&web, desk, &q, &Refused::default()).await
}

async fn decide(
    web: Web,
    desk: Desk,
    id: i64,
    approve: bool,
    q: DeskQuery,
    body: String,
) -> PageResult {
    let f = Posted::parse(&body);
    let comment = f.get("comment").to_string();
    let perm = if approve { &STOP_APPROVE } else { &STOP_REJECT };
    let mut tx = web.school_tx(perm).await?;
    let review = StopReview {
        comment: Some(comment.clone()),
    };
    let r = service::decide_stop(&mut tx, &actor(&web), id, approve, review).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => {
            let done = if approve {
                "stop_approved"
            } else {
                "stop_rejected"
            };
            let sep = if q.keep().is_empty() { '?' } else { '&' };
            Ok(see_other(&web.link(&format!(
                "{}{}{sep}done={done}",
                desk.base(),
                q.keep()
            ))))
        }
        Err(e) => {
            let refused = Refused {
                review: Some(ReviewFailure {
                    stop_id: id,
                    comment,
                    p: FormError::of("review", &e, review_control),
                }),
                ..Refused::default()
            };
            desk_page(&web, desk, &q, &refused).await
        }
    }
}

async fn register(web: Web, desk: Desk, q: DeskQuery, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let refuse = |p: FormError, typed: Posted| Refused {
        typed,
        register: Some(p),
        ..Refused::default()
    };
    let Some(student) = f.id("student") else {
        let p = FormError {
            form: "register",
            ..FormError::new("student", "请选择学生")
        };
        return desk_page(&web, desk, &q, &refuse(p, f)).await;
    };
    let req = match new_stop(&f, "register", student, register_control) {
        Ok(r) => r,
        Err(p) => return desk_page(&web, desk, &q, &refuse(p, f)).await,
    };
    let mut tx = web.school_tx(&STOP_REGISTER).await?;
    let r = service::file_stop(&mut tx, &actor(&web), req, true).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => {
            let sep = if q.keep().is_empty() { '?' } else { '&' };
            Ok(see_other(&web.link(&format!(
                "{}{}{sep}done=stop_registered",
                desk.base(),
                q.keep()
            ))))
        }
        Err(e) => {
            let p = FormError::of("register", &e, register_control);
            desk_page(&web, desk, &q, &refuse(p, f)).await
        }
    }
}

#[handler]
async fn mobile_list(web: Web, Query(q): Query<DeskQuery>) -> PageResult {
    list(web, Desk::Mobile, q).await
}

#[handler]
async fn console_list(web: Web, Query(q): Query<DeskQuery>) -> PageResult {
    list(web, Desk::Console, q).await
}

#[handler]
async fn mobile_approve(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    body: String,
) -> PageResult {
    decide(web, Desk::Mobile, id, true, q, body).await
}

#[handler]
async fn mobile_reject(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    body: String,
) -> PageResult {
    decide(web, Desk::Mobile, id, false, q, body).await
}

#[handler]
async fn console_approve(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    body: String,
) -> PageResult {
    decide(web, Desk::Console, id, true, q, body).await
}

#[handler]
async fn console_reject(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<DeskQuery>,
    body: String,
) -> PageResult {
    decide(web, Desk::Console, id, false, q, body).await
}

#[handler]
async fn mobile_register(web: Web, Query(q): Query<DeskQuery>, body: String) -> PageResult {
    register(web, Desk::Mobile, q, body).await
}

#[handler]
async fn console_register(web: Web, Query(q): Query<DeskQuery>, body: String) -> PageResult {
    register(web, Desk::Console, q, body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_keeps_its_chosen_class_across_a_post() {
        let q = |c: Option<&str>| DeskQuery {
            class: c.map(str::to_owned),
            done: None,
        };
        assert_eq!(q(Some("12")).keep(), "?class=12");
        assert_eq!(q(Some("x")).keep(), "");
        assert_eq!(q(None).keep(), "");
        assert_eq!(review_control("COMMENT_INVALID"), Some("comment"));
        assert_eq!(review_control("MEAL_STOP_NOT_PENDING"), None);
    }
}
