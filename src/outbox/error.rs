//! The refusals and failures of the outbox's operator actions.

use serde_json::{json, Value};

use super::model::EventState;
use crate::audit::AuditError;
use crate::kernel::error::{DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox event {id} not found")]
    NotFound { id: i64 },
    #[error("outbox event {id} is {state:?}, not dead")]
    NotDead { id: i64, state: EventState },
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl DomainError for OutboxError {
    fn kind(&self) -> ErrorKind {
        match self {
            OutboxError::NotFound { .. } => ErrorKind::NotFound,
            OutboxError::NotDead { .. } => ErrorKind::Conflict,
            OutboxError::Audit(e) => e.kind(),
            OutboxError::Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            OutboxError::NotFound { .. } => "OUTBOX_EVENT_NOT_FOUND",
            OutboxError::NotDead { .. } => "OUTBOX_EVENT_NOT_DEAD",
            OutboxError::Audit(e) => e.code(),
            OutboxError::Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        match self {
            OutboxError::NotFound { id } => format!("找不到待发消息 {id}"),
            OutboxError::NotDead { id, state } => {
                format!(
                    "消息 {id} 当前状态为“{}”，只有已停止重试的消息可以重试或丢弃",
                    state.label()
                )
            }
            OutboxError::Audit(e) => e.user_message(),
            OutboxError::Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        match self {
            OutboxError::NotFound { id } => json!({ "id": id }),
            OutboxError::NotDead { id, state } => json!({ "id": id, "state": state.as_str() }),
            _ => Value::Object(Default::default()),
        }
    }
}
