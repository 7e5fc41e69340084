//! Withdrawal (R-P05) and class-transfer (R-P14) requests: a parent asks about a confirmed
//! enrollment with a reason, the homeroom teacher of the child's class (or a school admin)
//! approves or rejects with a comment. Approval applies the change in the same
//! transaction: the seat goes back and the waitlist moves on, a withdrawal leaves a refund
//! request for the payments issue, a transfer books the target course confirmed.
//!
//! Must never trust a student id from the request (parents go through
//! [`service::own_child`]) and never reveal a request outside the reviewer's class scope:
//! such a request answers exactly like one that does not exist.

use chrono::{DateTime, Utc};
use poem_openapi::{Enum, Object};
use serde_json::json;

use super::repo;
use super::requests_repo::{self as rq, LockedRequest, RequestRow};
use super::service;
use super::waitlist;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::repo as courses;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::model::FieldError;
use crate::people::service::{self as people, Scope};

/// Longest reason or review comment, as the table allows.
pub const TEXT_MAX: usize = 500;

/// End reason of the enrollment a transfer moves away from.
pub const TRANSFER_END_REASON: &str = "调班";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RequestKind {
    /// 退课（R-P05）
    Withdraw,
    /// 调班（R-P14）
    Transfer,
}

impl RequestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Withdraw => "withdraw",
            RequestKind::Transfer => "transfer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RequestStatus {
    /// 待审核
    Pending,
    /// 已同意
    Approved,
    /// 已驳回
    Rejected,
    /// 已撤回
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
        }
    }
}

/// A withdrawal or transfer request as parents and reviewers see it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RequestView {
    pub id: i64,
    /// withdraw 退课 | transfer 调班
    pub kind: String,
    pub kind_label: String,
    /// pending 待审核 | approved 已同意 | rejected 已驳回 | cancelled 已撤回
    pub status: String,
    pub status_label: String,
    pub enrollment_id: i64,
    pub course_id: i64,
    pub course_name: String,
    /// 调班的目标课程
    pub target_course_id: Option<i64>,
    pub target_course_name: Option<String>,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    /// 班级别名，如“雏鹰班”
    pub class_alias: Option<String>,
    /// 家长填写的原因
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// 审核意见
    pub review_comment: Option<String>,
    /// 退课的退费进度：requested 待退费 | processing 退费中 | refunded 已退费 | failed 退费失败
    pub refund_status: Option<String>,
    pub refund_status_label: Option<String>,
}

fn request_not_found(id: i64) -> ApiError {
    // The same answer for "no such request" and "not in your classes": ids do not leak.
    ApiError::new(
        ErrorKind::NotFound,
        "REQUEST_NOT_FOUND",
        "找不到该申请",
        json!({ "id": id }),
    )
}

fn enrollment_not_found(id: i64) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "ENROLLMENT_NOT_FOUND",
        "找不到该报名记录",
        json!({ "id": id }),
    )
}

fn decided(id: i64, status: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Conflict,
        "REQUEST_DECIDED",
        format!("该申请{}，不能再处理", status_label(status)),
        json!({ "id": id, "status": status }),
    )
}

fn target_invalid(target: Option<i64>, why: impl Into<String>) -> ApiError {
    ApiError::new(
        ErrorKind::Unprocessable,
        "TRANSFER_TARGET_INVALID",
        why,
        json!({ "target_course_id": target }),
    )
}

fn kind_label(k: &str) -> &'static str {
    match k {
        "withdraw" => "退课",
        "transfer" => "调班",
        _ => "未知",
    }
}

fn status_label(s: &str) -> &'static str {
    match s {
        "pending" => "待审核",
        "approved" => "已同意",
        "rejected" => "已驳回",
        "cancelled" => "已撤回",
        _ => "未知",
    }
}

fn refund_label(s: &str) -> &'static str {
    match s {
        "requested" => "待退费",
        "processing" => "退费中",
        "refunded" => "已退费",
        "failed" => "退费失败",
        _ => "未知",
    }
}

pub fn request_view(r: RequestRow) -> RequestView {
    RequestView {
        kind_label: kind_label(&r.kind).into(),
        status_label: status_label(&r.status).into(),
        refund_status_label: r.refund_status.as_deref().map(|s| refund_label(s).into()),
        id: r.id,
        kind: r.kind,
        status: r.status,
        enrollment_id: r.enrollment_id,
        course_id: r.course_id,
        course_name: r.course_name,
        target_course_id: r.target_course_id,
        target_course_name: r.target_course_name,
        student_id: r.student_id,
        student_name: r.student_name,
        class_id: r.class_id,
        class_name: r.class_name,
        class_alias: r.class_alias,
        reason: r.reason,
        requested_at: r.requested_at,
        reviewed_at: r.reviewed_at,
        review_comment: r.review_comment,
        refund_status: r.refund_status,
    }
}

/// A reason or comment, trimmed, within the table's limit; `None` when blank.
fn text(field: &str, s: Option<&str>) -> Result<Option<String>, ApiError> {
    let t = s.map(str::trim).unwrap_or_default();
    if t.chars().count() > TEXT_MAX {
        return Err(people::invalid(vec![FieldError::new(
            field,
            format!("{field}不能超过 {TEXT_MAX} 个字"),
        )])
        .into());
    }
    Ok((!t.is_empty()).then(|| t.to_string()))
}

/// The classes of a homeroom scope; `None` for the whole school.
pub fn scope_classes(scope: &Scope) -> Option<&[i64]> {
    match scope {
        Scope::All => None,
        Scope::Classes(ids) => Some(ids.as_slice()),
    }
}

/// Whether a class is in the caller's scope.
pub fn in_scope(scope: &Scope, class_id: i64) -> bool {
    match scope {
        Scope::All => true,
        Scope::Classes(ids) => ids.contains(&class_id),
    }
}

async fn view_of(tx: &mut TenantTx, id: i64) -> Result<RequestView, ApiError> {
    rq::request(tx.conn(), id)
        .await?
        .map(request_view)
        .ok_or_else(|| ApiError::internal(format!("request {id} vanished")))
}

/// Audits a change to a request (last, before commit) and answers with its new state.
async fn recorded(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<RequestView, ApiError> {
    tx.audit(
        st,
        auth,
        AuditEvent::new(action, format!("enrollment_request:{id}"), Outcome::Success)
            .details(details),
    )
    .await?;
    view_of(tx, id).await
}

// ---- parents -----------------------------------------------------------------------------

pub struct NewRequest<'a> {
    pub enrollment_id: i64,
    pub kind: RequestKind,
    pub target_course_id: Option<i64>,
    pub reason: &'a str,
}

/// The parent asks to withdraw from, or transfer out of, a confirmed enrollment of their
/// own child. One pending request per enrollment.
pub async fn file(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    req: &NewRequest<'_>,
) -> Result<RequestView, ApiError> {
    let now = st.clock.now();
    let reason = text("原因", Some(req.reason))?
        .ok_or_else(|| people::invalid(vec![FieldError::new("原因", "请填写原因")]))?;
    if req.kind == RequestKind::Withdraw && req.target_course_id.is_some() {
        return Err(people::invalid(vec![FieldError::new(
            "目标课程",
            "退课申请不需要选择目标课程",
        )])
        .into());
    }
    let e = repo::enrollment(tx.conn(), req.enrollment_id)
        .await?
        .ok_or_else(|| enrollment_not_found(req.enrollment_id))?;
    let (student, _, level) = service::own_child(tx, auth, e.student_id)
        .await
        .map_err(|_| enrollment_not_found(req.enrollment_id))?;
    let current = service::view(e.clone(), now);
    if current.status != "confirmed" {
        let msg = if current.status == "held" {
            "该报名尚未缴费确认，无需申请退课或调班，请直接取消报名".to_string()
        } else {
            format!("该报名{}，不能再申请退课或调班", current.status_label)
        };
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "REQUEST_NOT_ALLOWED",
            msg,
            json!({ "enrollment_id": e.id, "status": current.status }),
        ));
    }
    if e.ends_on < st.clock.today() {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "REQUEST_NOT_ALLOWED",
            format!("“{}”已结课，不能再申请退课或调班", e.course_name),
            json!({ "enrollment_id": e.id, "ends_on": e.ends_on }),
        ));
    }
    if req.kind == RequestKind::Transfer {
        check_target(tx, e.course_id, req.target_course_id, student, level, now).await?;
    }
    let id = rq::insert(
        tx.conn(),
        req.kind.as_str(),
        e.id,
        req.target_course_id,
        &reason,
        auth.account_id,
        now,
    )
    .await?
    .ok_or_else(|| {
        ApiError::new(
            ErrorKind::Conflict,
            "REQUEST_PENDING",
            format!(
                "“{}”已有一份待审核的申请，请等待班主任处理或先撤回",
                e.course_name
            ),
            json!({ "enrollment_id": e.id }),
        )
    })?;
    let details = json!({ "kind": req.kind.as_str(), "enrollment_id": e.id,
                          "target_course_id": req.target_course_id });
    recorded(st, auth, tx, "enrollment.request", id, details).await
}

/// A transfer target: exists, is another course, is published, admits the child's grade,
/// is bookable on its own (not a series heading) and is not booked by the child already.
async fn check_target(
    tx: &mut TenantTx,
    current_course: i64,
    target: Option<i64>,
    student: i64,
    level: i16,
    now: DateTime<Utc>,
) -> Result<courses::CourseRow, ApiError> {
    let Some(target_id) = target else {
        return Err(target_invalid(None, "请选择要调入的课程"));
    };
    if target_id == current_course {
        return Err(target_invalid(target, "调入的课程不能是当前课程"));
    }
    let c = courses::course_for_booking(tx.conn(), target_id)
        .await?
        .ok_or_else(|| target_invalid(target, "找不到要调入的课程"))?;
    if c.status != "published" {
        return Err(target_invalid(
            target,
            format!("“{}”未发布或已停止报名", c.name),
        ));
    }
    if !c.eligible_levels.contains(&level) {
        return Err(target_invalid(
            target,
            format!("“{}”不面向孩子所在年级开放", c.name),
        ));
    }
    if !courses::sub_items(tx.conn(), c.id).await?.is_empty() {
        return Err(target_invalid(
            target,
            format!("“{}”是系列课程，请选择其中具体的项目", c.name),
        ));
    }
    if rq::has_live(tx.conn(), c.id, student, now).await? {
        return Err(target_invalid(target, format!("孩子已报名“{}”", c.name)));
    }
    Ok(c)
}

/// The child's requests, newest first, with the refund progress of withdrawals.
pub async fn of_child(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<Vec<RequestView>, ApiError> {
    let _ = st;
    let (student, _, _) = service::own_child(tx, auth, student_id).await?;
    Ok(rq::of_student(tx.conn(), student)
        .await?
        .into_iter()
        .map(request_view)
        .collect())
}

/// The parent takes back their own pending request.
pub async fn withdraw_own(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    request_id: i64,
) -> Result<RequestView, ApiError> {
    let now = st.clock.now();
    let r = rq::lock(tx.conn(), request_id)
        .await?
        .ok_or_else(|| request_not_found(request_id))?;
    service::own_child(tx, auth, r.student_id)
        .await
        .map_err(|_| request_not_found(request_id))?;
    if !rq::decide(tx.conn(), r.id, "cancelled", auth.account_id, None, now).await? {
        return Err(decided(r.id, &r.status));
    }
    let details = json!({ "kind": r.kind, "enrollment_id": r.enrollment_id });
    recorded(st, auth, tx, "enrollment.request_cancel", r.id, details).await
}

// ---- reviewers ---------------------------------------------------------------------------

/// Requests of the children in the caller's classes (all for a school admin).
pub async fn list(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    status: Option<RequestStatus>,
) -> Result<Vec<RequestView>, ApiError> {
    let scope = people::scope(st, auth, tx).await?;
    Ok(rq::list(
        tx.conn(),
        scope_classes(&scope),
        status.map(RequestStatus::as_str),
        500,
    )
    .await?
    .into_iter()
    .map(request_view)
    .collect())
}

/// The request, locked, if the caller may review it; otherwise REQUEST_NOT_FOUND.
async fn reviewable(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    request_id: i64,
) -> Result<LockedRequest, ApiError> {
    let scope = people::scope(st, auth, tx).await?;
    let r = rq::lock(tx.conn(), request_id)
        .await?
        .filter(|r| in_scope(&scope, r.class_id))
        .ok_or_else(|| request_not_found(request_id))?;
    if r.status != "pending" {
        return Err(decided(r.id, &r.status));
    }
    Ok(r)
}

/// Rejects a pending request; the comment tells the parent why.
pub async fn reject(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    request_id: i64,
    comment: Option<&str>,
) -> Result<RequestView, ApiError> {
    let now = st.clock.now();
    let comment = text("审核意见", comment)?.ok_or_else(|| {
        ApiError::new(
            ErrorKind::Unprocessable,
            "REVIEW_COMMENT_REQUIRED",
            "驳回申请时请填写审核意见，告诉家长原因",
            json!({ "id": request_id }),
        )
    })?;
    let r = reviewable(st, auth, tx, request_id).await?;
    if !rq::decide(
        tx.conn(),
        r.id,
        "rejected",
        auth.account_id,
        Some(&comment),
        now,
    )
    .await?
    {
        return Err(decided(r.id, &r.status));
    }
    let details = json!({ "kind": r.kind, "enrollment_id": r.enrollment_id });
    recorded(st, auth, tx, "enrollment.request_reject", r.id, details).await
}

/// Approves a pending request and applies it. A transfer whose target has no room or
/// clashes with the child's other bookings is refused and nothing changes (the caller
/// does not commit): the request stays pending, to be approved later or rejected.
pub async fn approve(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    request_id: i64,
    comment: Option<&str>,
) -> Result<RequestView, ApiError> {
    let now = st.clock.now();
    let comment = text("审核意见", comment)?;
    let r = reviewable(st, auth, tx, request_id).await?;
    let e = repo::enrollment(tx.conn(), r.enrollment_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("enrollment {} vanished", r.enrollment_id)))?;
    if e.status != "confirmed" {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "REQUEST_NOT_ALLOWED",
            "该报名已不在已报名状态，请驳回此申请",
            json!({ "id": r.id, "enrollment_status": e.status }),
        ));
    }
    let mut details = json!({ "kind": r.kind, "enrollment_id": e.id, "course_id": e.course_id });
    if r.kind == "transfer" {
        let moved = transfer(tx, &r, &e, now).await?;
        details["target_course_id"] = json!(r.target_course_id);
        details["new_enrollment_id"] = json!(moved);
    } else {
        if !repo::end(tx.conn(), e.id, "withdrawn", &r.reason, now).await? {
            return Err(ApiError::internal(format!("enrollment {} not live", e.id)));
        }
        repo::give_seat_back(tx.conn(), e.course_id).await?;
        waitlist::promote(tx.conn(), e.course_id, now).await?;
        if let Some(rr) = rq::insert_refund(tx.conn(), e.id, Some(r.id), &r.reason, now).await? {
            let refund = crate::payments::service::refund_enrollment(
                st,
                tx,
                e.id,
                rr,
                &r.reason,
                auth.account_id,
                "withdrawal",
            )
            .await?;
            details["refund_id"] = json!(refund);
        }
    }
    if !rq::decide(
        tx.conn(),
        r.id,
        "approved",
        auth.account_id,
        comment.as_deref(),
        now,
    )
    .await?
    {
        return Err(decided(r.id, &r.status));
    }
    recorded(st, auth, tx, "enrollment.request_approve", r.id, details).await
}

/// Moves the child from `e` to the request's target: a seat there (after the target's own
/// stale holds have gone to its line), no clash with the child's other live bookings, a
/// confirmed enrollment; then the old one ends with its seat passed to the old line.
/// Returns the new enrollment.
async fn transfer(
    tx: &mut TenantTx,
    r: &LockedRequest,
    e: &repo::EnrollmentRow,
    now: DateTime<Utc>,
) -> Result<i64, ApiError> {
    let (_, level) = rq::student_class_level(tx.conn(), r.student_id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("student {} vanished", r.student_id)))?;
    if let Some(t) = r.target_course_id {
        waitlist::expire_and_promote(tx.conn(), t, now).await?;
    }
    let c = check_target(
        tx,
        e.course_id,
        r.target_course_id,
        r.student_id,
        level,
        now,
    )
    .await?;
    let clashes = repo::clashes(
        tx.conn(),
        r.student_id,
        &c.weekdays,
        c.starts_at,
        c.ends_at,
        c.starts_on,
        c.ends_on,
        now,
    )
    .await?;
    if let Some(k) = clashes
        .iter()
        .find(|k| k.course_id != e.course_id && k.course_id != c.id)
    {
        let common: Vec<i16> = c
            .weekdays
            .iter()
            .copied()
            .filter(|d| k.weekdays.contains(d))
            .collect();
        let days = service::weekdays_zh(&common);
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "ENROLL_TIME_CONFLICT",
            format!(
                "时间冲突：“{}”与孩子已报名的“{}”都在{} {}–{}，暂不能调班",
                c.name,
                k.name,
                days,
                k.starts_at.max(c.starts_at).format("%H:%M"),
                k.ends_at.min(c.ends_at).format("%H:%M"),
            ),
            json!({
                "id": r.id,
                "course_id": c.id,
                "conflicts_with": { "course_id": k.course_id, "name": k.name, "weekdays": common },
            }),
        ));
    }
    if !repo::take_seat(tx.conn(), c.id).await? {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "TRANSFER_TARGET_FULL",
            format!("“{}”名额已满，暂不能调班", c.name),
            json!({ "id": r.id, "course_id": c.id }),
        ));
    }
    let new_id = rq::insert_confirmed(tx.conn(), c.id, r.student_id, r.requested_by, now)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::Conflict,
                "ENROLL_DUPLICATE",
                format!("孩子已报名“{}”", c.name),
                json!({ "id": r.id, "course_id": c.id }),
            )
        })?;
    if !repo::end(tx.conn(), e.id, "withdrawn", TRANSFER_END_REASON, now).await? {
        return Err(ApiError::internal(format!("enrollment {} not live", e.id)));
    }
    repo::give_seat_back(tx.conn(), e.course_id).await?;
    waitlist::promote(tx.conn(), e.course_id, now).await?;
    Ok(new_id)
}

/// The school ends a live enrollment (R-T03) with a reason: the seat goes back, the line
/// moves on, pending requests about it close, and a paid one leaves a refund request.
pub async fn cancel_by_school(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    enrollment_id: i64,
    reason: &str,
) -> Result<super::model::EnrollmentView, ApiError> {
    let now = st.clock.now();
    let reason = text("原因", Some(reason))?
        .ok_or_else(|| people::invalid(vec![FieldError::new("原因", "请填写取消原因")]))?;
    let scope = people::scope(st, auth, tx).await?;
    let e = repo::enrollment(tx.conn(), enrollment_id)
        .await?
        .ok_or_else(|| enrollment_not_found(enrollment_id))?;
    let (class_id, _) = rq::student_class_level(tx.conn(), e.student_id)
        .await?
        .ok_or_else(|| enrollment_not_found(enrollment_id))?;
    if !in_scope(&scope, class_id) {
        return Err(enrollment_not_found(enrollment_id));
    }
    let current = service::view(e.clone(), now);
    if current.status != "held" && current.status != "confirmed" {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "ENROLLMENT_NOT_LIVE",
            format!("该报名{}，无需取消", current.status_label),
            json!({ "id": e.id, "status": current.status }),
        ));
    }
    if !repo::end(tx.conn(), e.id, "cancelled", &reason, now).await? {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "ENROLLMENT_NOT_LIVE",
            "该报名已结束，无需取消",
            json!({ "id": e.id }),
        ));
    }
    repo::give_seat_back(tx.conn(), e.course_id).await?;
    rq::leave_offer(tx.conn(), e.id, now).await?;
    waitlist::promote(tx.conn(), e.course_id, now).await?;
    let closed =
        rq::cancel_pending_of(tx.conn(), e.id, auth.account_id, "学校已取消该报名", now).await?;
    let paid = current.status == "confirmed";
    let mut refund = None;
    if paid {
        if let Some(rr) = rq::insert_refund(tx.conn(), e.id, None, &reason, now).await? {
            refund = crate::payments::service::refund_enrollment(
                st,
                tx,
                e.id,
                rr,
                &reason,
                auth.account_id,
                "admin",
            )
            .await?;
        }
    }
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "enrollment.cancel_by_school",
            format!("enrollment:{}", e.id),
            Outcome::Success,
        )
        .details(
            json!({ "course_id": e.course_id, "student_id": e.student_id,
                         "was": current.status, "refund": paid, "refund_id": refund,
                         "requests_closed": closed }),
        ),
    )
    .await?;
    let row = repo::enrollment(tx.conn(), e.id)
        .await?
        .ok_or_else(|| ApiError::internal("cancelled enrollment vanished"))?;
    Ok(service::view(row, now))
}
