//! The per-request tenant transaction.
//!
//! Every tenant request runs in one transaction that begins with
//! `begin; select set_config('search_path', '<schema>,platform', true); set local role <role>`,
//! sent as one simple-query batch (one round trip). Both settings are transaction-local, so
//! nothing leaks to the next user of the pooled connection. Must never use a session-level
//! `SET`.

use sqlx::{Executor, PgConnection, PgPool, Postgres, Transaction};

use super::ctx::Ctx;
use crate::audit::{self, AuditError, AuditEvent};
use crate::auth::model::AuthContext;
use crate::db::ident;
use crate::tenancy::model::TenantContext;

pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    ctx: TenantContext,
}

impl TenantTx {
    pub async fn begin(app: &PgPool, ctx: &TenantContext) -> Result<Self, sqlx::Error> {
        // Schema and role come from the registry, whose CHECK constraints pin them to
        // `^[a-z][a-z0-9_]{0,62}$`; that is why they may be spliced into the batch.
        // `BEGIN` and both settings go out as one simple-query message: one round trip for
        // the three. Should a setting fail, the transaction is not open and sqlx answers
        // `BeginFailed` (and rolls back), so no request runs without its tenant role.
        let batch = format!(
            "begin; select set_config('search_path', '{},platform', true); set local role {}",
            ctx.schema,
            ident(&ctx.role)
        );
        let tx = app.begin_with(batch).await?;
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

    /// Drops the tenant role for the rest of the transaction (until [`Self::enter_role`]):
    /// the one explicit path by which tenant work also writes `platform` rows (accounts of
    /// guardians, role grants, the audit trail) in the same transaction. Keep the section
    /// short and qualify every name with `platform.`.
    pub async fn leave_role(&mut self) -> Result<(), sqlx::Error> {
        self.tx.execute("set local role none").await?;
        Ok(())
    }

    /// Takes the tenant role back after [`Self::leave_role`].
    pub async fn enter_role(&mut self) -> Result<(), sqlx::Error> {
        let stmt = format!("set local role {}", ident(&self.ctx.role));
        self.tx.execute(stmt.as_str()).await?;
        Ok(())
    }

    /// Appends `ev` (actor, tenant and source address filled in) to the audit trail inside
    /// this transaction, so the record commits or rolls back with the change it describes.
    /// One `INSERT` under the tenant role (which may append but not read the trail); it
    /// takes no lock shared with other transactions, so it can go anywhere in the work.
    pub async fn audit(
        &mut self,
        st: &Ctx,
        auth: &AuthContext,
        ev: AuditEvent,
    ) -> Result<(), AuditError> {
        let ev = ev
            .who(Some(auth.account_id), None)
            .at_tenant(Some(self.ctx.id))
            .with_ip(auth.source_ip.clone());
        audit::append(&mut self.tx, &st.keys.audit, &ev, st.clock.now())
            .await
            .map(|_| ())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}
