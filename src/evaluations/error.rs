//! Evaluations' refusals: one variant per kind of refusal, each with its stable code, HTTP
//! class, Chinese message and details. A refused request has changed nothing.
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use serde_json::{json, Value};

use super::model::CONTENT_MAX;
use crate::audit::AuditError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum EvaluationError {
    #[error("child {student_id} not the caller's")]
    ChildNotFound { student_id: i64 },
    #[error("child does not attend course {course_id}")]
    NotAttending { course_id: i64 },
    #[error("course missing")]
    CourseMissing,
    #[error("score {value} invalid")]
    ScoreInvalid { value: i32 },
    #[error("content too long")]
    ContentInvalid,
    #[error("evaluation {id} exists for this term")]
    Exists { id: i64 },
    #[error("evaluation {id} not found")]
    NotFound { id: i64 },
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

crate::refusals_into!(EvaluationError::Upstream: AuditError);

impl DomainError for EvaluationError {
    fn kind(&self) -> ErrorKind {
        use EvaluationError::*;
        match self {
            ChildNotFound { .. } | NotFound { .. } => ErrorKind::NotFound,
            Exists { .. } => ErrorKind::Conflict,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn code(&self) -> &'static str {
        use EvaluationError::*;
        match self {
            ChildNotFound { .. } => "CHILD_NOT_FOUND",
            NotAttending { .. } => "EVALUATION_NOT_ATTENDING",
            CourseMissing => "EVALUATION_COURSE_MISSING",
            ScoreInvalid { .. } => "SCORE_INVALID",
            ContentInvalid => "EVALUATION_CONTENT_INVALID",
            Exists { .. } => "EVALUATION_EXISTS",
            NotFound { .. } => "EVALUATION_NOT_FOUND",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use EvaluationError::*;
        match self {
            ChildNotFound { .. } => "找不到该孩子，或不是您绑定的孩子".into(),
            NotAttending { .. } => "孩子没有在上这门课，不能评价".into(),
            CourseMissing => "请选择要评价的课程".into(),
            ScoreInvalid { value } => format!("评分“{value}”不正确：请选 1 到 5 分"),
            ContentInvalid => format!("评价内容不超过 {CONTENT_MAX} 个字"),
            Exists { .. } => "本学期已经评价过这门课，可以修改原来的评价".into(),
            NotFound { .. } => "找不到该评价".into(),
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use EvaluationError::*;
        match self {
            ChildNotFound { student_id } => json!({ "student_id": student_id }),
            NotAttending { course_id } => json!({ "course_id": course_id }),
            ScoreInvalid { value } => json!({ "field": "score", "value": value }),
            ContentInvalid => json!({ "field": "content", "max": CONTENT_MAX }),
            CourseMissing => json!({ "field": "course_id" }),
            Exists { id } | NotFound { id } => json!({ "id": id }),
            Upstream(e) => e.details(),
            _ => json!({}),
        }
    }
}
