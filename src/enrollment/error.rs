//! The refusals of enrollment: booking, the waitlist and the lottery, withdrawal and
//! transfer requests and their review. One variant per kind of refusal, each with its
//! stable code, HTTP class, Chinese message and details. A refused request has changed
//! nothing (the handler does not commit).
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::model::{weekdays_zh, ClashView, EnrollmentStatus, RequestStatus, TEXT_MAX};
use crate::audit::AuditError;
use crate::courses::error::CourseError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::people::error::PeopleError;
use crate::school::error::SchoolError;

/// Why a course cannot be the target of a transfer (`TRANSFER_TARGET_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetProblem {
    /// No target was chosen.
    NoneChosen,
    /// The target is the course the child is in.
    SameCourse,
    /// No such course.
    NotFound,
    /// The target is not published.
    NotOpen { name: String },
    /// The target does not admit the child's grade.
    NotEligible { name: String },
    /// The target is a series heading, not something that meets.
    Series { name: String },
    /// The child holds a place in the target already.
    AlreadyBooked { name: String },
}

/// What a transfer's target clashes with (`ENROLL_TIME_CONFLICT` on approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferClash {
    pub request_id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub with_course_id: i64,
    pub with_name: String,
    /// The weekdays both meet on.
    pub weekdays: Vec<i16>,
    /// The overlap, HH:MM.
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrollmentError {
    /// No such child, or not the caller's: the same answer, so ids do not leak.
    #[error("child {student_id} not found among the caller's children")]
    ChildNotFound { student_id: i64 },
    #[error("course {course_id} not found")]
    CourseNotFound { course_id: i64 },
    #[error("enrollment {id} not found")]
    EnrollmentNotFound { id: i64 },
    /// No such request, or outside the caller's classes: the same answer.
    #[error("request {id} not found")]
    RequestNotFound { id: i64 },
    #[error("course {course_id} is not open for booking")]
    CourseNotOpen { course_id: i64, name: String },
    #[error("course {course_id} books from {opens_at} to {closes_at}")]
    OutsideWindow {
        course_id: i64,
        name: String,
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    },
    #[error("course {course_id} is not for the child's grade")]
    NotEligible {
        course_id: i64,
        name: String,
        eligible_levels: Vec<i16>,
    },
    #[error("course {course_id} is allocated by lottery")]
    LotteryApplyInstead { course_id: i64, name: String },
    /// Booking would clash with a live booking of the child (R-P03).
    #[error("course {} clashes with course {}", .clash.course_id, .clash.with_course_id)]
    TimeConflict { clash: Box<ClashView> },
    #[error("course {course_id} is full")]
    Full { course_id: i64, name: String },
    #[error("child already booked course {course_id}")]
    Duplicate { course_id: i64, name: String },
    #[error("enrollment {id} is {status:?}, only a held one can be cancelled")]
    NotHeldToCancel { id: i64, status: EnrollmentStatus },
    #[error("enrollment {id} is {status:?}, its hold ran out")]
    HoldExpired { id: i64, status: EnrollmentStatus },
    #[error("enrollment {id} is {status:?}, only a held one can be confirmed")]
    NotHeldToConfirm { id: i64, status: EnrollmentStatus },
    #[error("course {course_id} has places left")]
    WaitlistNotNeeded { course_id: i64, name: String },
    #[error("child already booked or in the line of course {course_id}")]
    WaitlistDuplicate { course_id: i64, name: String },
    #[error("course is not a lottery course")]
    NotALottery,
    #[error("registration closes at {closes_at}, too early to draw")]
    DrawTooEarly { closes_at: DateTime<Utc> },
    #[error("course {course_id} was drawn already")]
    AlreadyDrawn { course_id: i64 },
    #[error("course {course_id} was not drawn yet")]
    NotDrawn { course_id: i64 },
    /// A reason or comment longer than the table allows (`INVALID_FIELDS`).
    #[error("{field} longer than {} characters", TEXT_MAX)]
    TextTooLong { field: &'static str },
    #[error("request without a reason")]
    ReasonMissing,
    #[error("school cancellation without a reason")]
    CancelReasonMissing,
    #[error("withdrawal request with a target course")]
    WithdrawalTarget,
    #[error("enrollment {enrollment_id} is {status:?}, not confirmed")]
    RequestNotConfirmed {
        enrollment_id: i64,
        status: EnrollmentStatus,
    },
    #[error("enrollment {enrollment_id}'s course ended on {ends_on}")]
    RequestCourseEnded {
        enrollment_id: i64,
        course_name: String,
        ends_on: NaiveDate,
    },
    #[error("request {id}: enrollment is {enrollment_status:?}, not confirmed any more")]
    RequestNoLongerConfirmed {
        id: i64,
        enrollment_status: EnrollmentStatus,
    },
    #[error("enrollment {enrollment_id} has a pending request")]
    RequestPending {
        enrollment_id: i64,
        course_name: String,
    },
    #[error("request {id} is {status:?} already")]
    RequestDecided { id: i64, status: RequestStatus },
    #[error("transfer target {target:?} refused: {problem:?}")]
    TargetInvalid {
        target: Option<i64>,
        problem: TargetProblem,
    },
    #[error("rejecting request {id} without a comment")]
    ReviewCommentRequired { id: i64 },
    /// Approving the transfer would clash with another live booking of the child.
    #[error("request {}: course {} clashes with course {}", .0.request_id, .0.course_id, .0.with_course_id)]
    TransferTimeConflict(Box<TransferClash>),
    #[error("request {request_id}: target course {course_id} is full")]
    TransferTargetFull {
        request_id: i64,
        course_id: i64,
        name: String,
    },
    #[error("request {request_id}: child already booked course {course_id}")]
    TransferDuplicate {
        request_id: i64,
        course_id: i64,
        name: String,
    },
    #[error("enrollment {id} is {status:?}, not live")]
    NotLive { id: i64, status: EnrollmentStatus },
    #[error("enrollment {id} ended meanwhile")]
    EndedMeanwhile { id: i64 },
    /// A rule of this module broken by its own data or code: a logged 500.
    #[error("enrollment invariant broken: {0}")]
    Invariant(String),
    /// Another feature's refusal (people's scope, payments' refunds, the school calendar,
    /// courses, the audit append), answered exactly as its owner words it.
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

crate::refusals_into!(EnrollmentError::Upstream: AuditError, CourseError, PeopleError, SchoolError);

impl EnrollmentError {
    /// A refusal of a feature this one may not name (payments, which depends on
    /// enrollment), carried as its owner worded it.
    pub fn upstream(e: &impl DomainError) -> Self {
        EnrollmentError::Upstream(Refusal::of(e))
    }
}

/// A field refusal as the people service words them: `{ "fields": [{field, reason}] }`.
fn invalid_fields(field: &str, reason: &str) -> Value {
    json!({ "fields": [{ "field": field, "reason": reason }] })
}

fn cst(t: &DateTime<Utc>) -> String {
    t.with_timezone(&crate::clock::cst())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

impl EnrollmentError {
    /// The field an `INVALID_FIELDS` refusal is about, in Chinese as the table's columns.
    fn invalid_field(&self) -> Option<&'static str> {
        match self {
            EnrollmentError::TextTooLong { field } => Some(field),
            EnrollmentError::ReasonMissing | EnrollmentError::CancelReasonMissing => Some("原因"),
            EnrollmentError::WithdrawalTarget => Some("目标课程"),
            _ => None,
        }
    }
}

impl DomainError for EnrollmentError {
    fn kind(&self) -> ErrorKind {
        use EnrollmentError::*;
        match self {
            ChildNotFound { .. }
            | CourseNotFound { .. }
            | EnrollmentNotFound { .. }
            | RequestNotFound { .. }
            | NotDrawn { .. } => ErrorKind::NotFound,
            CourseNotOpen { .. }
            | OutsideWindow { .. }
            | NotEligible { .. }
            | LotteryApplyInstead { .. }
            | NotALottery
            | TextTooLong { .. }
            | ReasonMissing
            | CancelReasonMissing
            | WithdrawalTarget
            | TargetInvalid { .. }
            | ReviewCommentRequired { .. } => ErrorKind::Unprocessable,
            Invariant(_) => ErrorKind::Internal,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Conflict,
        }
    }

    fn code(&self) -> &'static str {
        use EnrollmentError::*;
        match self {
            ChildNotFound { .. } => "CHILD_NOT_FOUND",
            CourseNotFound { .. } => "COURSE_NOT_FOUND",
            EnrollmentNotFound { .. } => "ENROLLMENT_NOT_FOUND",
            RequestNotFound { .. } => "REQUEST_NOT_FOUND",
            CourseNotOpen { .. } => "COURSE_NOT_OPEN",
            OutsideWindow { .. } => "ENROLL_OUTSIDE_WINDOW",
            NotEligible { .. } => "ENROLL_NOT_ELIGIBLE",
            LotteryApplyInstead { .. } => "LOTTERY_APPLY_INSTEAD",
            TimeConflict { .. } | TransferTimeConflict(_) => "ENROLL_TIME_CONFLICT",
            Full { .. } => "ENROLL_FULL",
            Duplicate { .. } | TransferDuplicate { .. } => "ENROLL_DUPLICATE",
            NotHeldToCancel { .. } | NotHeldToConfirm { .. } => "ENROLLMENT_NOT_HELD",
            HoldExpired { .. } => "HOLD_EXPIRED",
            WaitlistNotNeeded { .. } => "WAITLIST_NOT_NEEDED",
            WaitlistDuplicate { .. } => "WAITLIST_DUPLICATE",
            NotALottery => "NOT_A_LOTTERY",
            DrawTooEarly { .. } => "DRAW_TOO_EARLY",
            AlreadyDrawn { .. } => "ALREADY_DRAWN",
            NotDrawn { .. } => "NOT_DRAWN",
            TextTooLong { .. } | ReasonMissing | CancelReasonMissing | WithdrawalTarget => {
                "INVALID_FIELDS"
            }
            RequestNotConfirmed { .. }
            | RequestCourseEnded { .. }
            | RequestNoLongerConfirmed { .. } => "REQUEST_NOT_ALLOWED",
            RequestPending { .. } => "REQUEST_PENDING",
            RequestDecided { .. } => "REQUEST_DECIDED",
            TargetInvalid { .. } => "TRANSFER_TARGET_INVALID",
            ReviewCommentRequired { .. } => "REVIEW_COMMENT_REQUIRED",
            TransferTargetFull { .. } => "TRANSFER_TARGET_FULL",
            NotLive { .. } | EndedMeanwhile { .. } => "ENROLLMENT_NOT_LIVE",
            Invariant(_) => "INTERNAL",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use EnrollmentError::*;
        match self {
            ChildNotFound { .. } => "找不到该孩子，或您不是该孩子的家长".into(),
            CourseNotFound { .. } => "找不到该课程".into(),
            EnrollmentNotFound { .. } => "找不到该报名记录".into(),
            RequestNotFound { .. } => "找不到该申请".into(),
            CourseNotOpen { name, .. } => format!("“{name}”未发布或已停止报名"),
            OutsideWindow {
                name,
                opens_at,
                closes_at,
                ..
            } => format!(
                "“{name}”的报名时间为 {} 至 {}",
                cst(opens_at),
                cst(closes_at)
            ),
            NotEligible { name, .. } => format!("“{name}”不面向孩子所在年级开放"),
            LotteryApplyInstead { name, .. } => {
                format!("“{name}”名额以抽签分配，请在报名期内提交抽签申请")
            }
            TimeConflict { clash } => clash.message.clone(),
            Full { name, .. } => format!("“{name}”名额已满，可加入候补名单"),
            Duplicate { name, .. } => format!("孩子已报名“{name}”，无需重复报名"),
            NotHeldToCancel { .. } => "只能取消待支付的报名；已报名的课程请提交退课申请".into(),
            HoldExpired { .. } => "名额保留已超时，请重新报名".into(),
            NotHeldToConfirm { .. } => "该报名不在待支付状态".into(),
            WaitlistNotNeeded { name, .. } => format!("“{name}”还有名额，请直接报名"),
            WaitlistDuplicate { name, .. } => {
                format!("孩子已报名或已在“{name}”的候补/抽签名单中")
            }
            NotALottery => "该课程按报名先后分配名额，无需抽签".into(),
            DrawTooEarly { .. } => "报名尚未截止，截止后才能抽签".into(),
            AlreadyDrawn { .. } => "该课程已抽签，结果不能重抽".into(),
            NotDrawn { .. } => "该课程尚未抽签".into(),
            TextTooLong { field } => format!("{field}不能超过 {TEXT_MAX} 个字"),
            ReasonMissing => "请填写原因".into(),
            CancelReasonMissing => "请填写取消原因".into(),
            WithdrawalTarget => "退课申请不需要选择目标课程".into(),
            RequestNotConfirmed { status, .. } => match status {
                EnrollmentStatus::Held => {
                    "该报名尚未缴费确认，无需申请退课或调班，请直接取消报名".into()
                }
                s => format!("该报名{}，不能再申请退课或调班", s.label()),
            },
            RequestCourseEnded { course_name, .. } => {
                format!("“{course_name}”已结课，不能再申请退课或调班")
            }
            RequestNoLongerConfirmed { .. } => "该报名已不在已报名状态，请驳回此申请".into(),
            RequestPending { course_name, .. } => {
                format!("“{course_name}”已有一份待审核的申请，请等待班主任处理或先撤回")
            }
            RequestDecided { status, .. } => {
                format!("该申请{}，不能再处理", status.label())
            }
            TargetInvalid { problem, .. } => match problem {
                TargetProblem::NoneChosen => "请选择要调入的课程".into(),
                TargetProblem::SameCourse => "调入的课程不能是当前课程".into(),
                TargetProblem::NotFound => "找不到要调入的课程".into(),
                TargetProblem::NotOpen { name } => format!("“{name}”未发布或已停止报名"),
                TargetProblem::NotEligible { name } => {
                    format!("“{name}”不面向孩子所在年级开放")
                }
                TargetProblem::Series { name } => {
                    format!("“{name}”是系列课程，请选择其中具体的项目")
                }
                TargetProblem::AlreadyBooked { name } => format!("孩子已报名“{name}”"),
            },
            ReviewCommentRequired { .. } => "驳回申请时请填写审核意见，告诉家长原因".into(),
            TransferTimeConflict(k) => format!(
                "时间冲突：“{}”与孩子已报名的“{}”都在{} {}–{}，暂不能调班",
                k.course_name,
                k.with_name,
                weekdays_zh(&k.weekdays),
                k.starts_at,
                k.ends_at
            ),
            TransferTargetFull { name, .. } => format!("“{name}”名额已满，暂不能调班"),
            TransferDuplicate { name, .. } => format!("孩子已报名“{name}”"),
            NotLive { status, .. } => format!("该报名{}，无需取消", status.label()),
            EndedMeanwhile { .. } => "该报名已结束，无需取消".into(),
            Invariant(_) => "服务器内部错误，请稍后重试".into(),
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use EnrollmentError::*;
        if let Some(field) = self.invalid_field() {
            return invalid_fields(field, &self.user_message());
        }
        match self {
            ChildNotFound { student_id } => json!({ "student_id": student_id }),
            CourseNotFound { course_id }
            | CourseNotOpen { course_id, .. }
            | LotteryApplyInstead { course_id, .. }
            | Duplicate { course_id, .. }
            | WaitlistNotNeeded { course_id, .. }
            | WaitlistDuplicate { course_id, .. }
            | AlreadyDrawn { course_id }
            | NotDrawn { course_id } => json!({ "course_id": course_id }),
            EnrollmentNotFound { id }
            | RequestNotFound { id }
            | ReviewCommentRequired { id }
            | EndedMeanwhile { id } => json!({ "id": id }),
            OutsideWindow {
                course_id,
                opens_at,
                closes_at,
                ..
            } => json!({ "course_id": course_id, "opens_at": opens_at, "closes_at": closes_at }),
            NotEligible {
                course_id,
                eligible_levels,
                ..
            } => json!({ "course_id": course_id, "eligible_levels": eligible_levels }),
            TimeConflict { clash: k } => json!({
                "course_id": k.course_id,
                "conflicts_with": { "course_id": k.with_course_id, "name": k.with_course_name,
                    "weekdays": k.weekdays, "starts_at": k.starts_at, "ends_at": k.ends_at },
            }),
            Full { course_id, .. } => json!({ "course_id": course_id, "waitlist": true }),
            NotHeldToCancel { id, status }
            | HoldExpired { id, status }
            | NotHeldToConfirm { id, status }
            | NotLive { id, status } => json!({ "id": id, "status": status.as_str() }),
            DrawTooEarly { closes_at } => json!({ "closes_at": closes_at }),
            RequestNotConfirmed {
                enrollment_id,
                status,
            } => json!({ "enrollment_id": enrollment_id, "status": status.as_str() }),
            RequestCourseEnded {
                enrollment_id,
                ends_on,
                ..
            } => json!({ "enrollment_id": enrollment_id, "ends_on": ends_on }),
            RequestNoLongerConfirmed {
                id,
                enrollment_status,
            } => json!({ "id": id, "enrollment_status": enrollment_status.as_str() }),
            RequestPending { enrollment_id, .. } => json!({ "enrollment_id": enrollment_id }),
            RequestDecided { id, status } => json!({ "id": id, "status": status.as_str() }),
            TargetInvalid { target, .. } => json!({ "target_course_id": target }),
            TransferTimeConflict(k) => json!({
                "id": k.request_id,
                "course_id": k.course_id,
                "conflicts_with": { "course_id": k.with_course_id, "name": k.with_name, "weekdays": k.weekdays },
            }),
            TransferTargetFull {
                request_id,
                course_id,
                ..
            }
            | TransferDuplicate {
                request_id,
                course_id,
                ..
            } => json!({ "id": request_id, "course_id": course_id }),
            Upstream(e) => e.details(),
            Db(e) => e.details(),
            _ => json!({}),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            EnrollmentError::Upstream(e) => e.retry_after(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_code_per_refusal_with_the_details_clients_read() {
        let e = EnrollmentError::EnrollmentNotFound { id: 7 };
        assert_eq!(
            (e.code(), e.kind()),
            ("ENROLLMENT_NOT_FOUND", ErrorKind::NotFound)
        );
        assert_eq!(e.details(), json!({ "id": 7 }));
        let e = EnrollmentError::TextTooLong { field: "原因" };
        assert_eq!(e.code(), "INVALID_FIELDS");
        assert_eq!(e.details()["fields"][0]["field"], "原因");
        assert_eq!(e.details()["fields"][0]["reason"], e.user_message());
        let e = EnrollmentError::RequestNotConfirmed {
            enrollment_id: 1,
            status: EnrollmentStatus::Held,
        };
        assert!(e.user_message().contains("请直接取消报名"));
        assert_eq!(e.details()["status"], "held");
        let e = EnrollmentError::RequestDecided {
            id: 2,
            status: RequestStatus::Rejected,
        };
        assert_eq!(e.user_message(), "该申请已驳回，不能再处理");
    }
}
