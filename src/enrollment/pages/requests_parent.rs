//! Withdrawal (退课, R-P05) and class-transfer (调班, R-P14) requests, the parent's side:
//! the parent files one for a paid booking and follows it, refund progress included
//! (R-S08). Also what both sides show of a request ([`status_tag`], [`what`]) and how a
//! refusal lands on the page ([`FormError`]); the reviewers' desks are in
//! [`crate::enrollment::pages::requests_review`].
//!
//! Every read and change goes through [`crate::enrollment::requests`] with the API's
//! permissions, so the same row scope holds: a parent only ever reaches their own child's
//! requests. Must never decide anything about a request here: the pages only turn forms
//! into service calls and service refusals into messages next to the field they are about.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::enrollment::error::EnrollmentError;
use crate::enrollment::model::{
    EnrollmentStatus, EnrollmentView, OfferView, RequestKind, RequestStatus, RequestView, TEXT_MAX,
};
use crate::enrollment::pages::parent::{family, ChildQuery};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::requests::{self, NewRequest};
use crate::enrollment::service as enroll;
use crate::error::DomainError;
use crate::kernel::ids::{EnrollmentId, LineId};
use crate::payments::model::{OrderView, RefundStatus, RefundView};
use crate::payments::service as pay;
use crate::web::forms::{is_domain_refusal, FormError};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, field, notice, when, yuan, Tone};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/m/requests", get(my_requests))
        .at("/m/requests/new", get(new_form).post(file))
        .at("/m/requests/:id/cancel", post(cancel))
}

/// The service's refusal of a request form, on the field `field_of` places it.
pub(super) fn failure(
    e: &EnrollmentError,
    field_of: fn(&EnrollmentError) -> &'static str,
) -> FormError {
    FormError {
        field: field_of(e).to_string(),
        ..FormError::from_domain(e)
    }
}

pub(super) fn status_tag(status: &str, label: &str) -> Markup {
    let class = match RequestStatus::parse(status) {
        Some(RequestStatus::Pending) => "tag warn",
        Some(RequestStatus::Approved) => "tag",
        Some(RequestStatus::Rejected) => "tag bad",
        _ => "tag grey",
    };
    html! { span class=(class) data-status=(status) { (label) } }
}

pub(super) fn what(r: &RequestView) -> Markup {
    html! {
        (r.kind_label) "：" (r.course_name)
        @if let Some(t) = &r.target_course_name { " → " (t) }
    }
}

/// A withdrawal that went through: its refund is the payment side's record.
fn refunded(r: &RequestView) -> bool {
    r.kind == RequestKind::Withdraw.as_str() && r.status == RequestStatus::Approved.as_str()
}

/// The refunds of the order line that paid for `enrollment`.
fn refunds_of(orders: &[OrderView], enrollment: i64) -> Vec<&RefundView> {
    orders
        .iter()
        .flat_map(|o| {
            let lines: Vec<LineId> = o
                .lines
                .iter()
                .filter(|l| l.enrollment_id == Some(EnrollmentId(enrollment)))
                .map(|l| l.id)
                .collect();
            o.refunds.iter().filter(move |r| lines.contains(&r.line_id))
        })
        .collect()
}

/// A refund's way to the parent's account: 申请中 → 退款中 → 已到账.
fn refund_progress(r: &RefundView) -> Markup {
    let reached = match r.refund_status() {
        Some(RefundStatus::Requested) => 1,
        Some(RefundStatus::Processing) => 2,
        Some(RefundStatus::Succeeded) => 3,
        _ => 0,
    };
    let step = |n: i32, label: &str| {
        let class = if n < reached || reached == 3 {
            "done"
        } else if n == reached {
            "now"
        } else {
            ""
        };
        html! { span class=(class) { (label) } }
    };
    html! {
        div.refund data-status=(r.status) {
            div.row {
                span { "退费 " strong.price { (yuan(&r.amount)) } }
                span class={ "tag" @if r.refund_status() == Some(RefundStatus::Succeeded) { "" } @else if reached == 0 { " bad" } @else { " warn" } } { (r.status_label) }
            }
            @if reached > 0 {
                div.steps { (step(1, "申请中")) (step(2, "退款中")) (step(3, "已到账")) }
            }
            @if let Some(t) = r.succeeded_at { small.muted { "到账时间 " (when(t)) } }
        }
    }
}

fn parent_done(done: Option<&str>) -> Markup {
    match done {
        Some("filed") => notice(Tone::Ok, "申请已提交，班主任审核后会在这里显示结果"),
        Some("cancelled") => notice(Tone::Ok, "申请已撤回"),
        _ => html! {},
    }
}

#[handler]
async fn my_requests(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&enroll_perms::CHILD_REQUESTS).await?;
    let list = requests::of_child(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    // Refunds are the payment side's records; only asked for when a withdrawal went through.
    let orders = if list.iter().any(refunded) {
        let tenant = web.authorize(&crate::payments::perms::ORDERS_MINE).await?;
        pay::my_orders(&web.app, &web.auth, tenant).await?
    } else {
        Vec::new()
    };
    let body = html! {
        (parent_done(q.done.as_deref()))
        p { a href=(web.link(&format!("/m/records?child={}", child.id))) { "‹ 报名与缴费记录" } }
        p.muted { (child.name) " · " (crate::enrollment::pages::parent::class_label(child)) }
        @if list.is_empty() {
            p.muted #no-requests { "还没有退课或调班申请。可在报名记录中对已缴费的课程提出申请。" }
        }
        @for r in &list {
            div.card.request data-id=(r.id) data-status=(r.status) {
                div.row { strong { (what(r)) } (status_tag(&r.status, &r.status_label)) }
                p { "原因：" (r.reason) }
                small.muted { "申请于 " (when(r.requested_at)) }
                @if let Some(c) = &r.review_comment {
                    p.review { "审核意见：" (c) }
                }
                @if refunded(r) {
                    @let refunds = refunds_of(&orders, r.enrollment_id);
                    @for f in &refunds { (refund_progress(f)) }
                    @if refunds.is_empty() {
                        @if let Some(label) = &r.refund_status_label {
                            div.refund data-status=(r.refund_status.as_deref().unwrap_or_default()) {
                                div.row { span { "退费（线下缴费，由学校办理）" } span.tag.warn { (label) } }
                            }
                        }
                    }
                }
                @if r.status == RequestStatus::Pending.as_str() {
                    form.inline method="post" action=(web.post_url(&format!("/m/requests/{}/cancel?child={}", r.id, child.id))) {
                        button.link type="submit" { "撤回申请" }
                    }
                }
            }
        }
    };
    crate::web::frame::page(layout::mobile(&web, "退课与调班申请", "/m/records", body))
}

#[derive(Debug, Deserialize)]
struct NewQuery {
    child: Option<i64>,
    enrollment: Option<i64>,
    kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct RequestForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    reason: String,
}

/// Courses a transfer can go to, as the child would book them: the same kind of service
/// (custody for custody), bookable on its own, not this course, not booked already. The
/// service checks the target again when the request is filed and when it is approved.
fn transfer_targets<'a>(offers: &'a [OfferView], e: &EnrollmentView) -> Vec<&'a OfferView> {
    offers
        .iter()
        .filter(|o| o.class_type == e.class_type && o.id != e.course_id && o.booked.is_none())
        .filter(|o| !offers.iter().any(|i| i.parent_id == Some(o.id)))
        .collect()
}

/// The field of the request form a refusal is about.
fn request_field(e: &EnrollmentError) -> &'static str {
    match e {
        EnrollmentError::ReasonMissing | EnrollmentError::TextTooLong { field: "原因" } => {
            "reason"
        }
        EnrollmentError::WithdrawalTarget | EnrollmentError::TargetInvalid { .. } => "target",
        _ => "",
    }
}

async fn form_page(
    web: &Web,
    child_id: i64,
    enrollment_id: i64,
    entered: &RequestForm,
    failure: Option<&FormError>,
) -> PageResult {
    let fam = match family(web, Some(child_id)).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&enroll_perms::RECORDS).await?;
    web.authorize(&enroll_perms::OFFERS).await?;
    let records = enroll::records(&web.app, &web.auth, &mut tx, child.id).await?;
    let offers = enroll::offers(&web.app, &web.auth, &mut tx, child.id).await?;
    tx.commit().await?;
    let Some(e) = records.iter().find(|e| e.id == enrollment_id) else {
        return Err(WebError::NotFound);
    };
    let targets = transfer_targets(&offers, e);
    let transfer = entered.kind == RequestKind::Transfer.as_str();
    let err = |f: &str| failure.and_then(|x| x.field(f));
    let back = web.link(&format!("/m/records?child={}", child.id));
    let action = web.post_url(&format!(
        "/m/requests/new?child={}&enrollment={}",
        child.id, e.id
    ));
    let body = html! {
        p { a href=(back) { "‹ 报名与缴费记录" } }
        div.card {
            div.row { h2 { (e.course_name) } span.tag { (e.status_label) } }
            p.muted { (child.name) " · " (crate::enrollment::pages::parent::class_label(child)) }
            small.muted {
                (e.weekdays.iter().map(|d| layout::weekday(*d)).collect::<Vec<_>>().join("、"))
                " " (e.starts_at) "–" (e.ends_at) " · " (e.starts_on) " 至 " (e.ends_on)
            }
        }
        @if e.status != EnrollmentStatus::Confirmed.as_str() {
            (notice(Tone::Warn, "只有已缴费确认的报名可以申请退课或调班；待支付的报名请在报名记录中直接取消。"))
        } @else {
            @if let Some(f) = failure { (f.unplaced_notice()) }
            form.stack.card method="post" action=(action) id="request-form" {
                (field("申请类型", "kind", html! {
                    div.choices {
                        label.inline { input type="radio" id="kind" name="kind" value="withdraw" checked[!transfer]; " 退课（退还未上课部分的费用）" }
                        br;
                        label.inline { input type="radio" id="kind-transfer" name="kind" value="transfer" checked[transfer]; " 调班（换到另一门课程）" }
                    }
                }, err("kind")))
                (field("调入课程（仅调班时选择）", "target", html! {
                    select id="target" name="target" {
                        option value="" { "请选择要调入的课程" }
                        @for o in &targets {
                            option value=(o.id) selected[entered.target == o.id.to_string()] {
                                (o.name) " · " (o.schedule) " · 剩余 " (o.remaining)
                            }
                        }
                    }
                    @if targets.is_empty() { small.muted { "暂无可调入的同类课程" } }
                }, err("target")))
                (field("原因", "reason", html! {
                    textarea id="reason" name="reason" maxlength=(TEXT_MAX) placeholder="请说明原因，班主任审核时可见" { (entered.reason) }
                }, err("reason")))
                button.block type="submit" id="request-submit" { "提交申请" }
            }
            p.muted { small { "退课经班主任同意后立即生效，名额释放给候补的同学，已缴费用按未上课部分原路退回。调班须目标课程有名额且与孩子的其他课程时间不冲突。" } }
        }
    };
    let status = failure.map(|f| f.status).unwrap_or(StatusCode::OK);
    Ok(html_response(
        status,
        layout::mobile(web, "申请退课或调班", "/m/records", body),
    ))
}

#[handler]
async fn new_form(web: Web, Query(q): Query<NewQuery>) -> PageResult {
    let (Some(child), Some(enrollment)) = (q.child, q.enrollment) else {
        return Err(WebError::NotFound);
    };
    let entered = RequestForm {
        kind: q.kind.unwrap_or_default(),
        ..Default::default()
    };
    form_page(&web, child, enrollment, &entered, None).await
}

#[handler]
async fn file(web: Web, Query(q): Query<NewQuery>, Form(f): Form<RequestForm>) -> PageResult {
    let (Some(child), Some(enrollment)) = (q.child, q.enrollment) else {
        return Err(WebError::NotFound);
    };
    let kind = match RequestKind::parse(&f.kind) {
        Some(k) => k,
        None => {
            let failure = FormError {
                // The code of every field refusal of a request (INVALID_FIELDS).
                code: EnrollmentError::ReasonMissing.code().into(),
                ..FormError::new("kind", "请选择申请类型：退课或调班")
            };
            return form_page(&web, child, enrollment, &f, Some(&failure)).await;
        }
    };
    // Without a script the course list stays on the form for both kinds; a course picked
    // there only means something for a transfer.
    let target = match kind {
        RequestKind::Transfer => f.target.trim().parse::<i64>().ok(),
        RequestKind::Withdraw => None,
    };
    let mut tx = web.school_tx(&enroll_perms::REQUEST_FILE).await?;
    let filed = requests::file(
        &web.app,
        &web.auth,
        &mut tx,
        &NewRequest {
            enrollment_id: enrollment,
            kind,
            target_course_id: target,
            reason: &f.reason,
        },
    )
    .await;
    match filed {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(
                &web.link(&format!("/m/requests?child={child}&done=filed")),
            ))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let failure = failure(&e, request_field);
            form_page(&web, child, enrollment, &f, Some(&failure)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct ChildOnly {
    child: Option<i64>,
}

#[handler]
async fn cancel(web: Web, Path(id): Path<i64>, Query(q): Query<ChildOnly>) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::REQUEST_CANCEL).await?;
    let r = requests::withdraw_own(&web.app, &web.auth, &mut tx, id).await?;
    tx.commit().await?;
    let child = q.child.unwrap_or(r.student_id);
    Ok(see_other(&web.link(&format!(
        "/m/requests?child={child}&done=cancelled"
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrollment::error::TargetProblem;

    #[test]
    fn refusals_land_on_the_field_they_are_about() {
        assert_eq!(
            request_field(&EnrollmentError::TextTooLong { field: "原因" }),
            "reason"
        );
        assert_eq!(request_field(&EnrollmentError::ReasonMissing), "reason");
        let e = EnrollmentError::TargetInvalid {
            target: None,
            problem: TargetProblem::NoneChosen,
        };
        assert_eq!(request_field(&e), "target");
        let e = EnrollmentError::RequestPending {
            enrollment_id: 1,
            course_name: "x".into(),
        };
        assert_eq!(request_field(&e), "");
    }
}
