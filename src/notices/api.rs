//! The notices' routes: senders (school admins, homeroom teachers) under
//! `/school/notices`, parents under `/school/my-notices`. Thin: each checks its permission,
//! opens the tenant transaction and calls the service.

use poem_openapi::param::Path;
use poem_openapi::payload::{Binary, Json, Response};
use poem_openapi::types::multipart::Upload as UploadFile;
use poem_openapi::{Multipart, OpenApi};

use super::model::*;
use super::perms::*;
use super::service;
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct NoticeApi;

#[derive(Debug, Multipart)]
pub struct NoticePictureForm {
    /// JPEG、PNG 或 WebP 图片，不超过 5 MB；每条通知最多 9 张
    pub file: UploadFile,
}

#[OpenApi(tag = "ApiTags::School")]
impl NoticeApi {
    /// 我发的通知（R-T01）
    ///
    /// 管理员看全校的，班主任看自己发的；最新的在前，含已读人数。
    #[oai(
        path = "/school/notices",
        method = "get",
        operation_id = "notices_sent"
    )]
    async fn sent(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<NoticeView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SENT).await?;
        let out = service::sent(&mut tx, &session.actor(app.0)).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 新建通知（草稿）
    ///
    /// 发给全校、若干年级或若干班级；班主任只能发给自己带的班。发布前可加图片。
    #[oai(
        path = "/school/notices",
        method = "post",
        operation_id = "notice_create"
    )]
    async fn create(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<NewNotice>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &CREATE).await?;
        let out = service::create(&mut tx, &session.actor(app.0), &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 一条我发的通知
    #[oai(
        path = "/school/notices/:id",
        method = "get",
        operation_id = "notice_sent"
    )]
    async fn sent_one(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SENT_ONE).await?;
        let out = service::sent_one(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 修改通知
    ///
    /// 草稿可改全部；已发布的只能改标题和正文，家长会看到“已编辑”。
    #[oai(
        path = "/school/notices/:id",
        method = "put",
        operation_id = "notice_update"
    )]
    async fn update(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        body: Json<NewNotice>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &UPDATE).await?;
        let out = service::update(&mut tx, &session.actor(app.0), id.0, &body.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 添加图片
    #[oai(
        path = "/school/notices/:id/pictures",
        method = "post",
        operation_id = "notice_picture_add"
    )]
    async fn picture_add(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        form: NoticePictureForm,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PICTURE_ADD).await?;
        let upload = crate::courses::api::read_picture(form.file).await?;
        let out = service::add_picture(&mut tx, &session.actor(app.0), id.0, upload).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 删除图片（序号从 1 开始，后面的图片依次前移）
    #[oai(
        path = "/school/notices/:id/pictures/:n",
        method = "delete",
        operation_id = "notice_picture_remove"
    )]
    async fn picture_remove(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        n: Path<i32>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PICTURE_REMOVE).await?;
        let out = service::remove_picture(&mut tx, &session.actor(app.0), id.0, n.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 通知图片（序号从 1 开始）：发布人和收到通知的家长可看
    #[oai(
        path = "/school/notices/:id/pictures/:n",
        method = "get",
        operation_id = "notice_picture"
    )]
    async fn picture(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
        n: Path<u32>,
    ) -> Result<Response<Binary<Vec<u8>>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PICTURE).await?;
        let obj = service::picture(&mut tx, &session.actor(app.0), id.0, n.0 as usize).await?;
        tx.commit().await?;
        Ok(Response::new(Binary(obj.body.to_vec()))
            .header("content-type", obj.content_type.as_str())
            .header("x-content-type-options", "nosniff"))
    }

    /// 发布通知
    ///
    /// 范围内孩子的家长各收到一条“学校通知”消息（每条通知每位家长一次）。
    #[oai(
        path = "/school/notices/:id/publish",
        method = "post",
        operation_id = "notice_publish"
    )]
    async fn publish(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &PUBLISH).await?;
        let out = service::publish(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 撤回通知：家长不再看到
    #[oai(
        path = "/school/notices/:id/withdraw",
        method = "post",
        operation_id = "notice_withdraw"
    )]
    async fn withdraw(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &WITHDRAW).await?;
        let out = service::withdraw(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 阅读情况：已读人数和未读家长名单
    #[oai(
        path = "/school/notices/:id/reads",
        method = "get",
        operation_id = "notice_reads"
    )]
    async fn reads(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<NoticeReadsView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &READS).await?;
        let out = service::reads(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 我的通知（R-P01）：发给孩子所在学校、年级或班级的通知，含是否已读
    #[oai(
        path = "/school/my-notices",
        method = "get",
        operation_id = "notices_inbox"
    )]
    async fn inbox(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<NoticeView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &INBOX).await?;
        let out = service::inbox(&mut tx, &session.actor(app.0)).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 阅读一条通知（记为已读）
    #[oai(
        path = "/school/my-notices/:id",
        method = "get",
        operation_id = "notice_open"
    )]
    async fn open(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<NoticeView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &OPEN).await?;
        let out = service::open(&mut tx, &session.actor(app.0), id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }
}
