//! Bulk import of staff, students and guardians from `.xlsx`/`.csv` (R-S04).
//!
//! The file is read and its headers checked while the clerk waits (a wrong file is refused
//! at once, nothing recorded); then a job validates every row and writes everything in one
//! transaction, or nothing. Progress goes to the job row through separate short
//! transactions so the clerk sees it move; the job's final state is written in the import's
//! own transaction, so "succeeded" and the data commit together. [`submit`] is the one way
//! in, for the API and the console alike.
//!
//! Must never store a clear ID number or phone in a job or a report: values of those
//! columns are masked before they are kept.

mod check;
mod file;
mod jobs;
mod write;

use std::sync::Arc;

use serde_json::json;
use uuid::Uuid;

use self::check::{check_staff, check_students, Errors};
use self::jobs::{count, finish_failed, progress, start};
use self::write::write_students_and_guardians;
use super::error::PeopleError;
use super::model::JobPhase;
pub use super::model::{ImportJobView, ImportKind, RowError};
use super::repo;
use super::service;
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::error::{DomainError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::tenancy::model::TenantContext;
pub use file::{open, report, template, Upload};
pub use jobs::{job, job_errors, jobs};

/// Errors kept per job; a file with more is reported as "N more not listed".
pub const MAX_KEPT_ERRORS: usize = 5_000;
/// The ceiling of one upload (10 MB). Readers of a request body read at most one byte
/// more, whatever the request declares (a chunked body has no length to refuse early).
pub const MAX_UPLOAD: u64 = 10 * 1024 * 1024;

pub const STAFF_SHEET: &str = "教职工";
pub const STUDENT_SHEET: &str = "学生";
pub const GUARDIAN_SHEET: &str = "家长";

/// Checks an uploaded file and starts its job: the size, then the file read and its
/// headers checked off the async workers, then the job recorded and run in the
/// background. Returns the job's id; the file's refusals come back at once.
pub async fn submit(
    st: &Arc<Ctx>,
    auth: &AuthContext,
    tenant: &TenantContext,
    kind: ImportKind,
    name: String,
    bytes: Vec<u8>,
) -> Result<Uuid, PeopleError> {
    if bytes.len() as u64 > MAX_UPLOAD {
        return Err(PeopleError::FileTooLarge {
            limit_mb: MAX_UPLOAD / (1024 * 1024),
        });
    }
    // Parsing is CPU work: off the async workers. A reader panic on a crafted file ends
    // that blocking task only and is answered as a corrupt file.
    let up = tokio::task::spawn_blocking(move || open(kind, &name, &bytes))
        .await
        .map_err(|_| PeopleError::CorruptFile)??;
    let id = start(st, auth, tenant, &up).await?;
    let (st, auth, tenant) = (st.clone(), auth.clone(), tenant.clone());
    tokio::spawn(async move { run(st, auth, tenant, id, up).await });
    Ok(id)
}

/// Runs a started job to its end; never returns an error (the job row carries it).
async fn run(st: Arc<Ctx>, auth: AuthContext, tenant: TenantContext, id: Uuid, up: Upload) {
    let outcome = execute(&st, &auth, &tenant, id, &up).await;
    if let Err(e) = outcome {
        tracing::error!(job = %id, code = %e.code(), error = %e, "import failed unexpectedly");
        let msg = match e.kind() {
            ErrorKind::Internal => "导入时发生内部错误，未导入任何数据，请稍后重试".to_string(),
            _ => e.user_message(),
        };
        let _ = finish_failed(&st, &tenant, id, &[], 0, 0, &msg).await;
    }
}

async fn execute(
    st: &Arc<Ctx>,
    auth: &AuthContext,
    tenant: &TenantContext,
    id: Uuid,
    up: &Upload,
) -> Result<(), PeopleError> {
    let today = st.clock.today();
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    // One import at a time per school: two files naming the same person must not race.
    repo::lock_imports(tx.conn()).await?;
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
                progress(st, tenant, id, JobPhase::Writing, processed).await?;
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
                progress(st, tenant, id, JobPhase::Writing, processed).await?;
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
    let (inserted, updated) = (count(w.inserted as usize), count(w.updated as usize));
    repo::succeed_job(
        tx.conn(),
        id,
        count(processed),
        inserted,
        updated,
        &msg,
        st.clock.now(),
    )
    .await?;
    service::audit(
        st,
        auth,
        &mut tx,
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
