//! Evaluations' routes. Thin: each checks its permission, opens the tenant transaction and
//! calls the service.

use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;

use super::model::*;
use super::perms::*;
use super::service;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct EvaluationApi;

#[OpenApi(tag = "ApiTags::School")]
impl EvaluationApi {
    /// 孩子在上的课与评价（R-P15）
    #[oai(
        path = "/school/children/:id/evaluations",
        method = "get",
        operation_id = "child_evaluations"
    )]
    async fn of_child(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<ChildCourseEvaluation>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CHILD).await?;
        let out = service::of_child(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 评价一门课（R-P15、F6）
    ///
    /// 孩子在上的课，每学期一次，1 到 5 分加文字；之后可修改。同时推送到市监管平台（F6）。
    #[oai(
        path = "/school/children/:id/evaluations",
        method = "post",
        operation_id = "evaluation_create"
    )]
    async fn create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<EvaluationInput>,
    ) -> Result<Json<EvaluationView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CREATE).await?;
        let out = service::create(&mut tx, &session.actor(app.0), id.0, &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改评价
    #[oai(
        path = "/school/evaluations/:id",
        method = "put",
        operation_id = "evaluation_update"
    )]
    async fn update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<EvaluationInput>,
    ) -> Result<Json<EvaluationView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &UPDATE).await?;
        let out = service::update(&mut tx, &session.actor(app.0), id.0, &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 评价汇总（管理员）：每门课、每位教师的评分和最近的评价内容
    #[oai(
        path = "/school/evaluations/summary",
        method = "get",
        operation_id = "evaluation_summary"
    )]
    async fn summary(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<EvaluationSummary>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SUMMARY).await?;
        let out = service::summary(&mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
