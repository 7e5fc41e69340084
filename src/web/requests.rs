//! Withdrawal (退课, R-P05) and class-transfer (调班, R-P14) requests as pages: the parent
//! files one for a paid booking and follows it, refund progress included (R-S08); the
//! homeroom teacher (on the phone, `/m/teacher/requests`) and the school admin (in the
//! console, `/console/requests`) approve or reject.
//!
//! Every read and change goes through [`crate::enrollment::requests`] with the API's
//! permissions, so the same row scope holds: a parent only ever reaches their own child's
//! requests, a homeroom teacher only their classes'. Must never decide anything about a
//! request here: the pages only turn forms into service calls and service refusals into
//! messages next to the field they are about.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::{Form, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::layout::{self, field, notice, when, yuan, Tone};
use super::parent::{family, ChildQuery};
use super::session::{see_other, Web};
use crate::enrollment::model::{EnrollmentView, OfferView};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::requests::{self, NewRequest, RequestKind, RequestStatus, RequestView};
use crate::enrollment::service as enroll;
use crate::error::ApiError;
use crate::payments::model::{OrderView, RefundView};
use crate::payments::service as pay;
use crate::web::frame::{api_status, html_response, PageResult, WebError};

pub fn mount(r: Route) -> Route {
    r.at("/m/requests", get(my_requests))
        .at("/m/requests/new", get(new_form).post(file))
        .at("/m/requests/:id/cancel", post(cancel))
        .at("/m/teacher/requests", get(teacher_list))
        .at("/m/teacher/requests/:id/approve", post(teacher_approve))
        .at("/m/teacher/requests/:id/reject", post(teacher_reject))
        .at("/console/requests", get(console_list))
        .at("/console/requests/:id/approve", post(console_approve))
        .at("/console/requests/:id/reject", post(console_reject))
}

/// A refusal shown on the page: `field` is the form field it belongs to ("" for the form
/// as a whole).
struct Failure {
    field: &'static str,
    message: String,
    code: String,
    status: StatusCode,
}

impl Failure {
    fn of(e: &ApiError, field_of: fn(&str, &str) -> &'static str) -> Failure {
        let b = e.body();
        // Field-level refusals name their field in Chinese, as the import templates do.
        let named = b.details["fields"][0]["field"].as_str().unwrap_or_default();
        Failure {
            field: field_of(&b.code, named),
            message: b.message.clone(),
            code: b.code.clone(),
            status: api_status(e),
        }
    }

    fn on(&self, field: &str) -> Option<&str> {
        (self.field == field).then_some(self.message.as_str())
    }

    fn general(&self) -> Markup {
        html! {
            @if self.field.is_empty() {
                div.notice.error role="alert" data-code=(self.code) { (self.message) }
            }
        }
    }
}

fn status_tag(status: &str, label: &str) -> Markup {
    let class = match status {
        "pending" => "tag warn",
        "approved" => "tag",
        "rejected" => "tag bad",
        _ => "tag grey",
    };
    html! { span class=(class) data-status=(status) { (label) } }
}

fn class_label(r: &RequestView) -> String {
    match &r.class_alias {
        Some(a) => format!("{}（{a}）", r.class_name),
        None => r.class_name.clone(),
    }
}

fn what(r: &RequestView) -> Markup {
    html! {
        (r.kind_label) "：" (r.course_name)
        @if let Some(t) = &r.target_course_name { " → " (t) }
    }
}

// ---- parents -----------------------------------------------------------------------------

/// The refunds of the order line that paid for `enrollment`.
fn refunds_of(orders: &[OrderView], enrollment: i64) -> Vec<&RefundView> {
    orders
        .iter()
        .flat_map(|o| {
            let lines: Vec<i64> = o
                .lines
                .iter()
                .filter(|l| l.enrollment_id == enrollment)
                .map(|l| l.id)
                .collect();
            o.refunds.iter().filter(move |r| lines.contains(&r.line_id))
        })
        .collect()
}

/// A refund's way to the parent's account: 申请中 → 退款中 → 已到账.
fn refund_progress(r: &RefundView) -> Markup {
    let reached = match r.status.as_str() {
        "requested" => 1,
        "processing" => 2,
        "succeeded" => 3,
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
                span class={ "tag" @if r.status == "succeeded" { "" } @else if reached == 0 { " bad" } @else { " warn" } } { (r.status_label) }
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
    let orders = if list
        .iter()
        .any(|r| r.kind == "withdraw" && r.status == "approved")
    {
        let tenant = web.authorize(&crate::payments::perms::ORDERS_MINE).await?;
        pay::my_orders(&web.app, &web.auth, tenant).await?
    } else {
        Vec::new()
    };
    let body = html! {
        (parent_done(q.done.as_deref()))
        p { a href=(web.link(&format!("/m/records?child={}", child.id))) { "‹ 报名与缴费记录" } }
        p.muted { (child.name) " · " (super::parent::class_label(child)) }
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
                @if r.kind == "withdraw" && r.status == "approved" {
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
                @if r.status == "pending" {
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

fn request_field(code: &str, named: &str) -> &'static str {
    match (code, named) {
        ("INVALID_FIELDS", "原因") => "reason",
        ("INVALID_FIELDS", "目标课程") | ("TRANSFER_TARGET_INVALID", _) => "target",
        _ => "",
    }
}

async fn form_page(
    web: &Web,
    child_id: i64,
    enrollment_id: i64,
    entered: &RequestForm,
    failure: Option<&Failure>,
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
    let transfer = entered.kind == "transfer";
    let err = |f: &str| failure.and_then(|x| x.on(f));
    let back = web.link(&format!("/m/records?child={}", child.id));
    let action = web.post_url(&format!(
        "/m/requests/new?child={}&enrollment={}",
        child.id, e.id
    ));
    let body = html! {
        p { a href=(back) { "‹ 报名与缴费记录" } }
        div.card {
            div.row { h2 { (e.course_name) } span.tag { (e.status_label) } }
            p.muted { (child.name) " · " (super::parent::class_label(child)) }
            small.muted {
                (e.weekdays.iter().map(|d| layout::weekday(*d)).collect::<Vec<_>>().join("、"))
                " " (e.starts_at) "–" (e.ends_at) " · " (e.starts_on) " 至 " (e.ends_on)
            }
        }
        @if e.status != "confirmed" {
            (notice(Tone::Warn, "只有已缴费确认的报名可以申请退课或调班；待支付的报名请在报名记录中直接取消。"))
        } @else {
            @if let Some(f) = failure { (f.general()) }
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
                    textarea id="reason" name="reason" maxlength=(requests::TEXT_MAX) placeholder="请说明原因，班主任审核时可见" { (entered.reason) }
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
    let kind = match f.kind.as_str() {
        "withdraw" => RequestKind::Withdraw,
        "transfer" => RequestKind::Transfer,
        _ => {
            let failure = Failure {
                field: "kind",
                message: "请选择申请类型：退课或调班".into(),
                code: "INVALID_FIELDS".into(),
                status: StatusCode::UNPROCESSABLE_ENTITY,
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
        Err(e) if !api_status(&e).is_server_error() => {
            drop(tx);
            let failure = Failure::of(&e, request_field);
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

// ---- reviewers ---------------------------------------------------------------------------

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
    failure: Failure,
}

fn review_field(code: &str, named: &str) -> &'static str {
    match (code, named) {
        ("REVIEW_COMMENT_REQUIRED", _) | ("INVALID_FIELDS", "审核意见") => "comment",
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
        @if let Some(f) = mine { (f.failure.general()) }
        form.review method="post" action=(approve) {
            (field("审核意见（驳回时必填）", &name, html! {
                textarea id=(name) name="comment" maxlength=(requests::TEXT_MAX) rows="2" {
                    @if let Some(f) = mine { (f.comment) }
                }
            }, mine.and_then(|f| f.failure.on("comment"))))
            div.toolbar {
                button type="submit" id={ "approve-" (r.id) } { "同意" }
                button.danger type="submit" id={ "reject-" (r.id) } formaction=(reject) { "驳回" }
            }
        }
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
                @if r.status == "pending" { (review_form(web, Desk::Mobile, q, r, failed)) }
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
                                    @if r.status == "pending" { (review_form(web, Desk::Console, q, r, failed)) }
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
                let tenant_id = tx.tenant().id;
                tx.commit().await?;
                // As the API does: the refund the approval opened goes to WeChat Pay now,
                // after the commit, so the parent sees it move to 退款中.
                pay::submit_tenant_refunds(&web.app, tenant_id).await;
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
        Err(e) if !api_status(&e).is_server_error() => {
            let failed = ReviewFailure {
                request_id: id,
                comment: comment.to_string(),
                failure: Failure::of(&e, review_field),
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
async fn teacher_list(web: Web, Query(q): Query<ListQuery>) -> PageResult {
    list_page(&web, Desk::Mobile, &q, None).await
}

#[handler]
async fn teacher_approve(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    review(&web, Desk::Mobile, id, true, &q, &f.comment).await
}

#[handler]
async fn teacher_reject(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    review(&web, Desk::Mobile, id, false, &q, &f.comment).await
}

#[handler]
async fn console_list(web: Web, Query(q): Query<ListQuery>) -> PageResult {
    list_page(&web, Desk::Console, &q, None).await
}

#[handler]
async fn console_approve(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    review(&web, Desk::Console, id, true, &q, &f.comment).await
}

#[handler]
async fn console_reject(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<ListQuery>,
    Form(f): Form<ReviewForm>,
) -> PageResult {
    review(&web, Desk::Console, id, false, &q, &f.comment).await
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
    fn refusals_land_on_the_field_they_are_about() {
        assert_eq!(request_field("INVALID_FIELDS", "原因"), "reason");
        assert_eq!(request_field("TRANSFER_TARGET_INVALID", ""), "target");
        assert_eq!(request_field("REQUEST_PENDING", ""), "");
        assert_eq!(review_field("REVIEW_COMMENT_REQUIRED", ""), "comment");
        assert_eq!(review_field("REQUEST_DECIDED", ""), "");
    }
}
