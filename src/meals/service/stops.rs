//! 停餐 (R-P08, R-T10): a parent asks to stop a child's meals for a day or a range, with a
//! reason, before the cut-off of the first day (the rules' time on the day before); the
//! homeroom teacher approves or rejects; a homeroom teacher or an admin registers a stop
//! directly, approved at once. A stop covers every paid order of the child on those days;
//! a day is stopped once at most (`meal_stop_days`' key), whatever the concurrency.
//!
//! An approved stop's days are neither counted for the canteen nor released to the school
//! at the day close; the school's refund batch returns their price. A day whose cut-off
//! passes while its stop waits is served, and drops out of the stop when it is approved.

use chrono::NaiveDate;
use serde_json::json;

use super::{record, rules_and_calendar};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::periods::{stop_deadline, Rules};
use crate::meals::repo::{self, StopRow};
use crate::people::service as people;

const REASON_MAX: usize = 200;
const COMMENT_MAX: usize = 200;
const MAX_DAYS: i64 = 62;

pub fn stop_view(r: &StopRow) -> MealStopView {
    let progress = match (r.status, r.refund_status.as_deref()) {
        (StopStatus::Approved, Some("processing")) => "退款中",
        (StopStatus::Approved, Some("refunded")) => "已到账",
        (StopStatus::Approved, Some("failed")) => "异常",
        (s, _) => s.label(),
    };
    MealStopView {
        id: r.id,
        student_id: r.student_id,
        student_name: r.student_name.clone(),
        class_id: r.class_id,
        class_name: r.class_name.clone(),
        first_day: r.first_day,
        last_day: r.last_day,
        days: r.days.clone(),
        day_count: r.days.len() as i32,
        reason: r.reason.clone(),
        status: r.status,
        status_label: r.status.label().into(),
        progress_label: progress.into(),
        refund_amount: yuan(r.refund_amount.unwrap_or(r.value)),
        by_staff: r.by_staff,
        requested_at: r.requested_at,
        reviewed_at: r.reviewed_at,
        review_comment: r.review_comment.clone(),
    }
}

async fn view_of(tx: &mut TenantTx, id: i64) -> Result<MealStopView, MealError> {
    let r = repo::stop(tx.conn(), id)
        .await?
        .ok_or(MealError::StopNotFound { id })?;
    Ok(stop_view(&r))
}

/// The first day of `days` whose cut-off has not passed.
fn first_open_day(rules: &Rules, who: &Actor<'_>, days: &[NaiveDate]) -> Option<NaiveDate> {
    let now = who.st.clock.now();
    days.iter()
        .copied()
        .find(|d| now < stop_deadline(rules, *d))
}

/// The student of a stop the caller may register for: their own child (a parent) or a
/// child of their classes (staff).
async fn student_for(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
    staff: bool,
) -> Result<i64, MealError> {
    if !staff {
        let (id, ..) = crate::enrollment::service::own_child(tx, who.auth, student_id).await?;
        return Ok(id);
    }
    let scope = people::scope(who.st, who.auth, tx).await?;
    match repo::student(tx.conn(), student_id).await? {
        Some((id, _, class)) if scope.covers(class) => Ok(id),
        _ => Err(MealError::ChildNotFound { student_id }),
    }
}

/// Registers a stop: a parent's request (pending), or staff's (approved at once).
pub async fn file(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewMealStop,
    staff: bool,
) -> Result<MealStopView, MealError> {
    let student = student_for(tx, who, req.student_id, staff).await?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > REASON_MAX {
        return Err(MealError::ReasonInvalid { max: REASON_MAX });
    }
    let (first, last) = (req.first_day, req.last_day.unwrap_or(req.first_day));
    if last < first || (last - first).num_days() >= MAX_DAYS {
        return Err(MealError::StopRangeInvalid {
            first_day: first,
            last_day: last,
        });
    }
    let now = who.st.clock.now();
    if first <= who.st.clock.today() {
        return Err(MealError::StopPast { day: first });
    }
    let (rules, _) = rules_and_calendar(tx).await?;
    let deadline = stop_deadline(&rules, first);
    if now >= deadline {
        return Err(MealError::StopAfterCutoff {
            day: first,
            deadline,
        });
    }
    let orders: Vec<(i64, Vec<NaiveDate>)> =
        repo::live_orders_between(tx.conn(), &[student], first, last)
            .await?
            .into_iter()
            .filter(|o| o.status == MealOrderStatus::Confirmed)
            .map(|o| {
                let days: Vec<NaiveDate> = o
                    .days
                    .into_iter()
                    .filter(|d| first <= *d && *d <= last)
                    .collect();
                (o.id, days)
            })
            .filter(|(_, days)| !days.is_empty())
            .collect();
    if orders.is_empty() {
        return Err(MealError::StopNotOrdered {
            first_day: first,
            last_day: last,
        });
    }
    let status = if staff {
        StopStatus::Approved
    } else {
        StopStatus::Pending
    };
    let id = repo::insert_stop(
        tx.conn(),
        student,
        first,
        last,
        reason,
        status,
        who.auth.account_id,
        staff,
        now,
    )
    .await?;
    for (order, days) in &orders {
        if let Err(day) = repo::claim_stop_days(tx.conn(), id, *order, days).await? {
            return Err(MealError::StopOverlap { day });
        }
    }
    record(
        tx,
        who,
        if staff {
            "meals.stop.register"
        } else {
            "meals.stop.request"
        },
        format!("meal_stop:{id}"),
        json!({ "student_id": student, "first_day": first, "last_day": last,
                "orders": orders.iter().map(|o| o.0).collect::<Vec<_>>() }),
    )
    .await?;
    view_of(tx, id).await
}

/// The child's stops, newest first (the parent's view).
pub async fn of_child(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
) -> Result<Vec<MealStopView>, MealError> {
    let student = student_for(tx, who, student_id, false).await?;
    Ok(repo::stops_of_student(tx.conn(), student)
        .await?
        .iter()
        .map(stop_view)
        .collect())
}

/// A parent withdraws a stop still waiting for the teacher.
pub async fn withdraw(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<MealStopView, MealError> {
    let r = repo::lock_stop(tx.conn(), id)
        .await?
        .ok_or(MealError::StopNotFound { id })?;
    student_for(tx, who, r.student_id, false)
        .await
        .map_err(|_| MealError::StopNotFound { id })?;
    if r.status != StopStatus::Pending {
        return Err(MealError::StopNotPending {
            id,
            status: r.status.label(),
        });
    }
    let now = who.st.clock.now();
    repo::end_stop(
        tx.conn(),
        id,
        StopStatus::Withdrawn,
        who.auth.account_id,
        None,
        now,
    )
    .await?;
    record(
        tx,
        who,
        "meals.stop.withdraw",
        format!("meal_stop:{id}"),
        json!({}),
    )
    .await?;
    view_of(tx, id).await
}

/// One page of the stops of the caller's classes (a homeroom teacher) or the school (an
/// admin); a class outside a teacher's classes is not found.
pub async fn list(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    f: &StopFilter,
) -> Result<MealStopPage, MealError> {
    if !(1..=STOPS_PAGE_MAX).contains(&f.limit) {
        return Err(MealError::FilterInvalid {
            field: "limit",
            value: f.limit.to_string(),
        });
    }
    if f.offset < 0 {
        return Err(MealError::FilterInvalid {
            field: "offset",
            value: f.offset.to_string(),
        });
    }
    let scope = people::scope(who.st, who.auth, tx).await?;
    if let Some(c) = f.class_id {
        if !scope.covers(c) {
            return Err(MealError::ClassNotFound { id: c });
        }
    }
    let (rows, total) = repo::stops(tx.conn(), scope.classes(), f).await?;
    Ok(MealStopPage {
        total,
        items: rows.iter().map(stop_view).collect(),
    })
}

/// The parent's 审核结果 message, in the decision's transaction.
async fn decision_message(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    r: &StopRow,
    approved: bool,
    comment: Option<&str>,
) -> Result<(), MealError> {
    let what = if r.first_day == r.last_day {
        format!("停餐：{}", r.first_day.format("%m月%d日"))
    } else {
        format!(
            "停餐：{}至{}",
            r.first_day.format("%m月%d日"),
            r.last_day.format("%m月%d日")
        )
    };
    let m = crate::notify::Message::new(
        crate::notify::Kind::RequestDecided,
        r.requested_by,
        format!("meal_stop:{}", r.id),
    )
    .tenant(tx.tenant().id)
    .field("name1", &r.student_name)
    .field("thing2", what)
    .field("phrase3", if approved { "已通过" } else { "未通过" })
    .field("thing4", comment.unwrap_or("无"))
    .field("time5", crate::notify::model::time(who.st.clock.now()));
    // The message's outbox key is written with the platform's privileges.
    tx.leave_role().await?;
    crate::notify::emit(tx.conn(), &who.st.keys, &m).await?;
    tx.enter_role().await?;
    Ok(())
}

/// The homeroom teacher (or an admin) approves or rejects a pending stop. Approving drops
/// the days whose cut-off passed while it waited (those meals were served).
pub async fn decide(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    approve: bool,
    review: StopReview,
) -> Result<MealStopView, MealError> {
    let comment = review
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > COMMENT_MAX) || (!approve && comment.is_none()) {
        return Err(MealError::CommentInvalid);
    }
    let r = repo::lock_stop(tx.conn(), id)
        .await?
        .ok_or(MealError::StopNotFound { id })?;
    let scope = people::scope(who.st, who.auth, tx).await?;
    if !scope.covers(r.class_id) {
        return Err(MealError::StopNotFound { id });
    }
    if r.status != StopStatus::Pending {
        return Err(MealError::StopNotPending {
            id,
            status: r.status.label(),
        });
    }
    let now = who.st.clock.now();
    let by = who.auth.account_id;
    if approve {
        let (rules, _) = rules_and_calendar(tx).await?;
        let Some(from) = first_open_day(&rules, who, &r.days) else {
            let day = r.days.last().copied().unwrap_or(r.last_day);
            return Err(MealError::StopAfterCutoff {
                day,
                deadline: stop_deadline(&rules, day),
            });
        };
        repo::drop_stop_days_before(tx.conn(), id, from).await?;
        repo::review(tx.conn(), id, StopStatus::Approved, by, comment, now).await?;
    } else {
        repo::end_stop(tx.conn(), id, StopStatus::Rejected, by, comment, now).await?;
    }
    decision_message(tx, who, &r, approve, comment).await?;
    record(
        tx,
        who,
        if approve {
            "meals.stop.approve"
        } else {
            "meals.stop.reject"
        },
        format!("meal_stop:{id}"),
        json!({ "student_id": r.student_id, "comment": comment }),
    )
    .await?;
    view_of(tx, id).await
}
