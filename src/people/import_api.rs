//! Bulk import endpoints (R-S04): templates, upload, progress, error report.

use super::perms::{LIST, REPORT, SHOW, TEMPLATE, UPLOAD};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Attachment, AttachmentType, Json};
use poem_openapi::types::multipart::Upload as UploadFile;
use poem_openapi::{Multipart, OpenApi};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::error::PeopleError;
use super::import::{self, ImportJobView, ImportKind, MAX_UPLOAD};
use crate::auth::guard::Session;
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};
use crate::school::api::school_tx;

pub struct ImportApi;

#[derive(Debug, Multipart)]
pub struct ImportForm {
    /// .xlsx 或 .csv 文件（UTF-8 或 GBK），不超过 10 MB
    pub file: UploadFile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "lowercase")]
pub enum FileFormat {
    Xlsx,
    Csv,
}

#[OpenApi(tag = "ApiTags::School")]
impl ImportApi {
    /// 下载导入模板（中文表头，.xlsx 各列为文本格式；学生模板含“学生”“家长”两个工作表）
    #[oai(
        path = "/school/imports/template",
        method = "get",
        operation_id = "imports_template"
    )]
    async fn template(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        kind: Query<ImportKind>,
        #[oai(default = "default_format")] format: Query<FileFormat>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &TEMPLATE).await?;
        tx.commit().await?;
        let csv = format.0 == FileFormat::Csv;
        let bytes = import::template(kind.0, csv)?;
        let ext = if csv { "csv" } else { "xlsx" };
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("{}导入模板.{ext}", kind.0.label())))
    }

    /// 上传导入文件：立即检查文件格式与表头，随后逐行校验并整体导入（全部成功或全部不导入）
    #[oai(
        path = "/school/imports",
        method = "post",
        operation_id = "imports_upload"
    )]
    async fn upload(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        kind: Query<ImportKind>,
        form: ImportForm,
    ) -> Result<Json<ImportJobView>, ApiError> {
        let tx = school_tx(&session, &app, &tenant, &UPLOAD).await?;
        let t = tx.tenant().clone();
        tx.commit().await?;
        let name = form.file.file_name().unwrap_or("upload").to_string();
        // Read with the ceiling whatever the request declares (a chunked body has no length
        // for the body-size middleware to refuse).
        let mut bytes = Vec::new();
        form.file
            .into_async_read()
            .take(MAX_UPLOAD + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| PeopleError::UploadInterrupted {
                detail: e.to_string(),
            })?;
        let id = import::submit(app.0, &session.0, &t, kind.0, name, bytes).await?;
        let mut tx = crate::kernel::tx::TenantTx::begin(&app.0.db_app, &t).await?;
        let out = import::job(app.0, &mut tx, id).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 最近的导入任务
    #[oai(
        path = "/school/imports",
        method = "get",
        operation_id = "imports_list"
    )]
    async fn list(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<ImportJobView>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &LIST).await?;
        let out = import::jobs(app.0, &mut tx).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 导入任务进度与结果
    #[oai(
        path = "/school/imports/:id",
        method = "get",
        operation_id = "imports_show"
    )]
    async fn show(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<Uuid>,
    ) -> Result<Json<ImportJobView>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &SHOW).await?;
        let out = import::job(app.0, &mut tx, id.0).await?;
        tx.commit().await?;
        Ok(Json(out))
    }

    /// 下载错误报告（行号、列、原因）
    #[oai(
        path = "/school/imports/:id/report",
        method = "get",
        operation_id = "imports_report"
    )]
    async fn report(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<Uuid>,
        #[oai(default = "default_format")] format: Query<FileFormat>,
    ) -> Result<Attachment<Vec<u8>>, ApiError> {
        let mut tx = school_tx(&session, &app, &tenant, &REPORT).await?;
        let (errors, more) = import::job_errors(&mut tx, id.0).await?;
        tx.commit().await?;
        let csv = format.0 == FileFormat::Csv;
        let bytes = import::report(&errors, more, csv)?;
        let ext = if csv { "csv" } else { "xlsx" };
        Ok(Attachment::new(bytes)
            .attachment_type(AttachmentType::Attachment)
            .filename(format!("导入错误报告.{ext}")))
    }
}

fn default_format() -> FileFormat {
    FileFormat::Xlsx
}
