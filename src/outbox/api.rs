//! The outbox's JSON endpoints (the operator console's page calls the same services):
//! the queue's figures, the dead and failing events, and the retry or discard of a dead one.

use chrono::{DateTime, Utc};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::perms::{DEAD_DISCARD, DEAD_HANDLE, QUEUE};
use super::{DeadAction, EventRow, EventState};
use crate::auth::guard::{authorize, Session};
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OutboxEventView {
    pub id: i64,
    pub tenant_id: Option<i64>,
    /// 事件类型（supervision.push、notify.message、payments.refund …）
    pub kind: String,
    /// 类型中文名
    pub kind_label: String,
    /// 排序对象：同一对象的事件按写入顺序发送
    pub entity: String,
    /// pending | dead | done | discarded
    pub state: String,
    pub state_label: String,
    pub attempts: i32,
    pub next_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<EventRow> for OutboxEventView {
    fn from(e: EventRow) -> Self {
        OutboxEventView {
            id: e.id,
            tenant_id: e.tenant_id,
            kind_label: super::pages::kind_label(&e.kind).into(),
            kind: e.kind,
            entity: e.entity,
            state: e.state.as_str().into(),
            state_label: e.state.label().into(),
            attempts: e.attempts,
            next_at: e.next_at,
            last_error: e.last_error,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Object)]
pub struct KindCount {
    pub kind: String,
    pub kind_label: String,
    pub pending: i64,
}

#[derive(Debug, Object)]
pub struct OutboxQueueView {
    /// 待发送
    pub pending: i64,
    /// 重试中（失败过至少一次的待发送）
    pub failing: i64,
    /// 已停止重试
    pub dead: i64,
    /// 最早待发送事件已等待的秒数
    pub oldest_pending_secs: f64,
    pub by_kind: Vec<KindCount>,
    /// 已停止重试的事件（最新的 100 条）
    pub dead_events: Vec<OutboxEventView>,
    /// 正在重试的事件（最新的 100 条）
    pub failing_events: Vec<OutboxEventView>,
}

pub struct OutboxApi;

#[OpenApi(tag = "ApiTags::Platform")]
impl OutboxApi {
    /// 对外推送队列：积压、最早待发送时长、失败与已停止重试的事件（系统管理员）
    #[oai(
        path = "/platform/outbox",
        method = "get",
        operation_id = "platform_outbox"
    )]
    async fn queue(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<OutboxQueueView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &QUEUE).await?;
        let s = super::stats(app.0).await?;
        let dead = super::list(app.0, EventState::Dead, 100).await?;
        let failing = super::list(app.0, EventState::Pending, 100).await?;
        Ok(Json(OutboxQueueView {
            pending: s.pending,
            failing: s.failing,
            dead: s.dead,
            oldest_pending_secs: s.oldest_pending_secs,
            by_kind: s
                .by_kind
                .into_iter()
                .map(|(kind, pending)| KindCount {
                    kind_label: super::pages::kind_label(&kind).into(),
                    kind,
                    pending,
                })
                .collect(),
            dead_events: dead.into_iter().map(Into::into).collect(),
            failing_events: failing.into_iter().map(Into::into).collect(),
        }))
    }

    /// 重试一条已停止重试的事件（记入审计日志）
    #[oai(
        path = "/platform/outbox/:id/retry",
        method = "post",
        operation_id = "platform_outbox_dead"
    )]
    async fn retry(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<OutboxEventView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &DEAD_HANDLE).await?;
        act(app.0, &session.0, id.0, DeadAction::Retry).await
    }

    /// 丢弃一条已停止重试的事件，不再发送（记入审计日志）
    #[oai(
        path = "/platform/outbox/:id/discard",
        method = "post",
        operation_id = "platform_outbox_discard"
    )]
    async fn discard(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<OutboxEventView>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &DEAD_DISCARD).await?;
        act(app.0, &session.0, id.0, DeadAction::Discard).await
    }
}

async fn act(
    st: &crate::kernel::ctx::Ctx,
    auth: &crate::auth::model::AuthContext,
    id: i64,
    action: DeadAction,
) -> Result<Json<OutboxEventView>, ApiError> {
    super::handle_dead(st, auth.account_id, auth.source_ip.clone(), id, action).await?;
    let row = super::event(st, id).await?;
    Ok(Json(row.into()))
}
