//! Import jobs: recording one as it starts, its progress and its end, and reading them
//! back for the clerk. Progress and failure go out in short transactions of their own
//! (the import's own transaction is invisible until it commits); success is written in the
//! import's transaction, so "succeeded" and the data commit together.
//!
//! Must never keep a clear ID number or phone in a job row: row errors arrive masked.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::file::Upload;
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::error::PeopleError;
use crate::people::model::{ImportJobView, ImportKind, JobPhase, JobStatus, RowError};
use crate::people::repo::{self, JobRow, NewJob};
use crate::tenancy::model::TenantContext;

/// A running job whose heartbeat is older than this was cut off (server restart).
const STALE_AFTER_SECS: i64 = 120;

/// A count as the job row stores it.
pub(super) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn job_view(r: JobRow, now: DateTime<Utc>) -> ImportJobView {
    let stale = JobStatus::parse(&r.status) == Some(JobStatus::Running)
        && now - r.heartbeat_at > Duration::seconds(STALE_AFTER_SECS);
    ImportJobView {
        id: r.id,
        kind: ImportKind::from_db(&r.kind),
        file_name: r.file_name,
        status: if stale {
            JobStatus::Failed.as_str().into()
        } else {
            r.status
        },
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

pub async fn job(st: &Ctx, tx: &mut TenantTx, id: Uuid) -> Result<ImportJobView, PeopleError> {
    repo::job(tx.conn(), id)
        .await?
        .map(|r| job_view(r, st.clock.now()))
        .ok_or(PeopleError::ImportNotFound(id))
}

pub async fn jobs(st: &Ctx, tx: &mut TenantTx) -> Result<Vec<ImportJobView>, PeopleError> {
    let rows = repo::recent_jobs(tx.conn()).await?;
    let now = st.clock.now();
    Ok(rows.into_iter().map(|r| job_view(r, now)).collect())
}

/// The kept errors of a job and how many more there were.
pub async fn job_errors(
    tx: &mut TenantTx,
    id: Uuid,
) -> Result<(Vec<RowError>, usize), PeopleError> {
    let (errs, count) = repo::job_errors(tx.conn(), id)
        .await?
        .ok_or(PeopleError::ImportNotFound(id))?;
    let more = usize::try_from(count)
        .unwrap_or(0)
        .saturating_sub(errs.len());
    Ok((errs, more))
}

/// Records the job (committed at once, so it is visible while it runs) and returns its id.
pub(super) async fn start(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
    up: &Upload,
) -> Result<Uuid, PeopleError> {
    let id = Uuid::now_v7();
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    let job = NewJob {
        id,
        kind: up.kind,
        file_name: &up.file_name,
        sha256: &up.sha256,
        total_rows: count(up.total_rows()),
        created_by: auth.account_id,
        at: st.clock.now(),
    };
    repo::insert_job(tx.conn(), &job).await?;
    tx.commit().await?;
    Ok(id)
}

/// Progress goes out in a transaction of its own: the import's transaction is invisible
/// to the clerk until it commits.
pub(super) async fn progress(
    st: &Ctx,
    tenant: &TenantContext,
    id: Uuid,
    phase: JobPhase,
    processed: usize,
) -> Result<(), PeopleError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    repo::job_progress(tx.conn(), id, phase, count(processed), st.clock.now()).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn finish_failed(
    st: &Ctx,
    tenant: &TenantContext,
    id: Uuid,
    errors: &[RowError],
    error_count: usize,
    processed: usize,
    message: &str,
) -> Result<(), PeopleError> {
    let mut tx = TenantTx::begin(&st.db_app, tenant).await?;
    repo::fail_job(
        tx.conn(),
        id,
        errors,
        count(error_count),
        message,
        count(processed),
        st.clock.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
