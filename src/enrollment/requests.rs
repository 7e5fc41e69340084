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
use serde_json::json;

use super::error::{EnrollmentError, TargetProblem, TransferClash};
use super::model::*;
use super::repo::requests::{self as rq, LockedRequest, RequestRow};
use super::repo::{self, EnrollmentRow};
use super::service;
use super::waitlist;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::lookup as courses;
use crate::courses::model::CourseStatus;
use crate::kernel::ctx::Ctx;
use crate::kernel::ids::EnrollmentId;
use crate::kernel::tx::TenantTx;
use crate::people::service as people;

fn target_invalid(target: Option<i64>, problem: TargetProblem) -> EnrollmentError {
    EnrollmentError::TargetInvalid { target, problem }
}

pub fn request_view(r: RequestRow) -> RequestView {
    RequestView {
        kind_label: r.kind.label().into(),
        status_label: r.status.label().into(),
        refund_status_label: r.refund_status.map(|s| s.label().into()),
        id: r.id,
        kind: r.kind.as_str().into(),
        status: r.status.as_str().into(),
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
        refund_status: r.refund_status.map(|s| s.as_str().into()),
    }
}

/// A reason or comment, trimmed, within the table's limit; `None` when blank.
fn text(field: &'static str, s: Option<&str>) -> Result<Option<String>, EnrollmentError> {
    let t = s.map(str::trim).unwrap_or_default();
    if t.chars().count() > TEXT_MAX {
        return Err(EnrollmentError::TextTooLong { field });
    }
    Ok((!t.is_empty()).then(|| t.to_string()))
}

/// The refusal of a decision on a request that is not pending any more.
fn decided(r: &LockedRequest) -> EnrollmentError {
    EnrollmentError::RequestDecided {
        id: r.id,
        status: r.status,
    }
}

/// An enrollment the request is about ended under it: the lock order says this cannot be.
fn not_live(id: i64) -> EnrollmentError {
    EnrollmentError::Invariant(format!("enrollment {id} not live"))
}

async fn view_of(tx: &mut TenantTx, id: i64) -> Result<RequestView, EnrollmentError> {
    rq::request(tx.conn(), id)
        .await?
        .map(request_view)
        .ok_or_else(|| EnrollmentError::Invariant(format!("request {id} vanished")))
}

/// Audits a change to a request (last, before commit) and answers with its new state.
async fn recorded(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<RequestView, EnrollmentError> {
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
) -> Result<RequestView, EnrollmentError> {
    let now = st.clock.now();
    let reason = text("原因", Some(req.reason))?.ok_or(EnrollmentError::ReasonMissing)?;
    if req.kind == RequestKind::Withdraw && req.target_course_id.is_some() {
        return Err(EnrollmentError::WithdrawalTarget);
    }
    let not_found = || EnrollmentError::EnrollmentNotFound {
        id: req.enrollment_id,
    };
    let e = repo::enrollment(tx.conn(), req.enrollment_id)
        .await?
        .ok_or_else(not_found)?;
    let (student, _, level) = service::own_child(tx, auth, e.student_id)
        .await
        .map_err(|_| not_found())?;
    let status = service::status_at(&e, now);
    if status != EnrollmentStatus::Confirmed {
        return Err(EnrollmentError::RequestNotConfirmed {
            enrollment_id: e.id,
            status,
        });
    }
    if e.ends_on < st.clock.today() {
        return Err(EnrollmentError::RequestCourseEnded {
            enrollment_id: e.id,
            course_name: e.course_name,
            ends_on: e.ends_on,
        });
    }
    if req.kind == RequestKind::Transfer {
        check_target(tx, e.course_id, req.target_course_id, student, level, now).await?;
    }
    let id = rq::insert(
        tx.conn(),
        req.kind,
        e.id,
        req.target_course_id,
        &reason,
        auth.account_id,
        now,
    )
    .await?
    .ok_or_else(|| EnrollmentError::RequestPending {
        enrollment_id: e.id,
        course_name: e.course_name.clone(),
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
) -> Result<courses::CourseRow, EnrollmentError> {
    let Some(target_id) = target else {
        return Err(target_invalid(None, TargetProblem::NoneChosen));
    };
    if target_id == current_course {
        return Err(target_invalid(target, TargetProblem::SameCourse));
    }
    let c = courses::course_for_booking(tx.conn(), target_id)
        .await?
        .ok_or_else(|| target_invalid(target, TargetProblem::NotFound))?;
    let name = || c.name.clone();
    if c.course_status() != CourseStatus::Published {
        return Err(target_invalid(
            target,
            TargetProblem::NotOpen { name: name() },
        ));
    }
    if !c.eligible_levels.contains(&level) {
        return Err(target_invalid(
            target,
            TargetProblem::NotEligible { name: name() },
        ));
    }
    if !courses::sub_items(tx.conn(), c.id).await?.is_empty() {
        return Err(target_invalid(
            target,
            TargetProblem::Series { name: name() },
        ));
    }
    if rq::has_live(tx.conn(), c.id, student, now).await? {
        return Err(target_invalid(
            target,
            TargetProblem::AlreadyBooked { name: name() },
        ));
    }
    Ok(c)
}

/// The child's requests, newest first, with the refund progress of withdrawals.
pub async fn of_child(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<Vec<RequestView>, EnrollmentError> {
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
) -> Result<RequestView, EnrollmentError> {
    let now = st.clock.now();
    let not_found = || EnrollmentError::RequestNotFound { id: request_id };
    let r = rq::lock(tx.conn(), request_id)
        .await?
        .ok_or_else(not_found)?;
    service::own_child(tx, auth, r.student_id)
        .await
        .map_err(|_| not_found())?;
    let cancelled = RequestStatus::Cancelled;
    if !rq::decide(tx.conn(), r.id, cancelled, auth.account_id, None, now).await? {
        return Err(decided(&r));
    }
    let details = json!({ "kind": r.kind.as_str(), "enrollment_id": r.enrollment_id });
    recorded(st, auth, tx, "enrollment.request_cancel", r.id, details).await
}

// ---- reviewers ---------------------------------------------------------------------------

/// Requests of the children in the caller's classes (all for a school admin).
pub async fn list(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    status: Option<RequestStatus>,
) -> Result<Vec<RequestView>, EnrollmentError> {
    let scope = people::scope(st, auth, tx).await?;
    Ok(rq::list(tx.conn(), scope.classes(), status, 500)
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
) -> Result<LockedRequest, EnrollmentError> {
    let scope = people::scope(st, auth, tx).await?;
    let r = rq::lock(tx.conn(), request_id)
        .await?
        .filter(|r| scope.covers(r.class_id))
        .ok_or(EnrollmentError::RequestNotFound { id: request_id })?;
    if r.status != RequestStatus::Pending {
        return Err(decided(&r));
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
) -> Result<RequestView, EnrollmentError> {
    let now = st.clock.now();
    let comment = text("审核意见", comment)?
        .ok_or(EnrollmentError::ReviewCommentRequired { id: request_id })?;
    let r = reviewable(st, auth, tx, request_id).await?;
    if !rq::decide(
        tx.conn(),
        r.id,
        RequestStatus::Rejected,
        auth.account_id,
        Some(&comment),
        now,
    )
    .await?
    {
        return Err(decided(&r));
    }
    let details = json!({ "kind": r.kind.as_str(), "enrollment_id": r.enrollment_id });
    let view = recorded(st, auth, tx, "enrollment.request_reject", r.id, details).await?;
    decision_message(st, tx, &r, &view, false, Some(&comment)).await?;
    Ok(view)
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
) -> Result<RequestView, EnrollmentError> {
    let now = st.clock.now();
    let comment = text("审核意见", comment)?;
    let r = reviewable(st, auth, tx, request_id).await?;
    let e = repo::enrollment(tx.conn(), r.enrollment_id)
        .await?
        .ok_or_else(|| {
            EnrollmentError::Invariant(format!("enrollment {} vanished", r.enrollment_id))
        })?;
    if e.status != EnrollmentStatus::Confirmed {
        return Err(EnrollmentError::RequestNoLongerConfirmed {
            id: r.id,
            enrollment_status: e.status,
        });
    }
    let mut details =
        json!({ "kind": r.kind.as_str(), "enrollment_id": e.id, "course_id": e.course_id });
    if r.kind == RequestKind::Transfer {
        let moved = transfer(tx, &r, &e, now).await?;
        details["target_course_id"] = json!(r.target_course_id);
        details["new_enrollment_id"] = json!(moved);
    } else {
        if !repo::end(tx.conn(), e.id, EnrollmentStatus::Withdrawn, &r.reason, now).await? {
            return Err(not_live(e.id));
        }
        repo::give_seat_back(tx.conn(), e.course_id).await?;
        waitlist::promote(tx.conn(), e.course_id, now).await?;
        if let Some(rr) = rq::insert_refund(tx.conn(), e.id, Some(r.id), &r.reason, now).await? {
            let refund = super::refunds::reserve(
                st,
                tx,
                EnrollmentId(e.id),
                rr,
                &r.reason,
                auth.account_id,
                super::refunds::Source::Withdrawal,
            )
            .await?;
            details["refund_id"] = json!(refund);
        }
    }
    if !rq::decide(
        tx.conn(),
        r.id,
        RequestStatus::Approved,
        auth.account_id,
        comment.as_deref(),
        now,
    )
    .await?
    {
        return Err(decided(&r));
    }
    let view = recorded(st, auth, tx, "enrollment.request_approve", r.id, details).await?;
    decision_message(st, tx, &r, &view, true, comment.as_deref()).await?;
    Ok(view)
}

/// The parent's 审核结果 message, in the transaction of the decision.
async fn decision_message(
    st: &Ctx,
    tx: &mut TenantTx,
    r: &LockedRequest,
    view: &RequestView,
    approved: bool,
    comment: Option<&str>,
) -> Result<(), EnrollmentError> {
    let what = match &view.target_course_name {
        Some(target) if r.kind == RequestKind::Transfer => {
            format!("调班：{}→{target}", view.course_name)
        }
        _ => format!("{}：{}", view.kind_label, view.course_name),
    };
    let m = crate::notify::Message::new(
        crate::notify::Kind::RequestDecided,
        r.requested_by,
        format!("request:{}", r.id),
    )
    .tenant(tx.tenant().id)
    .field("name1", &view.student_name)
    .field("thing2", what)
    .field("phrase3", if approved { "已通过" } else { "未通过" })
    .field(
        "thing4",
        comment.filter(|c| !c.trim().is_empty()).unwrap_or("无"),
    )
    .field("time5", crate::notify::model::time(st.clock.now()));
    tx.leave_role().await?;
    crate::notify::emit(tx.conn(), &st.keys, &m).await?;
    tx.enter_role().await?;
    Ok(())
}

/// Moves the child from `e` to the request's target: a seat there (after the target's own
/// stale holds have gone to its line), no clash with the child's other live bookings, a
/// confirmed enrollment; then the old one ends with its seat passed to the old line.
/// Returns the new enrollment.
async fn transfer(
    tx: &mut TenantTx,
    r: &LockedRequest,
    e: &EnrollmentRow,
    now: DateTime<Utc>,
) -> Result<i64, EnrollmentError> {
    let (_, level) = rq::student_class_level(tx.conn(), r.student_id)
        .await?
        .ok_or_else(|| EnrollmentError::Invariant(format!("student {} vanished", r.student_id)))?;
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
        return Err(EnrollmentError::TransferTimeConflict(Box::new(
            TransferClash {
                request_id: r.id,
                course_id: c.id,
                course_name: c.name.clone(),
                with_course_id: k.course_id,
                with_name: k.name.clone(),
                weekdays: common,
                starts_at: k.starts_at.max(c.starts_at).format("%H:%M").to_string(),
                ends_at: k.ends_at.min(c.ends_at).format("%H:%M").to_string(),
            },
        )));
    }
    if !repo::take_seat(tx.conn(), c.id).await? {
        return Err(EnrollmentError::TransferTargetFull {
            request_id: r.id,
            course_id: c.id,
            name: c.name.clone(),
        });
    }
    let new_id = rq::insert_confirmed(tx.conn(), c.id, r.student_id, r.requested_by, now)
        .await?
        .ok_or_else(|| EnrollmentError::TransferDuplicate {
            request_id: r.id,
            course_id: c.id,
            name: c.name.clone(),
        })?;
    let withdrawn = EnrollmentStatus::Withdrawn;
    if !repo::end(tx.conn(), e.id, withdrawn, TRANSFER_END_REASON, now).await? {
        return Err(not_live(e.id));
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
) -> Result<EnrollmentView, EnrollmentError> {
    let now = st.clock.now();
    let reason = text("原因", Some(reason))?.ok_or(EnrollmentError::CancelReasonMissing)?;
    let scope = people::scope(st, auth, tx).await?;
    let not_found = EnrollmentError::EnrollmentNotFound { id: enrollment_id };
    let Some(e) = repo::enrollment(tx.conn(), enrollment_id).await? else {
        return Err(not_found);
    };
    let Some((class_id, _)) = rq::student_class_level(tx.conn(), e.student_id).await? else {
        return Err(not_found);
    };
    if !scope.covers(class_id) {
        return Err(not_found);
    }
    let status = service::status_at(&e, now);
    if !status.is_live() {
        return Err(EnrollmentError::NotLive { id: e.id, status });
    }
    if !repo::end(tx.conn(), e.id, EnrollmentStatus::Cancelled, &reason, now).await? {
        return Err(EnrollmentError::EndedMeanwhile { id: e.id });
    }
    repo::give_seat_back(tx.conn(), e.course_id).await?;
    rq::leave_offer(tx.conn(), e.id, now).await?;
    waitlist::promote(tx.conn(), e.course_id, now).await?;
    let closed =
        rq::cancel_pending_of(tx.conn(), e.id, auth.account_id, "学校已取消该报名", now).await?;
    let paid = status == EnrollmentStatus::Confirmed;
    let mut refund = None;
    if paid {
        if let Some(rr) = rq::insert_refund(tx.conn(), e.id, None, &reason, now).await? {
            refund = super::refunds::reserve(
                st,
                tx,
                EnrollmentId(e.id),
                rr,
                &reason,
                auth.account_id,
                super::refunds::Source::School,
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
                         "was": status.as_str(), "refund": paid, "refund_id": refund,
                         "requests_closed": closed }),
        ),
    )
    .await?;
    let row = repo::enrollment(tx.conn(), e.id)
        .await?
        .ok_or_else(|| EnrollmentError::Invariant("cancelled enrollment vanished".into()))?;
    Ok(service::view(row, now))
}
