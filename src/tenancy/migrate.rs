//! Tenant schema migrations across every tenant.
//!
//! One transaction per tenant (a tenant is always fully at the old or fully at the new
//! version, whatever kills the run), bounded parallel jobs, tenants already current skipped
//! by one registry query, a failed tenant reported without stopping the others; a rerun
//! resumes where it failed because progress lives in `platform.tenants.schema_version`.

use std::time::{Duration, Instant};

use futures::StreamExt;
use sqlx::{PgConnection, PgPool};

use super::model::{TenantKind, TenantRecord};
use super::repo;
use crate::db::ident;
use crate::db::migrations::MigrationSet;

/// The migration set of each kind of tenant.
#[derive(Debug, Clone)]
pub struct TenantSets {
    pub school: MigrationSet,
    pub agency: MigrationSet,
}

impl TenantSets {
    pub fn embedded() -> anyhow::Result<Self> {
        Ok(Self {
            school: MigrationSet::embedded(TenantKind::School.migration_path())?,
            agency: MigrationSet::embedded(TenantKind::Agency.migration_path())?,
        })
    }

    pub fn for_kind(&self, kind: TenantKind) -> &MigrationSet {
        match kind {
            TenantKind::School => &self.school,
            TenantKind::Agency => &self.agency,
        }
    }

    /// Records each file's checksum the first time it is seen and refuses to go on when an
    /// already recorded file has changed (migrations are forward only).
    pub async fn check_catalog(&self, admin: &PgPool) -> Result<(), CatalogError> {
        for kind in [TenantKind::School, TenantKind::Agency] {
            let set = self.for_kind(kind);
            let versions: Vec<i32> = set.migrations.iter().map(|m| m.version).collect();
            let names: Vec<String> = set.migrations.iter().map(|m| m.name.clone()).collect();
            let sums: Vec<String> = set.migrations.iter().map(|m| m.checksum.clone()).collect();
            let changed: Vec<(i32, String)> = sqlx::query_as(
                "with new as (
                     insert into platform.tenant_migrations (kind, version, name, checksum)
                     select $1, v, n, c from unnest($2::int[], $3::text[], $4::text[]) as t(v, n, c)
                     on conflict (kind, version) do nothing
                     returning version
                 )
                 select m.version, m.name
                 from platform.tenant_migrations m
                 join unnest($2::int[], $4::text[]) as t(v, c) on t.v = m.version
                 where m.kind = $1 and m.checksum <> t.c",
            )
            .bind(kind.as_str())
            .bind(&versions)
            .bind(&names)
            .bind(&sums)
            .fetch_all(admin)
            .await?;
            if let Some((version, name)) = changed.into_iter().next() {
                return Err(CatalogError::Edited {
                    kind,
                    version,
                    name,
                });
            }
        }
        Ok(())
    }
}

/// Why the migration catalog stops a run before any tenant is touched.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A migration file already recorded has changed since (migrations are forward only).
    #[error("{} 租户迁移 {version:04}_{name} 在应用后被修改；迁移只能新增，不能改写", kind.label())]
    Edited {
        kind: TenantKind,
        version: i32,
        name: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Runs the migrations after `from` inside the caller's (admin) transaction, as the tenant
/// role with the tenant schema as search path, so every object is owned by the tenant role.
/// Leaves the transaction back at the admin role.
pub async fn apply_in_tx(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
    set: &MigrationSet,
    from: i32,
) -> Result<i32, sqlx::Error> {
    enter_tenant(conn, schema, role).await?;
    let mut version = from;
    for m in set.after(from) {
        sqlx::raw_sql(&m.sql).execute(&mut *conn).await?;
        version = m.version;
    }
    leave_tenant(conn).await?;
    Ok(version)
}

/// `SET LOCAL ROLE` + transaction-local search path, in one round trip.
pub async fn enter_tenant(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(&format!(
        "select set_config('search_path', '{schema}', true); set local role {}",
        ident(role)
    ))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn leave_tenant(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::raw_sql("reset role; select set_config('search_path', 'platform,public', true)")
        .execute(conn)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Migrated,
    /// Another run brought it up to date between our query and our lock.
    AlreadyCurrent,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct TenantResult {
    pub code: String,
    pub kind: String,
    pub from: i32,
    pub to: i32,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub total_tenants: i64,
    pub results: Vec<TenantResult>,
    pub elapsed: Duration,
}

impl MigrateReport {
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .count()
    }

    /// The per-tenant result table printed by `afterschool migrate`.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<24} {:<7} {:>5} {:>5} {:>8}  结果\n",
            "租户", "类型", "原版本", "新版本", "耗时ms"
        );
        for r in &self.results {
            let outcome = match &r.outcome {
                Outcome::Migrated => "已迁移".to_string(),
                Outcome::AlreadyCurrent => "已是最新".to_string(),
                Outcome::Failed(e) => format!("失败: {e}"),
            };
            out.push_str(&format!(
                "{:<24} {:<7} {:>5} {:>5} {:>8}  {}\n",
                r.code,
                r.kind,
                r.from,
                r.to,
                r.elapsed.as_millis(),
                outcome
            ));
        }
        let up_to_date = self.total_tenants - self.results.len() as i64;
        out.push_str(&format!(
            "共 {} 个租户：迁移 {}，失败 {}，原已最新 {}；用时 {} ms\n",
            self.total_tenants,
            self.results
                .iter()
                .filter(|r| r.outcome == Outcome::Migrated)
                .count(),
            self.failed(),
            up_to_date.max(0),
            self.elapsed.as_millis()
        ));
        out
    }
}

/// Brings every tenant schema to the latest version of its set.
pub async fn migrate_all(
    admin: &PgPool,
    sets: &TenantSets,
    jobs: usize,
) -> anyhow::Result<MigrateReport> {
    let started = Instant::now();
    sets.check_catalog(admin).await?;
    let behind = repo::behind(admin, sets.school.latest(), sets.agency.latest()).await?;
    let total_tenants: i64 = sqlx::query_scalar("select count(*) from platform.tenants")
        .fetch_one(admin)
        .await?;
    let results: Vec<TenantResult> = futures::stream::iter(behind)
        .map(|t| migrate_one(admin, sets, t))
        .buffer_unordered(jobs.max(1))
        .collect()
        .await;
    let mut results = results;
    results.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(MigrateReport {
        total_tenants,
        results,
        elapsed: started.elapsed(),
    })
}

async fn migrate_one(admin: &PgPool, sets: &TenantSets, t: TenantRecord) -> TenantResult {
    let started = Instant::now();
    let mut result = TenantResult {
        code: t.code.clone(),
        kind: t.kind.clone(),
        from: t.schema_version,
        to: t.schema_version,
        outcome: Outcome::AlreadyCurrent,
        elapsed: Duration::ZERO,
    };
    let Some(kind) = t.kind() else {
        result.outcome = Outcome::Failed(format!("未知租户类型 {}", t.kind));
        return result;
    };
    let set = sets.for_kind(kind);
    match migrate_one_tx(admin, set, &t).await {
        Ok(Some((from, to))) => {
            result.from = from;
            result.to = to;
            result.outcome = Outcome::Migrated;
        }
        Ok(None) => {
            result.to = set.latest();
        }
        Err(e) => {
            let msg = e.to_string();
            // Best effort: the failure is also visible in `tenant list`.
            let _ =
                sqlx::query("update platform.tenants set last_migration_error = $2 where id = $1")
                    .bind(t.id)
                    .bind(&msg)
                    .execute(admin)
                    .await;
            result.outcome = Outcome::Failed(msg);
        }
    }
    result.elapsed = started.elapsed();
    result
}

async fn migrate_one_tx(
    admin: &PgPool,
    set: &MigrationSet,
    t: &TenantRecord,
) -> Result<Option<(i32, i32)>, sqlx::Error> {
    let mut tx = admin.begin().await?;
    // The row lock makes two concurrent `migrate` runs take turns per tenant.
    let current: i32 =
        sqlx::query_scalar("select schema_version from platform.tenants where id = $1 for update")
            .bind(t.id)
            .fetch_one(&mut *tx)
            .await?;
    if current >= set.latest() {
        return Ok(None);
    }
    let to = apply_in_tx(&mut tx, &t.schema_name, &t.db_role, set, current).await?;
    sqlx::query(
        "update platform.tenants set schema_version = $2, last_migration_error = null where id = $1",
    )
    .bind(t.id)
    .bind(to)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some((current, to)))
}
