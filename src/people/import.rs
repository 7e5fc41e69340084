//! Bulk import of staff, students and guardians from `.xlsx`/`.csv` (R-S04).
//!
//! The file is read and its headers checked while the clerk waits (a wrong file is refused
//! at once, nothing recorded); then a job validates every row and writes everything in one
//! transaction, or nothing. Progress goes to the job row through separate short
//! transactions so the clerk sees it move; the job's final state is written in the import's
//! own transaction, so "succeeded" and the data commit together.
//!
//! Must never store a clear ID number or phone in a job or a report: values of those
//! columns are masked before they are kept.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::model::*;
pub use super::model::{ImportJobView, ImportKind, RowError};
use super::service::{self, ClassIndex};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tabular::{self, ColumnKind, Limits, Sheet, SheetOut, TabularError};
use crate::tenancy::model::TenantContext;

/// Errors kept per job; a file with more is reported as "N more not listed".
pub const MAX_KEPT_ERRORS: usize = 5_000;
const PROGRESS_EVERY: usize = 1_000;
/// A running job whose heartbeat is older than this was cut off (server restart).
const STALE_AFTER_SECS: i64 = 120;

pub const STAFF_SHEET: &str = "教职工";
pub const STUDENT_SHEET: &str = "学生";
pub const GUARDIAN_SHEET: &str = "家长";

fn file_error(e: TabularError) -> ApiError {
    ApiError::new(ErrorKind::Unprocessable, e.code(), e.to_string(), json!({}))
}

fn headers_error(sheet: &str, missing: &[&str], unknown: &[String], expected: &[&str]) -> ApiError {
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("缺少列：{}", missing.join("、")));
    }
    if !unknown.is_empty() {
        parts.push(format!("无法识别的列：{}", unknown.join("、")));
    }
    ApiError::new(
        ErrorKind::Unprocessable,
        "WRONG_HEADERS",
        format!(
            "工作表“{sheet}”的表头与模板不一致（{}），请下载最新模板填写",
            parts.join("；")
        ),
        json!({ "sheet": sheet, "missing": missing, "unknown": unknown, "expected": expected }),
    )
}

/// A sheet whose headers match a template: cells are read by column name.
struct Table<'a> {
    index: HashMap<&'static str, usize>,
    _rows: std::marker::PhantomData<&'a Sheet>,
}

impl<'a> Table<'a> {
    fn new(sheet: &'a Sheet, cols: &[(&'static str, bool)]) -> Result<Table<'a>, ApiError> {
        let expected: Vec<&str> = cols.iter().map(|c| c.0).collect();
        let missing: Vec<&str> = cols
            .iter()
            .filter(|(c, required)| *required && !sheet.headers.iter().any(|h| h == c))
            .map(|c| c.0)
            .collect();
        let unknown: Vec<String> = sheet
            .headers
            .iter()
            .filter(|h| !h.is_empty() && !expected.contains(&h.as_str()))
            .cloned()
            .collect();
        if !missing.is_empty() || !unknown.is_empty() {
            return Err(headers_error(&sheet.name, &missing, &unknown, &expected));
        }
        let index = cols
            .iter()
            .filter_map(|(c, _)| sheet.headers.iter().position(|h| h == c).map(|i| (*c, i)))
            .collect();
        Ok(Table {
            index,
            _rows: std::marker::PhantomData,
        })
    }

    fn cell(&self, row: &'a tabular::Row, col: &str) -> &'a str {
        self.index
            .get(col)
            .and_then(|i| row.cells.get(*i))
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// What a checked upload holds, ready for the job.
pub struct Upload {
    pub kind: ImportKind,
    pub file_name: String,
    pub sha256: String,
    sheets: Vec<Sheet>,
}

impl Upload {
    pub fn total_rows(&self) -> usize {
        self.sheets.iter().map(|s| s.rows.len()).sum()
    }
}

fn pick<'s>(sheets: &'s [Sheet], name: &str, single_ok: bool) -> Option<&'s Sheet> {
    sheets
        .iter()
        .find(|s| s.name == name)
        .or_else(|| (single_ok && sheets.len() == 1).then(|| &sheets[0]))
}

/// Reads the file and checks its sheets and headers against the template of `kind`.
pub fn open(kind: ImportKind, file_name: &str, bytes: &[u8]) -> Result<Upload, ApiError> {
    let sheets = tabular::read(bytes, file_name, &Limits::default()).map_err(file_error)?;
    let sha256 = hex::encode(Sha256::digest(bytes));
    let missing_sheet = |name: &str| {
        ApiError::new(
            ErrorKind::Unprocessable,
            "SHEET_MISSING",
            format!(
                "文件中没有名为“{name}”的工作表，请使用{}导入模板",
                kind.label()
            ),
            json!({ "sheet": name, "found": sheets.iter().map(|s| s.name.clone()).collect::<Vec<_>>() }),
        )
    };
    let mut chosen = Vec::new();
    match kind {
        ImportKind::Staff => {
            let s = pick(&sheets, STAFF_SHEET, true).ok_or_else(|| missing_sheet(STAFF_SHEET))?;
            Table::new(s, &staff_cols::ALL)?;
            chosen.push(named(s, STAFF_SHEET));
        }
        ImportKind::Students => {
            let s =
                pick(&sheets, STUDENT_SHEET, true).ok_or_else(|| missing_sheet(STUDENT_SHEET))?;
            Table::new(s, &student_cols::ALL)?;
            chosen.push(named(s, STUDENT_SHEET));
            if let Some(g) = sheets.iter().find(|s| s.name == GUARDIAN_SHEET) {
                Table::new(g, &guardian_cols::ALL)?;
                chosen.push(g.clone());
            }
        }
        ImportKind::Guardians => {
            let s =
                pick(&sheets, GUARDIAN_SHEET, true).ok_or_else(|| missing_sheet(GUARDIAN_SHEET))?;
            Table::new(s, &guardian_cols::ALL)?;
            chosen.push(named(s, GUARDIAN_SHEET));
        }
    }
    if chosen.iter().all(|s| s.rows.is_empty()) {
        return Err(file_error(TabularError::NoData {
            sheet: chosen.first().map(|s| s.name.clone()).unwrap_or_default(),
        }));
    }
    Ok(Upload {
        kind,
        file_name: file_name.chars().take(200).collect(),
        sha256,
        sheets: chosen,
    })
}

/// A CSV's single table carries the file's stem as its name; reports name the sheet the
/// template calls it.
fn named(s: &Sheet, name: &str) -> Sheet {
    let mut s = s.clone();
    s.name = name.to_string();
    s
}

// ---- templates ---------------------------------------------------------------------------

fn header_row(cols: &[(&str, bool)]) -> Vec<String> {
    cols.iter()
        .map(|(c, req)| {
            if *req {
                format!("{c}*")
            } else {
                (*c).to_string()
            }
        })
        .collect()
}

fn widths(cols: &[(&str, bool)]) -> Vec<f64> {
    cols.iter()
        .map(|(c, _)| match *c {
            staff_cols::ID_NUMBER | guardian_cols::STUDENT_ID_NUMBER => 22.0,
            staff_cols::RESUME => 40.0,
            _ => 14.0,
        })
        .collect()
}

fn template_notes(kind: ImportKind) -> Vec<String> {
    let mut n = vec![
        "带 * 的列必须填写；请勿修改表头、勿合并单元格；每个文件不超过 10 MB、每个工作表不超过 20000 行。".to_string(),
        "身份证号、手机号请按文本填写（模板各列已设为文本格式），避免被 Excel 改成科学计数法。".to_string(),
        "导入时逐行校验：全部通过才会导入，否则一条也不导入，并可下载错误报告（行号、列、原因）。".to_string(),
        "重复导入同一文件不会产生重复数据：已存在的记录按身份证号（家长按手机号）更新。".to_string(),
    ];
    match kind {
        ImportKind::Staff => {
            n.push(format!("学历可填：{}。", EDUCATION_LEVELS.join("、")));
            n.push("所属部门可填多个，用顿号“、”分隔；不存在的部门会自动创建。".into());
            n.push("月薪单位为元，最多两位小数；起始聘用年份为四位年份，如 2012。".into());
        }
        ImportKind::Students | ImportKind::Guardians => {
            n.push("班级可填系统名称（如 三年级2班）或班级别名（如 向日葵班）。".into());
            n.push("“家长”工作表中每行是一位家长与一名学生的关系；学生可以在本文件的“学生”表中，也可以是已导入的学生。".into());
            n.push("关系可填：父亲、母亲、祖父、外祖父、祖母、外祖母、监护人、其他。".into());
            n.push("家长凭手机号接收验证码登录，导入后即可在手机上查看孩子信息（须先同意个人信息处理规则）。".into());
        }
    }
    n
}

/// The import template of `kind`: an .xlsx with text-formatted columns and a 填写说明
/// sheet, or a CSV of the header row (UTF-8 with BOM).
pub fn template(kind: ImportKind, csv: bool) -> Result<Vec<u8>, ApiError> {
    let sheet = |name: &str, cols: &[(&str, bool)]| SheetOut {
        name: name.to_string(),
        headers: header_row(cols),
        rows: Vec::new(),
        widths: widths(cols),
        kinds: Vec::new(),
    };
    let sheets = match kind {
        ImportKind::Staff => vec![sheet(STAFF_SHEET, &staff_cols::ALL)],
        ImportKind::Students => vec![
            sheet(STUDENT_SHEET, &student_cols::ALL),
            sheet(GUARDIAN_SHEET, &guardian_cols::ALL),
        ],
        ImportKind::Guardians => vec![sheet(GUARDIAN_SHEET, &guardian_cols::ALL)],
    };
    if csv {
        return Ok(tabular::csv(&sheets[0].headers, &[]));
    }
    tabular::xlsx(&sheets, &template_notes(kind)).map_err(ApiError::internal)
}

/// The error report of a failed job.
pub fn report(errors: &[RowError], more: usize, csv: bool) -> Result<Vec<u8>, ApiError> {
    let headers: Vec<String> = ["工作表", "行号", "列", "内容", "原因"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows: Vec<Vec<String>> = errors
        .iter()
        .map(|e| {
            vec![
                e.sheet.clone(),
                e.row.to_string(),
                e.column.clone(),
                e.value.clone(),
                e.reason.clone(),
            ]
        })
        .collect();
    if more > 0 {
        rows.push(vec![
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            format!("另有 {more} 条错误未列出，请修正以上错误后重新导入"),
        ]);
    }
    if csv {
        return Ok(tabular::csv(&headers, &rows));
    }
    tabular::xlsx(
        &[SheetOut {
            name: "错误报告".into(),
            headers,
            rows,
            widths: vec![10.0, 8.0, 18.0, 24.0, 60.0],
            // The row number is a number: a clerk sorts and filters by it.
            kinds: vec![ColumnKind::Text, ColumnKind::Count],
        }],
        &[],
    )
    .map_err(ApiError::internal)
}

// ---- jobs -------------------------------------------------------------------------------

#[derive(Debug, sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    kind: String,
    file_name: String,
    status: String,
    phase: String,
    total_rows: i32,
    processed_rows: i32,
    inserted: i32,
    updated: i32,
    error_count: i32,
    message: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    heartbeat_at: chrono::DateTime<chrono::Utc>,
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

const JOB_COLS: &str = "id, kind, file_name, status, phase, total_rows, processed_rows, inserted,
    updated, error_count, message, created_at, heartbeat_at, finished_at";

fn job_view(r: JobRow, now: chrono::DateTime<chrono::Utc>) -> ImportJobView {
    let stale = r.status == "running" && now - r.heartbeat_at > Duration::seconds(STALE_AFTER_SECS);
    ImportJobView {
        id: r.id,
        kind: ImportKind::from_db(&r.kind),
        file_name: r.file_name,
        status: if stale { "failed".into() } else { r.status },
        phase: r.phase,
        total_rows: r.total_rows,
        processed_rows: r.processed_rows,
        inserted: r.inserted,
        updated: r.updated,
        error_count: r.error_count,
        message: if stale {
            Some("导入被中断（服务重启），未导入任何数据，请重新上传".into())
        } else {
            r.message
        },
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

pub async fn job(st: &Ctx, tx: &mut TenantTx, id: Uuid) -> Result<ImportJobView, ApiError> {
    let sql = format!("select {JOB_COLS} from import_jobs where id = $1");
    let row: Option<JobRow> = sqlx::query_as(&sql)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?;
    row.map(|r| job_view(r, st.clock.now())).ok_or_else(|| {
        ApiError::new(
            ErrorKind::NotFound,
            "IMPORT_NOT_FOUND",
            "找不到该导入任务",
            json!({ "id": id }),
        )
    })
}

pub async fn jobs(st: &Ctx, tx: &mut TenantTx) -> Result<Vec<ImportJobView>, ApiError> {
    let sql = format!("select {JOB_COLS} from import_jobs order by created_at desc limit 50");
    let rows: Vec<JobRow> = sqlx::query_as(&sql).fetch_all(tx.conn()).await?;
    let now = st.clock.now();
    Ok(rows.into_iter().map(|r| job_view(r, now)).collect())
}

/// The kept errors of a job and how many more there were.
pub async fn job_errors(tx: &mut TenantTx, id: Uuid) -> Result<(Vec<RowError>, usize), ApiError> {
    let row: Option<(sqlx::types::Json<Vec<RowError>>, i32)> =
        sqlx::query_as("select errors, error_count from import_jobs where id = $1")
            .bind(id)
            .fetch_optional(tx.conn())
            .await?;
    let Some((errs, count)) = row else {
        return Err(ApiError::new(
            ErrorKind::NotFound,
            "IMPORT_NOT_FOUND",
            "找不到该导入任务",
            json!({ "id": id }),
        ));
    };
    let more = usize::try_from(count)
        .unwrap_or(0)
        .saturating_sub(errs.0.len());
    Ok((errs.0, more))
}

/// Records the job (committed at once, so it is visible while it runs) and returns its id.
pub async fn start(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
    up: &Upload,
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    sqlx::query(
        "insert into import_jobs (id, kind, file_name, file_sha256, status, total_rows,
                                  created_by, created_at, heartbeat_at)
         values ($1, $2, $3, $4, 'running', $5, $6, $7, $7)",
    )
    .bind(id)
    .bind(up.kind.as_str())
    .bind(&up.file_name)
    .bind(&up.sha256)
    .bind(i32::try_from(up.total_rows()).unwrap_or(i32::MAX))
    .bind(auth.account_id)
    .bind(st.clock.now())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Runs a started job to its end; never returns an error (the job row carries it).
pub async fn run(st: Arc<Ctx>, auth: AuthContext, tenant: TenantContext, id: Uuid, up: Upload) {
    let outcome = execute(&st, &auth, &tenant, id, &up).await;
    if let Err(e) = outcome {
        tracing::error!(job = %id, code = %e.body().code, "import failed unexpectedly");
        let msg = match e {
            ApiError::Internal(_) => "导入时发生内部错误，未导入任何数据，请稍后重试".to_string(),
            _ => e.body().message.clone(),
        };
        let _ = finish_failed(&st, &tenant, id, &[], 0, 0, &msg).await;
    }
}

/// Progress goes out in a transaction of its own: the import's transaction is invisible
/// to the clerk until it commits.
async fn progress(
    st: &Ctx,
    tenant: &TenantContext,
    id: Uuid,
    phase: &str,
    processed: usize,
) -> Result<(), ApiError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    sqlx::query(
        "update import_jobs set phase = $2, processed_rows = $3, heartbeat_at = $4
         where id = $1 and status = 'running'",
    )
    .bind(id)
    .bind(phase)
    .bind(i32::try_from(processed).unwrap_or(i32::MAX))
    .bind(st.clock.now())
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn finish_failed(
    st: &Ctx,
    tenant: &TenantContext,
    id: Uuid,
    errors: &[RowError],
    error_count: usize,
    processed: usize,
    message: &str,
) -> Result<(), ApiError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    sqlx::query(
        "update import_jobs set status = 'failed', phase = 'done', errors = $2,
                error_count = $3, message = $4, finished_at = $5, heartbeat_at = $5,
                processed_rows = greatest(processed_rows, $6)
         where id = $1",
    )
    .bind(id)
    .bind(sqlx::types::Json(errors))
    .bind(i32::try_from(error_count).unwrap_or(i32::MAX))
    .bind(message)
    .bind(st.clock.now())
    .bind(i32::try_from(processed).unwrap_or(i32::MAX))
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Collects row errors, keeping the first [`MAX_KEPT_ERRORS`].
#[derive(Default)]
struct Errors {
    kept: Vec<RowError>,
    count: usize,
}

impl Errors {
    fn push(
        &mut self,
        sheet: &str,
        row: u32,
        column: &str,
        value: &str,
        reason: impl Into<String>,
    ) {
        self.count += 1;
        if self.kept.len() < MAX_KEPT_ERRORS {
            self.kept.push(RowError {
                sheet: sheet.to_string(),
                row,
                column: column.to_string(),
                value: shown_value(column, value),
                reason: reason.into(),
            });
        }
    }

    fn fields(&mut self, sheet: &str, row: &tabular::Row, t: &Table<'_>, errs: Vec<FieldError>) {
        for e in errs {
            let v = t.cell(row, &e.field).to_string();
            self.push(sheet, row.number, &e.field, &v, e.reason);
        }
    }
}

/// Personal-data columns are masked in reports: the report is a file that gets mailed
/// around, and the clerk has the clear value in their own file at the named row.
fn shown_value(column: &str, value: &str) -> String {
    let pii = matches!(column, "身份证号" | "学生身份证号" | "手机号");
    let v: String = value.chars().take(100).collect();
    if !pii || v.is_empty() {
        return v;
    }
    let chars: Vec<char> = v.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 4))
}

async fn execute(
    st: &Arc<Ctx>,
    auth: &AuthContext,
    tenant: &TenantContext,
    id: Uuid,
    up: &Upload,
) -> Result<(), ApiError> {
    let today = st.clock.today();
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    // One import at a time per school: two files naming the same person must not race.
    sqlx::query("select pg_advisory_xact_lock(hashtext(current_schema() || ':import'))")
        .execute(tx.conn())
        .await?;
    let mut errors = Errors::default();
    let mut processed = 0usize;
    let written = match up.kind {
        ImportKind::Staff => {
            let plan = check_staff(
                st,
                &mut tx,
                &up.sheets[0],
                today,
                &mut errors,
                &mut processed,
                tenant,
                id,
            )
            .await?;
            if errors.count > 0 {
                None
            } else {
                progress(st, tenant, id, "writing", processed).await?;
                let (_, w) = service::write_staff(&mut tx, &st.keys, &plan).await?;
                Some(w)
            }
        }
        ImportKind::Students | ImportKind::Guardians => {
            let (students, guardians) = check_students(
                st,
                &mut tx,
                up,
                today,
                &mut errors,
                &mut processed,
                tenant,
                id,
            )
            .await?;
            if errors.count > 0 {
                None
            } else {
                progress(st, tenant, id, "writing", processed).await?;
                Some(write_students_and_guardians(st, auth, &mut tx, &students, &guardians).await?)
            }
        }
    };
    let Some(w) = written else {
        tx.commit().await?; // nothing was written; releases the lock
        let msg = format!(
            "发现 {} 处错误，未导入任何数据，请下载错误报告修正后重新导入",
            errors.count
        );
        return finish_failed(st, tenant, id, &errors.kept, errors.count, processed, &msg).await;
    };
    let msg = format!("导入成功：新增 {} 条，更新 {} 条", w.inserted, w.updated);
    sqlx::query(
        "update import_jobs set status = 'succeeded', phase = 'done', processed_rows = $2,
                inserted = $3, updated = $4, message = $5, finished_at = $6, heartbeat_at = $6
         where id = $1",
    )
    .bind(id)
    .bind(i32::try_from(processed).unwrap_or(i32::MAX))
    .bind(i32::try_from(w.inserted).unwrap_or(i32::MAX))
    .bind(i32::try_from(w.updated).unwrap_or(i32::MAX))
    .bind(&msg)
    .bind(st.clock.now())
    .execute(tx.conn())
    .await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new("people.import", format!("import:{id}"), Outcome::Success).details(json!({
            "kind": up.kind.as_str(),
            "file": up.file_name,
            "sha256": up.sha256,
            "rows": processed,
            "inserted": w.inserted,
            "updated": w.updated,
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn check_staff(
    st: &Ctx,
    tx: &mut TenantTx,
    sheet: &Sheet,
    today: NaiveDate,
    errors: &mut Errors,
    processed: &mut usize,
    tenant: &TenantContext,
    job: Uuid,
) -> Result<Vec<StaffInput>, ApiError> {
    let t = Table::new(sheet, &staff_cols::ALL)?;
    let mut ok: Vec<(u32, StaffInput)> = Vec::with_capacity(sheet.rows.len());
    let mut seen_no: HashMap<String, u32> = HashMap::new();
    let mut seen_id: HashMap<String, u32> = HashMap::new();
    for row in &sheet.rows {
        let f = StaffFields {
            staff_no: t.cell(row, staff_cols::STAFF_NO).into(),
            name: t.cell(row, staff_cols::NAME).into(),
            id_number: t.cell(row, staff_cols::ID_NUMBER).into(),
            phone: t.cell(row, staff_cols::PHONE).into(),
            qualification_no: t.cell(row, staff_cols::QUALIFICATION).into(),
            education: t.cell(row, staff_cols::EDUCATION).into(),
            title: t.cell(row, staff_cols::TITLE).into(),
            employed_since: t.cell(row, staff_cols::EMPLOYED_SINCE).into(),
            duties: t.cell(row, staff_cols::DUTIES).into(),
            monthly_salary: t.cell(row, staff_cols::SALARY).into(),
            departments: t.cell(row, staff_cols::DEPARTMENTS).into(),
            resume: t.cell(row, staff_cols::RESUME).into(),
        };
        match f.check(today) {
            Ok(s) => {
                let mut dup = false;
                if let Some(first) = seen_no.insert(s.staff_no.clone(), row.number) {
                    errors.push(
                        &sheet.name,
                        row.number,
                        staff_cols::STAFF_NO,
                        &s.staff_no,
                        format!("工号与第 {first} 行重复"),
                    );
                    dup = true;
                }
                if let Some(first) = seen_id.insert(s.id_number.as_str().to_string(), row.number) {
                    errors.push(
                        &sheet.name,
                        row.number,
                        staff_cols::ID_NUMBER,
                        t.cell(row, staff_cols::ID_NUMBER),
                        format!("身份证号与第 {first} 行重复"),
                    );
                    dup = true;
                }
                if !dup {
                    ok.push((row.number, s));
                }
            }
            Err(e) => errors.fields(&sheet.name, row, &t, e),
        }
        *processed += 1;
        if processed.is_multiple_of(PROGRESS_EVERY) {
            progress(st, tenant, job, "validating", *processed).await?;
        }
    }
    let refs: Vec<(usize, &StaffInput)> = ok.iter().enumerate().map(|(i, (_, s))| (i, s)).collect();
    for (i, no) in service::staff_no_conflicts(tx, &st.keys, &refs).await? {
        errors.push(
            &sheet.name,
            ok[i].0,
            staff_cols::STAFF_NO,
            &no,
            "该工号已被学校里另一位教职工（身份证号不同）使用",
        );
    }
    Ok(ok.into_iter().map(|(_, s)| s).collect())
}

struct StudentPlan {
    rows: Vec<(StudentInput, i64)>,
}

struct GuardianPlan {
    rows: Vec<GuardianInput>,
}

#[allow(clippy::too_many_arguments)]
async fn check_students(
    st: &Ctx,
    tx: &mut TenantTx,
    up: &Upload,
    today: NaiveDate,
    errors: &mut Errors,
    processed: &mut usize,
    tenant: &TenantContext,
    job: Uuid,
) -> Result<(StudentPlan, GuardianPlan), ApiError> {
    let classes = ClassIndex::load(tx).await?;
    let mut students = StudentPlan { rows: Vec::new() };
    // clear ID → (row, name): children named by the 家长 sheet may be in this file
    let mut in_file: HashMap<String, (u32, String)> = HashMap::new();
    let student_sheet = up
        .sheets
        .iter()
        .find(|s| s.name == STUDENT_SHEET && up.kind == ImportKind::Students);
    if let Some(sheet) = student_sheet {
        let t = Table::new(sheet, &student_cols::ALL)?;
        for row in &sheet.rows {
            let f = StudentFields {
                name: t.cell(row, student_cols::NAME).into(),
                id_number: t.cell(row, student_cols::ID_NUMBER).into(),
                class: t.cell(row, student_cols::CLASS).into(),
            };
            match f.check(today) {
                Ok(s) => {
                    let class = classes.get(&s.class);
                    if class.is_none() {
                        errors.push(
                            &sheet.name,
                            row.number,
                            student_cols::CLASS,
                            &s.class,
                            "班级不存在（请填写系统名称如“三年级2班”或班级别名），或该班已毕业",
                        );
                    }
                    let key = s.id_number.as_str().to_string();
                    if let Some((first, _)) = in_file.get(&key) {
                        errors.push(
                            &sheet.name,
                            row.number,
                            student_cols::ID_NUMBER,
                            t.cell(row, student_cols::ID_NUMBER),
                            format!("身份证号与第 {first} 行重复"),
                        );
                    } else {
                        in_file.insert(key, (row.number, s.name.clone()));
                        if let Some(c) = class {
                            students.rows.push((s, c));
                        }
                    }
                }
                Err(e) => errors.fields(&sheet.name, row, &t, e),
            }
            *processed += 1;
            if processed.is_multiple_of(PROGRESS_EVERY) {
                progress(st, tenant, job, "validating", *processed).await?;
            }
        }
    }
    let mut guardians = GuardianPlan { rows: Vec::new() };
    if let Some(sheet) = up.sheets.iter().find(|s| s.name == GUARDIAN_SHEET) {
        let t = Table::new(sheet, &guardian_cols::ALL)?;
        let mut checked: Vec<(u32, GuardianInput)> = Vec::new();
        let mut seen: HashMap<(String, String), u32> = HashMap::new();
        for row in &sheet.rows {
            let f = GuardianFields {
                student_id_number: t.cell(row, guardian_cols::STUDENT_ID_NUMBER).into(),
                student_name: t.cell(row, guardian_cols::STUDENT_NAME).into(),
                name: t.cell(row, guardian_cols::NAME).into(),
                relation: t.cell(row, guardian_cols::RELATION).into(),
                phone: t.cell(row, guardian_cols::PHONE).into(),
            };
            match f.check(today) {
                Ok(g) => {
                    let key = (
                        g.student_id_number.as_str().to_string(),
                        g.phone.as_str().to_string(),
                    );
                    if let Some(first) = seen.insert(key, row.number) {
                        errors.push(
                            &sheet.name,
                            row.number,
                            guardian_cols::PHONE,
                            t.cell(row, guardian_cols::PHONE),
                            format!("同一学生的同一家长与第 {first} 行重复"),
                        );
                    } else {
                        checked.push((row.number, g));
                    }
                }
                Err(e) => errors.fields(&sheet.name, row, &t, e),
            }
            *processed += 1;
            if processed.is_multiple_of(PROGRESS_EVERY) {
                progress(st, tenant, job, "validating", *processed).await?;
            }
        }
        // Children not in this file must already be in the school.
        let outside: Vec<&crate::pii::IdNumber> = checked
            .iter()
            .filter(|(_, g)| !in_file.contains_key(g.student_id_number.as_str()))
            .map(|(_, g)| &g.student_id_number)
            .collect();
        let known = service::students_by_id_number(tx, &st.keys, &outside).await?;
        let mut per_student: HashMap<String, HashSet<String>> = HashMap::new();
        for (n, g) in checked {
            let name = match in_file.get(g.student_id_number.as_str()) {
                Some((_, name)) => Some(name.clone()),
                None => known
                    .get(
                        &st.keys
                            .pii
                            .blind_index(service::ID_DOMAIN, g.student_id_number.as_str()),
                    )
                    .map(|(_, name)| name.clone()),
            };
            match name {
                None => errors.push(
                    &sheet.name,
                    n,
                    guardian_cols::STUDENT_ID_NUMBER,
                    &g.student_id_number.masked(),
                    "找不到该学生：请先导入学生，或在同一文件的“学生”表中填写",
                ),
                Some(name) if name != g.student_name => errors.push(
                    &sheet.name,
                    n,
                    guardian_cols::STUDENT_NAME,
                    &g.student_name,
                    format!("学生姓名与身份证号不符（系统中为“{name}”）"),
                ),
                Some(_) => {
                    let set = per_student
                        .entry(g.student_id_number.as_str().to_string())
                        .or_default();
                    set.insert(g.phone.as_str().to_string());
                    if set.len() > 6 {
                        errors.push(
                            &sheet.name,
                            n,
                            guardian_cols::PHONE,
                            g.phone.as_str(),
                            "每名学生最多关联 6 位家长",
                        );
                    } else {
                        guardians.rows.push(g);
                    }
                }
            }
        }
    }
    Ok((students, guardians))
}

async fn write_students_and_guardians(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    students: &StudentPlan,
    guardians: &GuardianPlan,
) -> Result<service::Written, ApiError> {
    let refs: Vec<(&StudentInput, i64)> = students.rows.iter().map(|(s, c)| (s, *c)).collect();
    let (ids, mut w) = service::write_students(tx, &st.keys, &refs).await?;
    let mut by_id: HashMap<&str, i64> = students
        .rows
        .iter()
        .zip(&ids)
        .map(|((s, _), id)| (s.id_number.as_str(), *id))
        .collect();
    let outside: Vec<&crate::pii::IdNumber> = guardians
        .rows
        .iter()
        .filter(|g| !by_id.contains_key(g.student_id_number.as_str()))
        .map(|g| &g.student_id_number)
        .collect();
    let known = service::students_by_id_number(tx, &st.keys, &outside).await?;
    for g in &guardians.rows {
        if !by_id.contains_key(g.student_id_number.as_str()) {
            let h = st
                .keys
                .pii
                .blind_index(service::ID_DOMAIN, g.student_id_number.as_str());
            if let Some((id, _)) = known.get(&h) {
                by_id.insert(g.student_id_number.as_str(), *id);
            }
        }
    }
    let links: Vec<(i64, &GuardianInput)> = guardians
        .rows
        .iter()
        .filter_map(|g| by_id.get(g.student_id_number.as_str()).map(|id| (*id, g)))
        .collect();
    if !links.is_empty() {
        let (_, gw) = service::write_guardians(tx, &st.keys, auth.account_id, &links).await?;
        w.inserted += gw.inserted;
        w.updated += gw.updated;
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_values_of_personal_data_columns_are_masked() {
        assert_eq!(
            shown_value("身份证号", "44200020150101123X"),
            "44**************3X"
        );
        assert_eq!(shown_value("手机号", "13800001234"), "13*******34");
        assert_eq!(shown_value("班级", "三年级9班"), "三年级9班");
    }

    #[test]
    fn templates_are_readable_workbooks_whose_headers_open_as_templates() {
        for kind in [
            ImportKind::Staff,
            ImportKind::Students,
            ImportKind::Guardians,
        ] {
            let bytes = template(kind, false).unwrap();
            let err = open(kind, "t.xlsx", &bytes).err().unwrap();
            // headers match; an empty template has no data rows
            assert_eq!(err.body().code, "NO_DATA", "{kind:?}");
        }
    }
}
