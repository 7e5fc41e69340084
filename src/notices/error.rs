//! The notices' refusals: one variant per kind of refusal, each with its stable code, HTTP
//! class, Chinese message and details. A refused request has changed nothing.
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use serde_json::{json, Value};

use super::model::{BODY_MAX, TITLE_MAX};
use crate::audit::AuditError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::people::error::PeopleError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("notice {id} not found")]
    NotFound { id: i64 },
    #[error("title invalid")]
    TitleInvalid,
    #[error("body invalid")]
    BodyInvalid,
    #[error("audience {value:?} invalid")]
    AudienceInvalid { value: String },
    #[error("audience {audience} without targets")]
    TargetsMissing { audience: &'static str },
    #[error("grade {id} not found")]
    GradeNotFound { id: i64 },
    #[error("class {id} not found")]
    ClassNotFound { id: i64 },
    /// A homeroom teacher addressing a class they do not lead, a grade or the school.
    #[error("class {class_id:?} is not the caller's")]
    ScopeForbidden { class_id: Option<i64> },
    #[error("notice {id} is {status}, cannot {action}")]
    StatusInvalid {
        id: i64,
        status: &'static str,
        action: &'static str,
    },
    #[error("notice published: its audience cannot change")]
    AudienceLocked,
    #[error("notice {id} withdrawn")]
    Withdrawn { id: i64 },
    #[error("notice already has {max} pictures")]
    TooManyPictures { max: usize },
    #[error("picture {position} not found")]
    PictureNotFound { position: i32 },
    #[error(transparent)]
    Storage(StorageError),
    #[error("notice invariant broken: {0}")]
    Invariant(String),
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<StorageError> for NoticeError {
    fn from(e: StorageError) -> Self {
        if let StorageError::Backend(_) = e {
            tracing::error!(error = %e, "object store failed");
        }
        NoticeError::Storage(e)
    }
}

crate::refusals_into!(NoticeError::Upstream: AuditError, PeopleError);

impl DomainError for NoticeError {
    fn kind(&self) -> ErrorKind {
        use NoticeError::*;
        match self {
            NotFound { .. }
            | Withdrawn { .. }
            | GradeNotFound { .. }
            | ClassNotFound { .. }
            | PictureNotFound { .. } => ErrorKind::NotFound,
            ScopeForbidden { .. } => ErrorKind::Forbidden,
            StatusInvalid { .. } | AudienceLocked | TooManyPictures { .. } => ErrorKind::Conflict,
            Storage(e) => e.kind(),
            Invariant(_) => ErrorKind::Internal,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn code(&self) -> &'static str {
        use NoticeError::*;
        match self {
            NotFound { .. } => "NOTICE_NOT_FOUND",
            TitleInvalid => "NOTICE_TITLE_INVALID",
            BodyInvalid => "NOTICE_BODY_INVALID",
            AudienceInvalid { .. } => "NOTICE_AUDIENCE_INVALID",
            TargetsMissing { .. } => "NOTICE_TARGETS_MISSING",
            GradeNotFound { .. } => "GRADE_NOT_FOUND",
            ClassNotFound { .. } => "CLASS_NOT_FOUND",
            ScopeForbidden { .. } => "NOTICE_SCOPE_FORBIDDEN",
            StatusInvalid { .. } => "NOTICE_STATUS_INVALID",
            AudienceLocked => "NOTICE_AUDIENCE_LOCKED",
            Withdrawn { .. } => "NOTICE_WITHDRAWN",
            TooManyPictures { .. } => "NOTICE_TOO_MANY_PICTURES",
            PictureNotFound { .. } | Storage(StorageError::NotFound(_)) => "PICTURE_NOT_FOUND",
            Storage(StorageError::InvalidKey(_) | StorageError::Config(_)) => "INTERNAL",
            Storage(e) => e.code(),
            Invariant(_) => "INTERNAL",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use NoticeError::*;
        match self {
            NotFound { .. } => "找不到该通知，或它不是发给您的".into(),
            TitleInvalid => format!("标题不能为空，且不超过 {TITLE_MAX} 个字"),
            BodyInvalid => format!("正文不能为空，且不超过 {BODY_MAX} 个字"),
            AudienceInvalid { value } => {
                format!("发送范围“{value}”不正确：可选 全校、年级 或 班级")
            }
            TargetsMissing { audience } => format!("请至少选择一个{audience}"),
            GradeNotFound { .. } => "找不到该年级".into(),
            ClassNotFound { .. } => "找不到该班级".into(),
            ScopeForbidden { class_id: Some(_) } => {
                "您不是该班的班主任，只能给自己带的班级发通知".into()
            }
            ScopeForbidden { class_id: None } => {
                "班主任只能给自己带的班级发通知；发给全校或年级请联系学校管理员".into()
            }
            StatusInvalid { status, action, .. } => {
                format!("该通知当前为“{status}”，不能{action}")
            }
            AudienceLocked => {
                "通知已发布，不能再修改发送范围；如需发给其他班级，请另发一条通知".into()
            }
            Withdrawn { .. } => "该通知已被发布人撤回".into(),
            TooManyPictures { max } => format!("每条通知最多 {max} 张图片"),
            PictureNotFound { .. } => "找不到该图片".into(),
            Storage(e) => e.picture_message(),
            Invariant(_) => "服务器内部错误，请稍后重试".into(),
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use NoticeError::*;
        match self {
            NotFound { id } | Withdrawn { id } | GradeNotFound { id } | ClassNotFound { id } => {
                json!({ "id": id })
            }
            AudienceInvalid { value } => json!({ "field": "audience", "value": value }),
            TargetsMissing { audience } => json!({ "audience": audience }),
            ScopeForbidden { class_id } => json!({ "class_id": class_id }),
            StatusInvalid { id, status, .. } => json!({ "id": id, "status": status }),
            TooManyPictures { max } => json!({ "max": max }),
            PictureNotFound { position } => json!({ "position": position }),
            TitleInvalid => json!({ "field": "title", "max": TITLE_MAX }),
            BodyInvalid => json!({ "field": "body", "max": BODY_MAX }),
            Upstream(e) => e.details(),
            _ => json!({}),
        }
    }
}
