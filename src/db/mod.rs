//! Database access: the embedded cluster, the two pools, platform migrations and the
//! login/group roles every tenant role hangs off.
//!
//! Two connection identities: the *admin* pool (owner; migrations and provisioning) and the
//! *app* pool, whose login role is `NOINHERIT` and holds no privilege on any tenant schema,
//! so request code reads tenant data only after `SET LOCAL ROLE <tenant role>`.
//! Must never run tenant request code on the admin pool.

pub mod embedded;
pub mod migrations;

use std::time::Duration;

use anyhow::Context;
use rand::distributions::Alphanumeric;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::DatabaseSettings;
use embedded::{ClusterOptions, EmbeddedCluster};
use migrations::MigrationSet;

/// Names of the cluster-wide roles belonging to this database. Roles are global to a
/// PostgreSQL cluster while schemas are per database, so names carry a prefix derived from
/// the database name: two databases on one cluster (tests, staging) never share a role.
#[derive(Debug, Clone)]
pub struct RoleNames {
    pub prefix: String,
}

impl RoleNames {
    pub fn for_database(db: &str) -> Self {
        let mut clean: String = db
            .chars()
            .map(|c| {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let needs_hash =
            clean != db || clean.len() > 20 || !clean.starts_with(|c: char| c.is_ascii_lowercase());
        if needs_hash {
            let h = hex::encode(&Sha256::digest(db.as_bytes())[..4]);
            clean.truncate(12);
            clean = format!("d{clean}_{h}");
        }
        Self { prefix: clean }
    }

    pub fn app(&self) -> String {
        format!("{}_app", self.prefix)
    }

    /// Group role every tenant role is a member of: the platform privileges all tenants share.
    pub fn tenant_group(&self) -> String {
        format!("{}_tenant", self.prefix)
    }

    pub fn tenant(&self, schema: &str) -> String {
        format!("{}_{}", self.prefix, schema)
    }
}

/// Quotes an identifier that has already been checked against `^[a-z][a-z0-9_]*$`.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub struct Database {
    pub admin: PgPool,
    pub app: PgPool,
    pub roles: RoleNames,
    pub embedded: Option<EmbeddedCluster>,
}

impl Database {
    /// Connects (starting the embedded cluster when no URL is set), migrates the platform
    /// schema, makes sure the shared roles exist and opens the app pool.
    pub async fn open(settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let (admin_url, embedded) = match &settings.url {
            Some(url) => (url.expose_secret().to_string(), None),
            None => {
                let dir = settings.data_dir.clone();
                let cluster = tokio::task::spawn_blocking(move || {
                    EmbeddedCluster::start(&dir, &ClusterOptions::default())
                })
                .await??;
                let url = cluster.url("postgres");
                let admin = PgPool::connect(&url).await?;
                ensure_database(&admin, "afterschool").await?;
                admin.close().await;
                (cluster.url("afterschool"), Some(cluster))
            }
        };
        let mut db = Self::open_url(&admin_url, settings).await?;
        db.embedded = embedded;
        Ok(db)
    }

    /// As [`Database::open`] for a given admin URL (tests and benches use it directly).
    pub async fn open_url(admin_url: &str, settings: &DatabaseSettings) -> anyhow::Result<Self> {
        let admin_opts: PgConnectOptions = admin_url.parse().context("DATABASE_URL 格式错误")?;
        let admin = pool_options(settings, 8)
            .connect_with(admin_opts.clone())
            .await
            .context("无法连接数据库")?;
        migrations::migrate_platform(&admin, &MigrationSet::embedded("platform")?).await?;
        let db_name: String = sqlx::query_scalar("select current_database()")
            .fetch_one(&admin)
            .await?;
        let roles = RoleNames::for_database(&db_name);
        let password = match &settings.app_password {
            Some(p) => p.clone(),
            None => SecretString::from(
                rand::thread_rng()
                    .sample_iter(&Alphanumeric)
                    .take(32)
                    .map(char::from)
                    .collect::<String>(),
            ),
        };
        ensure_shared_roles(&admin, &roles, &password).await?;
        let app_opts = admin_opts
            .username(&roles.app())
            .password(password.expose_secret());
        let app = pool_options(settings, settings.max_connections)
            .connect_with(app_opts)
            .await
            .context("无法以应用角色连接数据库")?;
        Ok(Self {
            admin,
            app,
            roles,
            embedded: None,
        })
    }

    /// Closes the pools and stops the embedded cluster if this process started it.
    pub async fn shutdown(mut self) {
        self.app.close().await;
        self.admin.close().await;
        if let Some(mut c) = self.embedded.take() {
            let _ = tokio::task::spawn_blocking(move || c.stop()).await;
        }
    }
}

fn pool_options(settings: &DatabaseSettings, max: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max.max(1))
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(10))
        .max_lifetime(Duration::from_secs(settings.max_lifetime_secs))
        .idle_timeout(Duration::from_secs(settings.idle_timeout_secs))
}

pub async fn ensure_database(admin: &PgPool, name: &str) -> anyhow::Result<()> {
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(admin)
            .await?;
    if !exists {
        sqlx::raw_sql(&format!("create database {}", ident(name)))
            .execute(admin)
            .await?;
    }
    Ok(())
}

/// Creates the app login role and the tenant group role if missing, sets the app password
/// and grants the platform privileges. Idempotent; cheap enough to run at every start.
async fn ensure_shared_roles(
    admin: &PgPool,
    roles: &RoleNames,
    app_password: &SecretString,
) -> anyhow::Result<()> {
    let app = ident(&roles.app());
    let group = ident(&roles.tenant_group());
    let mut tx = admin.begin().await?;
    // Role DDL is cluster-wide; serialise it against other processes on this database.
    sqlx::query("select pg_advisory_xact_lock(7234002)")
        .execute(&mut *tx)
        .await?;
    for (name, ddl) in [
        (roles.app(), format!("create role {app} login noinherit")),
        (roles.tenant_group(), format!("create role {group} nologin")),
    ] {
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
                .bind(&name)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            sqlx::raw_sql(&ddl).execute(&mut *tx).await?;
        }
    }
    // The password cannot be a bind parameter in ALTER ROLE; it is alphanumeric or operator
    // supplied, and quoted as a literal.
    let pw = app_password.expose_secret().replace('\'', "''");
    sqlx::raw_sql(&format!(
        "alter role {app} with login noinherit password '{pw}'"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::raw_sql(&format!(
        "grant usage on schema platform to {app}, {group};
         grant select on platform.tenants to {app};
         grant select, insert, update on platform.accounts, platform.sessions, platform.sms_codes to {app};
         grant select, insert, delete on platform.role_assignments to {app};
         grant select, insert on platform.sms_outbox to {app};
         grant select, insert, update on platform.consents to {app};
         grant usage on all sequences in schema platform to {app};
         {audit}
         {wechatpay}
         {ledger}
         {payments}
         {outbox}
         {supervision}
         {notify}",
        audit = crate::audit::APP_GRANTS
            .replace("{app}", &app)
            .replace("{group}", &group),
        wechatpay = crate::wechatpay::APP_GRANTS.replace("{app}", &app),
        ledger = crate::ledger::APP_GRANTS.replace("{app}", &app),
        payments = crate::payments::APP_GRANTS.replace("{app}", &app),
        supervision = crate::supervision::APP_GRANTS.replace("{app}", &app),
        notify = crate::notify::APP_GRANTS.replace("{app}", &app),
        outbox = crate::outbox::APP_GRANTS
            .replace("{app}", &app)
            .replace("{group}", &group),
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
