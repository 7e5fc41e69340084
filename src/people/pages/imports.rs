//! Bulk import (R-S04): template downloads (students with guardians, staff; .xlsx and
//! .csv), the upload form that starts a job exactly as `POST /school/imports` does, the
//! job list with progress, a job's page that reloads itself every 2 s while it runs (a
//! `meta refresh`, no script), and its error report (first rows on the page, the whole
//! report as a download).
//!
//! A file that cannot be read or has the wrong headers is refused while the clerk waits,
//! with the reason under the file field; row errors come from the job.

use maud::{html, Markup};
use poem::http::header;
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, Route};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::{download, options, select, FormError, CSV, XLSX};
use crate::error::ApiError;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::import::{self, ImportJobView, ImportKind, RowError, MAX_UPLOAD};
use crate::people::model::{JobPhase, JobStatus};
use crate::people::perms as people_perms;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{field, when};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub(super) fn mount(r: Route) -> Route {
    r.at("/console/imports", get(jobs).post(upload))
        .at("/console/imports/template", get(template))
        .at("/console/imports/:id", get(job))
        .at("/console/imports/:id/report", get(report))
}

/// Row errors listed on the job page; the report has them all.
const ERRORS_SHOWN: usize = 20;

const KINDS: [(&str, &str); 3] = [
    ("students", "学生（含家长）"),
    ("staff", "教职工"),
    ("guardians", "家长"),
];

fn kind_of(s: &str) -> Option<ImportKind> {
    match s {
        "students" => Some(ImportKind::Students),
        "staff" => Some(ImportKind::Staff),
        "guardians" => Some(ImportKind::Guardians),
        _ => None,
    }
}

fn status_tag(j: &ImportJobView) -> Markup {
    let writing = j.job_phase() == Some(JobPhase::Writing);
    html! {
        @match j.job_status() {
            Some(JobStatus::Running) => span.tag.warn.status { "进行中 · " (if writing { "写入中" } else { "校验中" }) },
            Some(JobStatus::Succeeded) => span.tag.status { "导入完成" },
            _ => span.tag.bad.status { "未导入" },
        }
    }
}

fn progress(j: &ImportJobView) -> Markup {
    html! {
        progress value=(j.processed_rows) max=(j.total_rows.max(1)) {}
        " " span.muted { (j.processed_rows) " / " (j.total_rows) " 行" }
    }
}

async fn jobs_page(web: &Web, kind: &str, p: &FormError) -> PageResult {
    let mut tx = web.school_tx(&people_perms::LIST).await?;
    let list = import::jobs(&web.app, &mut tx).await?;
    tx.commit().await?;
    let t = |kind: &str, format: &str| {
        web.link(&format!(
            "/console/imports/template?kind={kind}&format={format}"
        ))
    };
    let body = html! {
        div.card {
            h2 { "1. 下载模板" }
            p.muted { "按模板填写：各列为文本格式，身份证号不会被 Excel 改成科学计数法。学生模板含“学生”“家长”两个工作表。" }
            ul.list {
                li { "学生及家长：" a href=(t("students", "xlsx")) id="template-students-xlsx" { "Excel 模板 (.xlsx)" } " · " a href=(t("students", "csv")) id="template-students-csv" { "CSV 模板（仅学生表）" } }
                li { "教职工：" a href=(t("staff", "xlsx")) id="template-staff-xlsx" { "Excel 模板 (.xlsx)" } " · " a href=(t("staff", "csv")) id="template-staff-csv" { "CSV 模板" } }
            }
        }
        div.card {
            h2 { "2. 上传文件" }
            p.muted { "先整体校验，全部无误才导入；有任何错误则一条也不导入，并给出错误报告。同一身份证号的记录会被更新而不是重复新增。" }
            form.stack method="post" enctype="multipart/form-data" action=(web.post_url("/console/imports")) id="upload-form" {
                (p.notice("upload"))
                (field("导入内容", "kind", select("kind", &options(&KINDS, None), kind), None))
                (field(".xlsx 或 .csv 文件（不超过 10 MB）", "file", html! {
                    input type="file" id="file" name="file" accept=".xlsx,.csv";
                }, p.field("file")))
                button type="submit" id="upload-submit" { "上传并导入" }
            }
        }
        h2 { "导入记录" }
        div.table-wrap {
            table id="jobs" {
                thead { tr { th { "文件" } th { "内容" } th { "状态" } th { "进度" } th.num { "新增" } th.num { "更新" } th.num { "错误" } th { "上传时间" } th {} } }
                tbody {
                    @if list.is_empty() { tr { td colspan="9" { span.muted { "还没有导入记录" } } } }
                    @for j in &list {
                        tr {
                            td { (j.file_name) }
                            td { (j.kind.label()) }
                            td { (status_tag(j)) }
                            td { (progress(j)) }
                            td.num { (j.inserted) }
                            td.num { (j.updated) }
                            td.num { (j.error_count) }
                            td { (when(j.created_at)) }
                            td { a href=(web.link(&format!("/console/imports/{}", j.id))) { "详情" } }
                        }
                    }
                }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, "批量导入", "/console/imports", body),
    ))
}

#[handler]
async fn jobs(web: Web) -> PageResult {
    jobs_page(&web, "students", &FormError::none()).await
}

#[derive(Debug, Default, Deserialize)]
struct FileQuery {
    kind: Option<String>,
    format: Option<String>,
}

#[handler]
async fn template(web: Web, Query(q): Query<FileQuery>) -> PageResult {
    let kind = kind_of(q.kind.as_deref().unwrap_or("")).ok_or(WebError::NotFound)?;
    web.authorize(&people_perms::TEMPLATE).await?;
    let csv = q.format.as_deref() == Some("csv");
    let bytes = import::template(kind, csv)?;
    let (ext, mime) = if csv { ("csv", CSV) } else { ("xlsx", XLSX) };
    Ok(download(
        bytes,
        &format!("{}-template.{ext}", kind.as_str()),
        &format!("{}导入模板.{ext}", kind.label()),
        mime,
    ))
}

/// The kind and the file of the upload form, the file read up to the ceiling.
async fn read_form(
    mut form: Multipart,
) -> Result<(String, Option<(String, Vec<u8>)>), PeopleError> {
    let interrupted = |detail: String| PeopleError::UploadInterrupted { detail };
    let mut kind = String::new();
    let mut file = None;
    while let Some(f) = form
        .next_field()
        .await
        .map_err(|e| interrupted(e.to_string()))?
    {
        match f.name() {
            Some("kind") => kind = f.text().await.map_err(|e| interrupted(e.to_string()))?,
            Some("file") => {
                let name = f.file_name().unwrap_or("").to_string();
                let mut bytes = Vec::new();
                f.into_async_read()
                    .take(MAX_UPLOAD + 1)
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(|e| interrupted(e.to_string()))?;
                if !name.is_empty() || !bytes.is_empty() {
                    file = Some((name, bytes));
                }
            }
            _ => {}
        }
    }
    Ok((kind, file))
}

/// Checks the file and starts its job, as `POST /school/imports` does; the job's id.
async fn start(
    web: &Web,
    kind: ImportKind,
    name: String,
    bytes: Vec<u8>,
) -> Result<Uuid, ApiError> {
    let tenant = web.tenant().map_err(|_| ApiError::internal("no tenant"))?;
    Ok(import::submit(&web.app, &web.auth, tenant, kind, name, bytes).await?)
}

#[handler]
async fn upload(web: Web, form: Multipart) -> PageResult {
    web.school_tx(&people_perms::UPLOAD).await?.commit().await?;
    let result = match read_form(form).await {
        Ok((kind, file)) => {
            let k = kind_of(&kind).unwrap_or(ImportKind::Students);
            match file {
                Some((name, bytes)) => start(&web, k, name, bytes).await.map_err(|e| (kind, e)),
                None => Err((kind, PeopleError::FileRequired.into())),
            }
        }
        Err(e) => Err((String::new(), e.into())),
    };
    match result {
        Ok(id) => Ok(see_other(&web.link(&format!("/console/imports/{id}")))),
        Err((kind, e)) if super::in_place(&e) => {
            let p = FormError::of("upload", &e, |_| Some("file"));
            jobs_page(&web, &kind, &p).await
        }
        Err((_, e)) => Err(e.into()),
    }
}

async fn job_and_errors(
    web: &Web,
    id: Uuid,
) -> Result<(ImportJobView, Vec<RowError>, usize), WebError> {
    let mut tx: TenantTx = web.school_tx(&people_perms::SHOW).await?;
    web.authorize(&people_perms::REPORT).await?;
    let j = import::job(&web.app, &mut tx, id).await?;
    let (errors, more) = import::job_errors(&mut tx, id).await?;
    tx.commit().await?;
    Ok((j, errors, more))
}

#[handler]
async fn job(web: Web, Path(id): Path<Uuid>) -> PageResult {
    let (j, errors, more) = job_and_errors(&web, id).await?;
    let running = j.job_status() == Some(JobStatus::Running);
    let report_link =
        |format: &str| web.link(&format!("/console/imports/{id}/report?format={format}"));
    let body = html! {
        @if running { meta http-equiv="refresh" content="2"; }
        p { a href=(web.link("/console/imports")) { "‹ 返回批量导入" } }
        div.card id="job" data-status=(j.status) {
            div.row { h2 { (j.file_name) } span #job-status { (status_tag(&j)) } }
            dl.kv {
                dt { "内容" } dd { (j.kind.label()) }
                dt { "进度" } dd { (progress(&j)) }
                dt { "新增 / 更新" } dd { (j.inserted) " / " (j.updated) }
                dt { "错误" } dd #job-errors { (j.error_count) " 条" }
                dt { "上传时间" } dd { (when(j.created_at)) }
                @if let Some(t) = j.finished_at { dt { "完成时间" } dd { (when(t)) } }
            }
            @if let Some(m) = &j.message { p #job-message { (m) } }
            @if running { p.muted { "正在处理，本页每 2 秒自动刷新。" } }
        }
        @if !errors.is_empty() {
            div.card {
                div.row {
                    h2 { "错误报告" }
                    span { a href=(report_link("xlsx")) id="report-xlsx" { "下载 Excel" } " · " a href=(report_link("csv")) id="report-csv" { "下载 CSV" } }
                }
                p.muted { "请按行号修正原文件后重新上传。" @if errors.len() > ERRORS_SHOWN || more > 0 { "下表只列出前 " (ERRORS_SHOWN) " 条，完整内容请下载报告。" } }
                div.table-wrap {
                    table id="row-errors" {
                        thead { tr { th { "工作表" } th.num { "行号" } th { "列" } th { "内容" } th { "原因" } } }
                        tbody {
                            @for e in errors.iter().take(ERRORS_SHOWN) {
                                tr { td { (e.sheet) } td.num { (e.row) } td { (e.column) } td { (e.value) } td { (e.reason) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut resp = page(school_page(&web, "导入任务", "/console/imports", body))?;
    if running {
        // Also as a header: browsers honour both, and the header needs no parsing of the page.
        resp.headers_mut()
            .insert(header::REFRESH, header::HeaderValue::from_static("2"));
    }
    Ok(resp)
}

#[handler]
async fn report(web: Web, Path(id): Path<Uuid>, Query(q): Query<FileQuery>) -> PageResult {
    let mut tx = web.school_tx(&people_perms::REPORT).await?;
    let (errors, more) = import::job_errors(&mut tx, id).await?;
    tx.commit().await?;
    let csv = q.format.as_deref() == Some("csv");
    let bytes = import::report(&errors, more, csv)?;
    let (ext, mime) = if csv { ("csv", CSV) } else { ("xlsx", XLSX) };
    Ok(download(
        bytes,
        &format!("import-errors.{ext}"),
        &format!("导入错误报告.{ext}"),
        mime,
    ))
}
