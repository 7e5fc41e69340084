//! Attendance's refusals: one variant per kind of refusal, each with its stable code, HTTP
//! class, Chinese message and details. A refused request has changed nothing.
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use crate::audit::AuditError;
use crate::clock::cst;
use crate::enrollment::error::EnrollmentError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::people::error::PeopleError;

fn hm(t: &DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%H:%M").to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum AttendanceError {
    #[error("course {course_id} has no session on {day}")]
    NoSession { course_id: i64, day: NaiveDate },
    /// The course meets that weekday, but the calendar gives the day off.
    #[error("session of course {course_id} on {day} cancelled: {reason}")]
    SessionCancelled {
        course_id: i64,
        day: NaiveDate,
        reason: String,
    },
    /// The caller is no teacher of the course (nor an admin, for the roll).
    #[error("course {course_id} is not the caller's")]
    NotYourSession { course_id: i64 },
    #[error("check-in for {day} outside {opens_at}..{closes_at}")]
    OutsideWindow {
        day: NaiveDate,
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    },
    #[error("already checked in at {at}")]
    AlreadyCheckedIn { at: DateTime<Utc> },
    #[error("{distance_m} m from the school, more than {radius_m} m")]
    TooFar { distance_m: i32, radius_m: i32 },
    #[error("location invalid")]
    LocationInvalid,
    #[error("roll before any check-in")]
    CheckinFirst,
    #[error("roll of a session not started")]
    NotStarted { starts_at: DateTime<Utc> },
    #[error("student {student_id} not in the session")]
    NotInSession { student_id: i64 },
    #[error("mark {value:?} invalid")]
    MarkInvalid { value: String },
    #[error("rule {field} invalid")]
    RulesInvalid { field: &'static str },
    #[error("lesson record invalid")]
    RecordInvalid,
    #[error("no lesson record yet")]
    RecordFirst,
    #[error("comment invalid")]
    CommentInvalid,
    #[error("record has {max} pictures")]
    TooManyPictures { max: usize },
    #[error("child {student_id} not the caller's")]
    ChildNotFound { student_id: i64 },
    #[error("inspection notes invalid")]
    NotesInvalid,
    #[error("inspection {id} not found")]
    InspectionNotFound { id: i64 },
    #[error(transparent)]
    Storage(crate::storage::StorageError),
    #[error("class {id} not found")]
    ClassNotFound { id: i64 },
    #[error("month {value:?} invalid")]
    MonthInvalid { value: String },
    #[error("report workbook: {0}")]
    Workbook(String),
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

crate::refusals_into!(AttendanceError::Upstream: AuditError, PeopleError, EnrollmentError);

impl From<crate::storage::StorageError> for AttendanceError {
    fn from(e: crate::storage::StorageError) -> Self {
        if let crate::storage::StorageError::Backend(_) = e {
            tracing::error!(error = %e, "object store failed");
        }
        AttendanceError::Storage(e)
    }
}

impl DomainError for AttendanceError {
    fn kind(&self) -> ErrorKind {
        use AttendanceError::*;
        match self {
            NoSession { .. }
            | ClassNotFound { .. }
            | InspectionNotFound { .. }
            | ChildNotFound { .. } => ErrorKind::NotFound,
            Storage(e) => e.kind(),
            NotYourSession { .. } => ErrorKind::Forbidden,
            SessionCancelled { .. }
            | OutsideWindow { .. }
            | AlreadyCheckedIn { .. }
            | CheckinFirst
            | RecordFirst
            | TooManyPictures { .. }
            | NotStarted { .. } => ErrorKind::Conflict,
            Workbook(_) => ErrorKind::Internal,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn code(&self) -> &'static str {
        use AttendanceError::*;
        match self {
            NoSession { .. } => "SESSION_NOT_FOUND",
            SessionCancelled { .. } => "SESSION_CANCELLED",
            NotYourSession { .. } => "SESSION_NOT_YOURS",
            OutsideWindow { .. } => "CHECKIN_OUTSIDE_WINDOW",
            AlreadyCheckedIn { .. } => "CHECKIN_TWICE",
            TooFar { .. } => "CHECKIN_TOO_FAR",
            LocationInvalid => "CHECKIN_LOCATION_INVALID",
            CheckinFirst => "ROLL_BEFORE_CHECKIN",
            NotStarted { .. } => "SESSION_NOT_STARTED",
            NotInSession { .. } => "STUDENT_NOT_IN_SESSION",
            MarkInvalid { .. } => "MARK_INVALID",
            RulesInvalid { .. } => "ATTENDANCE_RULES_INVALID",
            MonthInvalid { .. } => "MONTH_INVALID",
            ClassNotFound { .. } => "CLASS_NOT_FOUND",
            NotesInvalid => "INSPECTION_NOTES_INVALID",
            RecordInvalid => "LESSON_RECORD_INVALID",
            RecordFirst => "LESSON_RECORD_FIRST",
            CommentInvalid => "LESSON_COMMENT_INVALID",
            TooManyPictures { .. } => "LESSON_TOO_MANY_PICTURES",
            ChildNotFound { .. } => "CHILD_NOT_FOUND",
            InspectionNotFound { .. } => "INSPECTION_NOT_FOUND",
            Storage(crate::storage::StorageError::NotFound(_)) => "PICTURE_NOT_FOUND",
            Storage(
                crate::storage::StorageError::InvalidKey(_)
                | crate::storage::StorageError::Config(_),
            ) => "INTERNAL",
            Storage(e) => e.code(),
            Workbook(_) => "INTERNAL",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use AttendanceError::*;
        match self {
            NoSession { day, .. } => format!("该课程在 {day} 没有课"),
            SessionCancelled { day, reason, .. } => {
                format!("{day} 停课（{reason}），不能签到或点名")
            }
            NotYourSession { .. } => "您不是这门课的任课教师，不能签到或点名".into(),
            OutsideWindow {
                day,
                opens_at,
                closes_at,
            } => format!(
                "不在签到时间内：{day} 的签到时间为 {} 至 {}",
                hm(opens_at),
                hm(closes_at)
            ),
            AlreadyCheckedIn { at } => format!("您已于 {} 签到，无需重复签到", hm(at)),
            TooFar {
                distance_m,
                radius_m,
            } => format!("您距离学校约 {distance_m} 米，超出签到范围（{radius_m} 米以内）"),
            LocationInvalid => "定位数据不正确，请重新获取位置后签到".into(),
            CheckinFirst => "请先签到，再点名".into(),
            NotStarted { starts_at } => {
                format!("课程还没开始（{} 上课），开始后再点名", hm(starts_at))
            }
            NotInSession { .. } => "该学生没有报名这节课，不能点名".into(),
            MarkInvalid { value } => {
                format!("考勤状态“{value}”不正确：可选 已到、迟到、缺勤、早退、请假")
            }
            RulesInvalid { field } => match *field {
                "opens_before_min" => "提前签到的分钟数应在 0 到 120 之间".into(),
                "late_after_min" => "迟到宽限的分钟数应在 0 到 60 之间".into(),
                "radius_m" => "签到半径应在 50 到 5000 米之间".into(),
                _ => "学校位置不正确：请同时填写纬度、经度和签到半径，或都不填".into(),
            },
            MonthInvalid { value } => format!("月份“{value}”不正确，应为 2026-10 这样的年月"),
            Workbook(_) => "服务器内部错误，请稍后重试".into(),
            ClassNotFound { .. } => "找不到该班级，或不是您负责的班级".into(),
            NotesInvalid => "请填写巡课所见情况，不超过 500 个字".into(),
            RecordInvalid => "请填写本节课的内容，不超过 2000 个字".into(),
            RecordFirst => "请先保存本节课的内容，再上传照片".into(),
            CommentInvalid => {
                "点评请至少填写一个标签或一段文字：标签最多 5 个、每个不超过 10 个字，文字不超过 500 个字"
                    .into()
            }
            TooManyPictures { max } => format!("每节课最多 {max} 张照片"),
            ChildNotFound { .. } => "找不到该孩子，或不是您绑定的孩子".into(),
            InspectionNotFound { .. } => "找不到该巡课记录".into(),
            Storage(e) => e.picture_message(),
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use AttendanceError::*;
        match self {
            NoSession { course_id, day } | SessionCancelled { course_id, day, .. } => {
                json!({ "course_id": course_id, "day": day })
            }
            NotYourSession { course_id } => json!({ "course_id": course_id }),
            OutsideWindow {
                opens_at,
                closes_at,
                ..
            } => json!({ "opens_at": opens_at, "closes_at": closes_at }),
            AlreadyCheckedIn { at } => json!({ "checked_in_at": at }),
            TooFar {
                distance_m,
                radius_m,
            } => json!({ "distance_m": distance_m, "radius_m": radius_m }),
            NotInSession { student_id } => json!({ "student_id": student_id }),
            MarkInvalid { value } => json!({ "field": "mark", "value": value }),
            RulesInvalid { field } => json!({ "field": field }),
            MonthInvalid { value } => json!({ "field": "month", "value": value }),
            ClassNotFound { id } | InspectionNotFound { id } => json!({ "id": id }),
            NotesInvalid => json!({ "field": "notes", "max": 500 }),
            RecordInvalid => json!({ "field": "content", "max": 2000 }),
            CommentInvalid => json!({ "field": "comment" }),
            TooManyPictures { max } => json!({ "max": max }),
            ChildNotFound { student_id } => json!({ "student_id": student_id }),
            Upstream(e) => e.details(),
            _ => json!({}),
        }
    }
}
