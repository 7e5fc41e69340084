//! SQL on `platform.tenants`. The only place in `tenancy` that names registry columns.

use sqlx::{PgExecutor, PgPool};

use super::model::TenantRecord;

const COLUMNS: &str =
    "id, code, kind, name, status, schema_name, db_role, schema_version, manifest_hash";

pub async fn find_by_code<'e>(
    db: impl PgExecutor<'e>,
    code: &str,
) -> sqlx::Result<Option<TenantRecord>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from platform.tenants where code = $1"
    ))
    .bind(code)
    .fetch_optional(db)
    .await
}

pub async fn find_by_id<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> sqlx::Result<Option<TenantRecord>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from platform.tenants where id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn list(db: &PgPool) -> sqlx::Result<Vec<TenantRecord>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from platform.tenants order by kind desc, code"
    ))
    .fetch_all(db)
    .await
}

/// Tenants whose schema is behind the latest version of their kind: one index scan.
pub async fn behind(
    db: &PgPool,
    school_latest: i32,
    agency_latest: i32,
) -> sqlx::Result<Vec<TenantRecord>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from platform.tenants
         where (kind = 'school' and schema_version < $1)
            or (kind = 'agency' and schema_version < $2)
         order by id"
    ))
    .bind(school_latest)
    .bind(agency_latest)
    .fetch_all(db)
    .await
}

pub async fn set_status(
    db: &PgPool,
    code: &str,
    suspended: bool,
    reason: Option<&str>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update platform.tenants
         set status = case when $2 then 'suspended' else 'active' end,
             suspended_reason = case when $2 then $3 else null end,
             suspended_at = case when $2 then now() else null end
         where code = $1",
    )
    .bind(code)
    .bind(suspended)
    .bind(reason)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}
