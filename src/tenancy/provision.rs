//! `tenant apply`: creates or updates tenants from validated manifests.
//!
//! Creating a tenant is one transaction: its PostgreSQL role (member of the shared tenant
//! group, granted to the app login role), its schema owned by that role, the registry row,
//! the tenant migration set and the seed data. Applying an unchanged manifest to a current
//! tenant does nothing. Must never run a seed statement as the admin role: seeds run as
//! the tenant role, so they can only touch the tenant's own schema.

use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};

use super::manifest::{AgencyManifest, LoadedManifest, Manifest, SchoolManifest};
use super::migrate::{apply_in_tx, enter_tenant, leave_tenant, TenantSets};
use super::model::TenantKind;
use super::repo;
use crate::db::{ident, RoleNames};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    Created,
    Updated,
    Unchanged,
}

impl ApplyOutcome {
    pub fn label(self) -> &'static str {
        match self {
            ApplyOutcome::Created => "已创建",
            ApplyOutcome::Updated => "已更新",
            ApplyOutcome::Unchanged => "无变化",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApplyResult {
    pub code: String,
    pub kind: TenantKind,
    pub outcome: ApplyOutcome,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("租户 {code} 已存在且类型为 {existing}，清单中为 {wanted}")]
    KindMismatch {
        code: String,
        existing: String,
        wanted: String,
    },
    #[error("租户 {code}: {source}")]
    Database {
        code: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Applies every manifest in order. Stops at the first failure (earlier tenants stay
/// applied: each is its own transaction, and re-applying is idempotent).
pub async fn apply_all(
    admin: &PgPool,
    roles: &RoleNames,
    sets: &TenantSets,
    manifests: &[LoadedManifest],
) -> anyhow::Result<Vec<ApplyResult>> {
    sets.check_catalog(admin).await?;
    let mut out = Vec::with_capacity(manifests.len());
    for m in manifests {
        out.push(apply_one(admin, roles, sets, m).await?);
    }
    Ok(out)
}

pub async fn apply_one(
    admin: &PgPool,
    roles: &RoleNames,
    sets: &TenantSets,
    m: &LoadedManifest,
) -> Result<ApplyResult, ProvisionError> {
    let started = Instant::now();
    let code = m.manifest.code().as_str().to_string();
    let kind = m.manifest.kind();
    let set = sets.for_kind(kind);
    let db_err = |source| ProvisionError::Database {
        code: code.clone(),
        source,
    };
    let existing = repo::find_by_code(admin, &code).await.map_err(db_err)?;
    let outcome = match existing {
        Some(r) if r.kind != kind.as_str() => {
            return Err(ProvisionError::KindMismatch {
                code,
                existing: r.kind,
                wanted: kind.as_str().into(),
            })
        }
        Some(r)
            if r.manifest_hash.as_deref() == Some(&m.hash) && r.schema_version >= set.latest() =>
        {
            ApplyOutcome::Unchanged
        }
        Some(r) => {
            let mut tx = admin.begin().await.map_err(db_err)?;
            let current: i32 = sqlx::query_scalar(
                "select schema_version from platform.tenants where id = $1 for update",
            )
            .bind(r.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let version = apply_in_tx(&mut tx, &r.schema_name, &r.db_role, set, current)
                .await
                .map_err(db_err)?;
            seed(&mut tx, &r.schema_name, &r.db_role, &m.manifest)
                .await
                .map_err(db_err)?;
            record(&mut tx, r.id, version, m).await.map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            ApplyOutcome::Updated
        }
        None => {
            let schema = kind.schema_name(m.manifest.code());
            let role = roles.tenant(&schema);
            let mut tx = admin.begin().await.map_err(db_err)?;
            create_role_and_schema(&mut tx, roles, &schema, &role)
                .await
                .map_err(db_err)?;
            let id: i64 = sqlx::query_scalar(
                "insert into platform.tenants (code, kind, name, schema_name, db_role)
                 values ($1, $2, $3, $4, $5) returning id",
            )
            .bind(&code)
            .bind(kind.as_str())
            .bind(m.manifest.name())
            .bind(&schema)
            .bind(&role)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
            let version = apply_in_tx(&mut tx, &schema, &role, set, 0)
                .await
                .map_err(db_err)?;
            seed(&mut tx, &schema, &role, &m.manifest)
                .await
                .map_err(db_err)?;
            record(&mut tx, id, version, m).await.map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            ApplyOutcome::Created
        }
    };
    Ok(ApplyResult {
        code,
        kind,
        outcome,
        elapsed: started.elapsed(),
    })
}

async fn create_role_and_schema(
    tx: &mut PgConnection,
    roles: &RoleNames,
    schema: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
            .bind(role)
            .fetch_one(&mut *tx)
            .await?;
    let r = ident(role);
    let mut ddl = String::new();
    if !exists {
        // Left over only after a restore into a cluster that already had it: reuse it.
        ddl.push_str(&format!("create role {r} nologin inherit;"));
    }
    ddl.push_str(&format!(
        "grant {group} to {r};
         grant {r} to {app};
         create schema {s} authorization {r};
         revoke all on schema {s} from public;",
        group = ident(&roles.tenant_group()),
        app = ident(&roles.app()),
        s = ident(schema),
    ));
    sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
    Ok(())
}

async fn record(
    tx: &mut PgConnection,
    id: i64,
    version: i32,
    m: &LoadedManifest,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update platform.tenants
         set schema_version = $2, manifest_hash = $3, name = $4, last_migration_error = null
         where id = $1",
    )
    .bind(id)
    .bind(version)
    .bind(&m.hash)
    .bind(m.manifest.name())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Upserts the manifest's data into the tenant schema, as the tenant role. Items are keyed
/// by their codes; items removed from a manifest are kept (they may be referenced).
async fn seed(
    tx: &mut PgConnection,
    schema: &str,
    role: &str,
    m: &Manifest,
) -> Result<(), sqlx::Error> {
    enter_tenant(tx, schema, role).await?;
    match m {
        Manifest::School(s) => seed_school(tx, s).await?,
        Manifest::Agency(a) => seed_agency(tx, a).await?,
    }
    leave_tenant(tx).await
}

async fn seed_school(tx: &mut PgConnection, m: &SchoolManifest) -> Result<(), sqlx::Error> {
    let g_codes: Vec<&str> = m.grades.iter().map(|g| g.code.get_ref().as_str()).collect();
    let g_names: Vec<&str> = m.grades.iter().map(|g| g.name.as_str()).collect();
    let g_levels: Vec<i16> = m.grades.iter().map(|g| *g.level.get_ref()).collect();
    sqlx::query(
        "insert into grades (code, name, level)
         select * from unnest($1::text[], $2::text[], $3::int2[])
         on conflict (code) do update set name = excluded.name, level = excluded.level",
    )
    .bind(&g_codes)
    .bind(&g_names)
    .bind(&g_levels)
    .execute(&mut *tx)
    .await?;

    let classes: Vec<_> = m
        .grades
        .iter()
        .flat_map(|g| {
            g.classes
                .iter()
                .map(move |c| (g.code.get_ref().as_str(), c))
        })
        .collect();
    let c_grade: Vec<&str> = classes.iter().map(|(g, _)| *g).collect();
    let c_code: Vec<&str> = classes
        .iter()
        .map(|(_, c)| c.code.get_ref().as_str())
        .collect();
    let c_name: Vec<&str> = classes.iter().map(|(_, c)| c.name.as_str()).collect();
    let c_alias: Vec<Option<&str>> = classes.iter().map(|(_, c)| c.alias.as_deref()).collect();
    sqlx::query(
        "insert into classes (grade_id, code, name, alias)
         select g.id, c.code, c.name, c.alias
         from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as c(grade_code, code, name, alias)
         join grades g on g.code = c.grade_code
         on conflict (code) do update
             set grade_id = excluded.grade_id, name = excluded.name, alias = excluded.alias
             -- after the first promotion the school's own class list is the truth: a
             -- re-applied manifest adds classes but never moves a promoted one back
             where not exists (select 1 from promotions)",
    )
    .bind(&c_grade)
    .bind(&c_code)
    .bind(&c_name)
    .bind(&c_alias)
    .execute(&mut *tx)
    .await?;

    let v_code: Vec<&str> = m.venues.iter().map(|v| v.code.get_ref().as_str()).collect();
    let v_name: Vec<&str> = m.venues.iter().map(|v| v.name.as_str()).collect();
    let v_kind: Vec<&str> = m.venues.iter().map(|v| v.kind.as_str()).collect();
    let v_cap: Vec<i32> = m
        .venues
        .iter()
        .map(|v| i32::try_from(*v.capacity.get_ref()).unwrap_or(i32::MAX))
        .collect();
    sqlx::query(
        "insert into venues (code, name, kind, capacity)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::int4[])
         on conflict (code) do update
             set name = excluded.name, kind = excluded.kind, capacity = excluded.capacity",
    )
    .bind(&v_code)
    .bind(&v_name)
    .bind(&v_kind)
    .bind(&v_cap)
    .execute(&mut *tx)
    .await?;

    let p_code: Vec<&str> = m
        .periods
        .iter()
        .map(|p| p.code.get_ref().as_str())
        .collect();
    let p_name: Vec<&str> = m.periods.iter().map(|p| p.name.as_str()).collect();
    let p_kind: Vec<&str> = m.periods.iter().map(|p| p.kind.as_str()).collect();
    let p_start: Vec<chrono::NaiveTime> = m.periods.iter().map(|p| p.start.get_ref().0).collect();
    let p_end: Vec<chrono::NaiveTime> = m.periods.iter().map(|p| p.end.get_ref().0).collect();
    // Arrays of arrays cannot be unnested row by row, so weekdays travel as "1,2,3".
    let p_days: Vec<String> = m
        .periods
        .iter()
        .map(|p| {
            p.weekdays
                .get_ref()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect();
    sqlx::query(
        "insert into periods (code, name, kind, starts_at, ends_at, weekdays)
         select code, name, kind, s, e, string_to_array(d, ',')::int2[]
         from unnest($1::text[], $2::text[], $3::text[], $4::time[], $5::time[], $6::text[])
             as p(code, name, kind, s, e, d)
         on conflict (code) do update
             set name = excluded.name, kind = excluded.kind, starts_at = excluded.starts_at,
                 ends_at = excluded.ends_at, weekdays = excluded.weekdays",
    )
    .bind(&p_code)
    .bind(&p_name)
    .bind(&p_kind)
    .bind(&p_start)
    .bind(&p_end)
    .bind(&p_days)
    .execute(&mut *tx)
    .await?;

    for t in &m.terms {
        let term_id: i64 = sqlx::query_scalar(
            "insert into terms (code, name, starts_on, ends_on, teaching_weekdays)
             values ($1, $2, $3, $4, $5)
             on conflict (code) do update
                 set name = excluded.name, starts_on = excluded.starts_on,
                     ends_on = excluded.ends_on, teaching_weekdays = excluded.teaching_weekdays
             returning id",
        )
        .bind(t.code.get_ref())
        .bind(&t.name)
        .bind(t.start.get_ref().0)
        .bind(t.end.get_ref().0)
        .bind(t.teaching_weekdays.get_ref())
        .fetch_one(&mut *tx)
        .await?;
        let mut days = Vec::new();
        let mut kinds = Vec::new();
        let mut names = Vec::new();
        for (ranges, kind) in [(&t.holidays, "holiday"), (&t.closures, "closure")] {
            for r in ranges {
                let mut d = r.start.get_ref().0;
                while d <= r.end.get_ref().0 {
                    days.push(d);
                    kinds.push(kind);
                    names.push(r.name.as_str());
                    match d.succ_opt() {
                        Some(n) => d = n,
                        None => break,
                    }
                }
            }
        }
        for mk in &t.makeup_days {
            days.push(mk.date.get_ref().0);
            kinds.push("makeup");
            names.push(mk.name.as_str());
        }
        sqlx::query("delete from calendar_exceptions where term_id = $1")
            .bind(term_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into calendar_exceptions (term_id, day, kind, name)
             select $1, * from unnest($2::date[], $3::text[], $4::text[])",
        )
        .bind(term_id)
        .bind(&days)
        .bind(&kinds)
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

async fn seed_agency(tx: &mut PgConnection, m: &AgencyManifest) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into profile (id, credit_code, address, intro) values (1, $1, $2, $3)
         on conflict (id) do update set credit_code = excluded.credit_code,
             address = excluded.address, intro = excluded.intro, updated_at = now()",
    )
    .bind(m.credit_code.get_ref().trim().to_ascii_uppercase())
    .bind(&m.address)
    .bind(&m.intro)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into categories (name) select * from unnest($1::text[]) on conflict (name) do nothing",
    )
    .bind(&m.categories)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
