//! Migration sets: plain SQL files `NNNN_name.sql`, embedded in the binary, forward only.
//!
//! Owns reading a set and applying the platform set. Tenant sets are applied by
//! `tenancy::migrate`, which needs the tenant's role and search path.

use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

static MIGRATIONS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/migrations");

#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i32,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

/// An ordered, gap-free list of migrations.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    pub migrations: Vec<Migration>,
}

impl MigrationSet {
    /// The set embedded at `migrations/<path>` (`platform`, `tenant/school`, `tenant/agency`).
    pub fn embedded(path: &str) -> anyhow::Result<Self> {
        let dir = MIGRATIONS
            .get_dir(path)
            .ok_or_else(|| anyhow::anyhow!("no embedded migration set {path}"))?;
        let files = dir.files().filter_map(|f| {
            let name = f.path().file_name()?.to_str()?.to_string();
            let sql = f.contents_utf8()?.to_string();
            Some((name, sql))
        });
        Self::from_files(files)
    }

    /// Builds a set from `(file name, sql)` pairs; names must be `NNNN_name.sql`,
    /// numbered 1, 2, 3 ... without gaps.
    pub fn from_files(files: impl IntoIterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut migrations = Vec::new();
        for (file, sql) in files {
            let Some(stem) = file.strip_suffix(".sql") else {
                continue;
            };
            let (num, name) = stem
                .split_once('_')
                .ok_or_else(|| anyhow::anyhow!("migration file {file} is not NNNN_name.sql"))?;
            let version: i32 = num
                .parse()
                .map_err(|_| anyhow::anyhow!("migration file {file} has no number"))?;
            let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
            migrations.push(Migration {
                version,
                name: name.to_string(),
                sql,
                checksum,
            });
        }
        migrations.sort_by_key(|m| m.version);
        for (i, m) in migrations.iter().enumerate() {
            if m.version != i as i32 + 1 {
                anyhow::bail!(
                    "migration numbers must run 1, 2, 3 ...; found {}",
                    m.version
                );
            }
        }
        Ok(Self { migrations })
    }

    pub fn latest(&self) -> i32 {
        self.migrations.last().map(|m| m.version).unwrap_or(0)
    }

    pub fn after(&self, version: i32) -> impl Iterator<Item = &Migration> {
        self.migrations.iter().filter(move |m| m.version > version)
    }

    /// Appends migrations (tests and benches use it to model a new release).
    pub fn with_extra(mut self, name: &str, sql: &str) -> Self {
        let version = self.latest() + 1;
        self.migrations.push(Migration {
            version,
            name: name.to_string(),
            sql: sql.to_string(),
            checksum: hex::encode(Sha256::digest(sql.as_bytes())),
        });
        self
    }
}

/// Applies the platform set, each migration in its own transaction, serialised across
/// processes by an advisory lock. Refuses to run when an applied file was edited.
pub async fn migrate_platform(pool: &PgPool, set: &MigrationSet) -> anyhow::Result<i32> {
    let mut conn = pool.acquire().await?;
    sqlx::raw_sql(
        "create schema if not exists platform;
         create table if not exists platform.schema_migrations (
             version int primary key,
             name text not null,
             checksum text not null,
             applied_at timestamptz not null default now()
         );",
    )
    .execute(&mut *conn)
    .await?;
    drop(conn);

    for m in &set.migrations {
        let mut tx = pool.begin().await?;
        // Any constant works; it only has to be the same for every afterschool process.
        sqlx::query("select pg_advisory_xact_lock(7234001)")
            .execute(&mut *tx)
            .await?;
        let applied: Option<String> = sqlx::query_scalar(
            "select checksum from platform.schema_migrations where version = $1",
        )
        .bind(m.version)
        .fetch_optional(&mut *tx)
        .await?;
        match applied {
            Some(sum) if sum == m.checksum => continue,
            Some(_) => anyhow::bail!(
                "platform migration {:04}_{} was edited after it was applied; add a new migration instead",
                m.version,
                m.name
            ),
            None => {}
        }
        sqlx::raw_sql(&m.sql).execute(&mut *tx).await.map_err(|e| {
            anyhow::anyhow!("platform migration {:04}_{} failed: {e}", m.version, m.name)
        })?;
        sqlx::query(
            "insert into platform.schema_migrations (version, name, checksum) values ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(&m.name)
        .bind(&m.checksum)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
    }
    Ok(set.latest())
}
