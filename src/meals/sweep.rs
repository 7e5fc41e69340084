//! The meals sweeper: unpaid orders whose hold ran out end, giving the child's meal kinds
//! and the items' places back even when nobody orders.

use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;

/// Runs over every active school every `every`, for the life of the server.
pub async fn run_sweeper(st: std::sync::Arc<Ctx>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let schools = match crate::tenancy::lookup::active_schools(&st.db_app).await {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "meals sweeper: tenant list failed");
                continue;
            }
        };
        for t in &schools {
            let run = async {
                let mut tx = TenantTx::begin(&st.db_app, t).await?;
                super::paid::expire_holds(tx.conn(), st.clock.now()).await?;
                tx.commit().await
            };
            if let Err(e) = run.await {
                tracing::warn!(tenant = %t.code, error = %e, "meals sweeper: sweep failed");
            }
        }
    }
}
