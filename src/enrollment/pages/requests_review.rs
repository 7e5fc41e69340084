//! The reviewers' desks of withdrawal (退课, R-P05) and class-transfer (调班, R-P14)
//! requests: the homeroom teacher on the phone (`/m/teacher/requests`) and the school admin
//! in the console (`/console/requests`) see the requests in their scope and approve or
//! reject them. One handler serves both desks ([`ReviewDesk`]); only the frame differs.
//!
//! Every read and change goes through [`crate::enrollment::requests`] with the API's
//! permissions, so the same row scope holds: a homeroom teacher only reaches their classes'
//! requests. Must never decide anything about a request here: the pages only turn forms
//! into service calls and service refusals into messages next to the field they are about.

use std::marker::PhantomData;

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, FromRequest, Request, RequestBody, Route};
use serde::Deserialize;

use crate::enrollment::error::EnrollmentError;
use crate::enrollment::model::{RequestStatus, RequestView, TEXT_MAX};
use crate::enrollment::pages::requests_parent::{failure, status_tag, what};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::requests;
use crate::web::forms::{is_domain_refusal, FormError};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{self, field, notice, when, Tone};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    desk::<Console>(desk::<Mobile>(r))
}

/// The list, approve and reject routes of one desk, under its base path.
fn desk<D: ReviewDesk>(r: Route) -> Route {
    let base = D::DESK.base();
    r.at(base, get(list::<D>::default()))
        .at(
            format!("{base}/:id/approve"),
            post(decide::<D, Approve>::default()),
        )
        .at(
            format!("{base}/:id/reject"),
            post(decide::<D, Reject>::default()),
        )
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
            Desk::Mobile => "/m/teacher/requests",
            Desk::Console => "/console/requests",
        }
    }
}

/// A desk as a type, so one handler serves the routes of both.
trait ReviewDesk: Send + Sync + 'static {
    const DESK: Desk;
}

struct Mobile;
struct Console;

impl ReviewDesk for Mobile {
    const DESK: Desk = Desk::Mobile;
}

impl ReviewDesk for Console {
    const DESK: Desk = Desk::Console;
}

/// A decision as a type: approve or reject.
trait Verdict: Send + Sync + 'static {
    const APPROVE: bool;
}

struct Approve;
struct Reject;

impl Verdict for Approve {
    const APPROVE: bool = true;
}

impl Verdict for Reject {
    const APPROVE: bool = false;
}

/// The route's desk and verdict, read from its types (a handler's type parameters must
/// appear in its arguments).
struct On<D, V = Approve>(PhantomData<(D, V)>);

impl<'a, D: ReviewDesk, V: Verdict> FromRequest<'a> for On<D, V> {
    async fn from_request(_: &'a Request, _: &mut RequestBody) -> poem::Result<Self> {
        Ok(On(PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// pending (the default: what waits for a decision) | approved | rejected | cancelled | all
    status: Option<String>,
    done: Option<String>,
}

impl ListQuery {
    fn filter_key(&self) -> &str {
        match self.status.as_deref() {
            Some(s @ ("approved" | "rejected" | "cancelled" | "all")) => s,
            _ => "pending",
        }
    }

    fn filter(&self) -> Option<RequestStatus> {
        match self.filter_key() {
            "approved" => Some(RequestStatus::Approved),
            "rejected" => Some(RequestStatus::Rejected),
            "cancelled" => Some(RequestStatus::Cancelled),
            "all" => None,
            _ => Some(RequestStatus::Pending),
        }
    }
}

const FILTERS: [(&str, &str); 5] = [
    ("pending", "待审核"),
    ("approved", "已同意"),
    ("rejected", "已驳回"),
    ("cancelled", "已撤回"),
    ("all", "全部"),
];

/// A failed review, shown on the request it was about, with what was typed.
struct ReviewFailure {
    request_id: i64,
    comment: String,
    failure: FormError,
}

/// The field of the review form a refusal is about.
fn review_field(e: &EnrollmentError) -> &'static str {
    match e {
        EnrollmentError::ReviewCommentRequired { .. }
        | EnrollmentError::TextTooLong {
            field: "审核意见"
        } => "comment",
        _ => "",
    }
}

fn review_done(done: Option<&str>) -> Markup {
    match done {
        Some("approved") => notice(
            Tone::Ok,
            "已同意申请并立即生效。退课的已缴费用已提交退款，家长可在申请记录中查看进度",
        ),
        Some("rejected") => notice(Tone::Ok, "已驳回申请，家长会看到您的审核意见"),
        _ => html! {},
    }
}

/// The review form of one pending request: one comment box, two buttons (the comment is
/// needed to reject, optional to approve).
fn review_form(
    web: &Web,
    desk: Desk,
    q: &ListQuery,
    r: &RequestView,
    failed: Option<&ReviewFailure>,
) -> Markup {
    let mine = failed.filter(|f| f.request_id == r.id);
    let keep = format!("?status={}", q.filter_key());
    let approve = web.post_url(&format!("{}/{}/approve{keep}", desk.base(), r.id));
    let reject = web.post_url(&format!("{}/{}/reject{keep}", desk.base(), r.id));
    let name = format!("comment-{}", r.id);
    html! {
        @if let Some(f) = mine { (f.failure.unplaced_notice()) }
        form.review method="post" action=(approve) {
            (field("审核意见（驳回时必填）", &name, html! {
                textarea id=(name) name="comment" maxlength=(TEXT_MAX) rows="2" {
                    @if let Some(f) = mine { (f.comment) }
                }
            }, mine.and_then(|f| f.failure.field("comment"))))
            div.toolbar {
                button type="submit" id={ "approve-" (r.id) } { "同意" }
                button.danger type="submit" id={ "reject-" (r.id) } formaction=(reject) { "驳回" }
            }
        }
    }
}

fn pending(r: &RequestView) -> bool {
    r.status == RequestStatus::Pending.as_str()
}

fn class_label(r: &RequestView) -> String {
    match &r.class_alias {
        Some(a) => format!("{}（{a}）", r.class_name),
        None => r.class_name.clone(),
    }
}

fn refund_note(r: &RequestView) -> Markup {
    html! {
        @if let Some(l) = &r.refund_status_label { span.tag.grey { "退费：" (l) } }
    }
}

fn mobile_list(
    web: &Web,
    q: &ListQuery,
    list: &[RequestView],
    failed: Option<&ReviewFailure>,
) -> Markup {
    html! {
        div.toolbar #request-filter {
            @for (key, label) in FILTERS {
                @if key == q.filter_key() { strong.tag { (label) } }
                @else { a.tag.grey href=(web.link(&format!("{}?status={key}", Desk::Mobile.base()))) { (label) } }
            }
        }
        @if list.is_empty() { p.muted #no-requests { "没有需要处理的申请" } }
        @for r in list {
            div.card.request data-id=(r.id) data-status=(r.status) {
                div.row { strong { (r.student_name) } (status_tag(&r.status, &r.status_label)) }
                small.muted { (class_label(r)) " · 申请于 " (when(r.requested_at)) }
                p { (what(r)) }
                p { "原因：" (r.reason) }
                @if let Some(c) = &r.review_comment { p.muted { "审核意见：" (c) } }
                (refund_note(r))
                @if pending(r) { (review_form(web, Desk::Mobile, q, r, failed)) }
            }
        }
    }
}

fn console_list_body(
    web: &Web,
    q: &ListQuery,
    list: &[RequestView],
    failed: Option<&ReviewFailure>,
) -> Markup {
    html! {
        form.toolbar method="get" action=(web.link(Desk::Console.base())) #request-filter {
            label.inline for="status" { "状态" }
            select id="status" name="status" style="width:auto" {
                @for (key, label) in FILTERS {
                    option value=(key) selected[key == q.filter_key()] { (label) }
                }
            }
            button.secondary type="submit" { "筛选" }
            span.grow {}
            span.muted { "共 " (list.len()) " 份" }
        }
        @if list.is_empty() { p.muted #no-requests { "没有符合条件的申请" } }
        @else {
            div.table-wrap {
                table #requests {
                    thead { tr {
                        th { "学生" } th { "班级" } th { "申请" } th { "原因" } th { "申请时间" }
                        th { "状态" } th { "审核" }
                    } }
                    tbody {
                        @for r in list {
                            tr.request data-id=(r.id) data-status=(r.status) {
                                td { (r.student_name) }
                                td { (class_label(r)) }
                                td { (what(r)) }
                                td.wrap { (r.reason) }
                                td { (when(r.requested_at)) }
                                td { (status_tag(&r.status, &r.status_label)) " " (refund_note(r)) }
                                td.review {
                                    @if pending(r) { (review_form(web, Desk::Console, q, r, failed)) }
                                    @else {
                                        @if let Some(c) = &r.review_comment { (c) }
                                        @if let Some(t) = r.reviewed_at { br; small.muted { (when(t)) } }
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

async fn list_page(
    web: &Web,
    desk: Desk,
    q: &ListQuery,
    failed: Option<&ReviewFailure>,
) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::REQUESTS).await?;
    let list = requests::list(&web.app, &web.auth, &mut tx, q.filter()).await?;
    tx.commit().await?;
    let status = failed.map(|f| f.failure.status).unwrap_or(StatusCode::OK);
    let page = match desk {
        Desk::Mobile => layout::mobile(
            web,
            "退课与调班审核",
            "/m/teacher",
            html! {
                p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
                (review_done(q.done.as_deref()))
                (mobile_list(web, q, &list, failed))
            },
        ),
        Desk::Console => crate::web::nav::school_page(
            web,
            "退课与调班",
            Desk::Console.base(),
            html! {
                (review_done(q.done.as_deref()))
                (console_list_body(web, q, &list, failed))
            },
        ),
    };
    Ok(html_response(status, page))
}

#[derive(Debug, Default, Deserialize)]
struct ReviewForm {
    #[serde(default)]
    comment: String,
}

async fn review(
    web: &Web,
    desk: Desk,
    id: i64,
    approve: bool,
    q: &ListQuery,
    comment: &str,
) -> PageResult {
    let decided = if approve {
        let mut tx = web.school_tx(&enroll_perms::REQUEST_APPROVE).await?;
        match requests::approve(&web.app, &web.auth, &mut tx, id, Some(comment)).await {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    } else {
        let mut tx = web.school_tx(&enroll_perms::REQUEST_REJECT).await?;
        match requests::reject(&web.app, &web.auth, &mut tx, id, Some(comment)).await {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    };
    match decided {
        Ok(()) => Ok(see_other(&web.link(&format!(
            "{}?status={}&done={}",
            desk.base(),
            q.filter_key(),
            if approve { "approved" } else { "rejected" }
        )))),
        Err(e) if is_domain_refusal(&e) => {
            let failed = ReviewFailure {
                request_id: id,
                comment: comment.to_string(),
                failure: failure(&e, review_field),
            };
            let q = ListQuery {
                status: q.status.clone(),
                done: None,
            };
            list_page(web, desk, &q, Some(&failed)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn list<D: ReviewDesk>(web: Web, _: On<D>, Query(q): Query<ListQuery>) -> PageResult {
    list_page(&web, D::DESK, &q, None).await
}

#[handler]
async fn decide<D: ReviewDesk, V: Verdict>(
    web: Web,
    _: On<D, V>,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    review(&web, D::DESK, id, V::APPROVE, &q, &f.comment).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reviewer_list_waits_on_pending_requests_unless_asked_otherwise() {
        let q = |s: Option<&str>| ListQuery {
            status: s.map(str::to_owned),
            done: None,
        };
        assert_eq!(q(None).filter(), Some(RequestStatus::Pending));
        assert_eq!(q(Some("nonsense")).filter(), Some(RequestStatus::Pending));
        assert_eq!(q(Some("all")).filter(), None);
        assert_eq!(q(Some("rejected")).filter(), Some(RequestStatus::Rejected));
    }

    #[test]
    fn review_refusals_land_on_the_comment() {
        let e = EnrollmentError::ReviewCommentRequired { id: 1 };
        assert_eq!(review_field(&e), "comment");
        let e = EnrollmentError::RequestDecided {
            id: 1,
            status: RequestStatus::Approved,
        };
        assert_eq!(review_field(&e), "");
    }
}
