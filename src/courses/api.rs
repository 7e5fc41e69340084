//! Endpoints of after-school courses (F2; R-S06): create and edit drafts, publish and
//! close, pictures, and the course list parents book from. Each handler: authorize in the
//! school → open the tenant transaction → one service call → commit. Rules, audit records
//! and SQL live in `service.rs` and `repo.rs`, never here.
//!
//! Every route of `/school/courses` is in this one struct: poem-openapi 5.1 writes one
//! `paths` entry per API struct (poem-web/poem#923).

use super::perms::{CLOSE, CREATE, LIST, PICTURE_ADD, PICTURE_GET, PUBLISH, SHOW, UPDATE};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Binary, Json, Response};
use poem_openapi::types::multipart::Upload as UploadFile;
use poem_openapi::{Multipart, OpenApi};
use serde_json::json;
use tokio::io::AsyncReadExt;

use super::error::CourseError;
use super::model::{
    CourseClassType, CoursePatch, CourseStatus, CourseView, NewCourse, PICTURE_MAX_BYTES,
};
use super::service::{self, CourseQuery, PictureUpload};
use crate::auth::guard::Session;
use crate::error::{ApiError, ErrorKind};
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;
use crate::storage::StorageError;

pub struct CourseApi;

#[derive(Debug, Multipart)]
pub struct CoursePictureForm {
    /// JPEG、PNG 或 WebP 图片，不超过 5 MB
    pub file: UploadFile,
}

/// The uploaded file's bytes, read with the picture ceiling whatever the request declares
/// (a chunked body has no length for the body-size middleware to refuse).
pub(crate) async fn read_picture(file: UploadFile) -> Result<PictureUpload, ApiError> {
    let declared = file.content_type().map(str::to_string);
    let limit = PICTURE_MAX_BYTES as u64;
    let mut bytes = Vec::new();
    file.into_async_read()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| {
            ApiError::new(
                ErrorKind::BadRequest,
                "UPLOAD_INTERRUPTED",
                "文件上传中断，请重新上传",
                json!({ "detail": e.to_string() }),
            )
        })?;
    if bytes.len() > PICTURE_MAX_BYTES {
        return Err(CourseError::from(StorageError::TooLarge {
            max_bytes: PICTURE_MAX_BYTES,
            actual: bytes.len(),
        })
        .into());
    }
    Ok(PictureUpload { bytes, declared })
}

#[OpenApi(tag = "ApiTags::School")]
impl CourseApi {
    /// 课程列表（F2）
    ///
    /// 单独课程与系列课程（子项目列在 `sub_items` 中），含剩余名额。家长只看到已发布的课程。
    #[oai(
        path = "/school/courses",
        method = "get",
        operation_id = "courses_list"
    )]
    async fn list(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        /// 学期代码，如 2026-autumn
        term_code: Query<Option<String>>,
        status: Query<Option<CourseStatus>>,
        class_type: Query<Option<CourseClassType>>,
    ) -> Result<Json<Vec<CourseView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LIST).await?;
        let q = CourseQuery {
            term_code: term_code.0.filter(|s| !s.trim().is_empty()),
            status: status.0,
            class_type: class_type.0,
        };
        let out = service::list(&mut tx, &session.actor(app.0), &q).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新建课程（草稿，F2）
    ///
    /// 托管班须按天计费，培训班须按课程计费；开课日期默认为学期起止日期。每项校验失败各有错误码，
    /// 不做任何修改。
    #[oai(
        path = "/school/courses",
        method = "post",
        operation_id = "courses_create"
    )]
    async fn create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewCourse>,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CREATE).await?;
        let out = service::create(&mut tx, &session.actor(app.0), body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 课程详情
    #[oai(
        path = "/school/courses/:id",
        method = "get",
        operation_id = "courses_show"
    )]
    async fn show(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SHOW).await?;
        let out = service::get(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改课程
    ///
    /// 课程代码与学期不可修改；开班规模不能少于已占名额（CAPACITY_BELOW_TAKEN）。
    #[oai(
        path = "/school/courses/:id",
        method = "patch",
        operation_id = "courses_update"
    )]
    async fn update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<CoursePatch>,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &UPDATE).await?;
        let out = service::update(&mut tx, &session.actor(app.0), id.0, body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 发布课程（草稿 → 已发布；系列课程连同其子项目一起发布）
    #[oai(
        path = "/school/courses/:id/publish",
        method = "post",
        operation_id = "courses_publish"
    )]
    async fn publish(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PUBLISH).await?;
        let out = service::publish(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 关闭课程（已发布 → 已关闭；系列课程连同其子项目一起关闭）
    #[oai(
        path = "/school/courses/:id/close",
        method = "post",
        operation_id = "courses_close"
    )]
    async fn close(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CLOSE).await?;
        let out = service::close(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 上传课程图片（JPEG、PNG、WebP，不超过 5 MB，每门课程最多 6 张）
    #[oai(
        path = "/school/courses/:id/pictures",
        method = "put",
        operation_id = "courses_picture_add"
    )]
    async fn picture_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        form: CoursePictureForm,
    ) -> Result<Json<CourseView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PICTURE_ADD).await?;
        let upload = read_picture(form.file).await?;
        let out = service::add_picture(&mut tx, &session.actor(app.0), id.0, upload).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 课程图片（序号从 0 开始）
    #[oai(
        path = "/school/courses/:id/pictures/:n",
        method = "get",
        operation_id = "courses_picture"
    )]
    async fn picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        n: Path<i64>,
    ) -> Result<Response<Binary<Vec<u8>>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PICTURE_GET).await?;
        let obj = service::picture(&mut tx, &session.actor(app.0), id.0, n.0).await?;
        tx.commit().await?;
        Ok(Response::new(Binary(obj.body.to_vec()))
            .header("content-type", obj.content_type.as_str())
            .header("x-content-type-options", "nosniff"))
    }
}
