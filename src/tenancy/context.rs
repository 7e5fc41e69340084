//! The per-request tenant transaction.
//!
//! Every tenant request runs in one transaction that begins with
//! `select set_config('search_path', '<schema>,platform', true); set local role <role>`,
//! sent as one simple-query batch (one round trip). Both settings are transaction-local, so
//! nothing leaks to the next user of the pooled connection. Must never use a session-level
//! `SET`.

use sqlx::{Executor, PgConnection, PgPool, Postgres, Transaction};

use super::model::TenantContext;
use crate::db::ident;

pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    ctx: TenantContext,
}

impl TenantTx {
    pub async fn begin(app: &PgPool, ctx: &TenantContext) -> Result<Self, sqlx::Error> {
        let mut tx = app.begin().await?;
        // Schema and role come from the registry, whose CHECK constraints pin them to
        // `^[a-z][a-z0-9_]{0,62}$`; that is why they may be spliced into the batch.
        // A `&str` without arguments goes out as one simple-query message: both statements
        // in one round trip. (`sqlx::raw_sql` would do the same, but its future is not
        // `Send` for every lifetime, which request handlers need.)
        let batch = format!(
            "select set_config('search_path', '{},platform', true); set local role {}",
            ctx.schema,
            ident(&ctx.role)
        );
        tx.execute(batch.as_str()).await?;
        Ok(Self {
            tx,
            ctx: ctx.clone(),
        })
    }

    pub fn tenant(&self) -> &TenantContext {
        &self.ctx
    }

    pub fn conn(&mut self) -> &mut PgConnection {
        &mut self.tx
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
