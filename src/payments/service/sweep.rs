//! The payments sweeper and the start-up recovery: unpaid orders whose holds ran out are
//! closed (at WeChat first), yesterday's escrow day is closed once due, and on start every
//! unpaid order is looked up at WeChat so a payment whose callback was lost while the server
//! was down is settled. (Refunds are sent by the outbox.)
//!
//! Every pass is safe to run twice or to stop half-way: each step is idempotent on its row
//! or reference. Must never call WeChat inside a database transaction.

use super::closing::{close_at_wechat, AtWechat};
use super::settle::settle_by_query;
use crate::kernel::ctx::Ctx;
use crate::payments::error::PaymentsError;
use crate::payments::repo;

/// Closes unpaid orders whose holds ran out. Returns how many closed.
pub async fn close_expired(st: &Ctx) -> Result<usize, PaymentsError> {
    let now = st.clock.now();
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::open_orders(&mut conn, Some(now), 100).await?;
    drop(conn);
    let mut closed = 0;
    for o in orders {
        if close_at_wechat(st, &o).await != AtWechat::Closed {
            continue;
        }
        let mut conn = st.db_app.acquire().await?;
        repo::mark_closed(&mut conn, o.id, "超时未支付，订单已关闭", now).await?;
        closed += 1;
    }
    Ok(closed)
}

/// On start: every unpaid order is looked up at WeChat, so a payment whose callback was lost
/// while the server was down is settled. Returns how many were found paid.
pub async fn recover(st: &Ctx) -> Result<usize, PaymentsError> {
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::open_orders(&mut conn, None, 1000).await?;
    drop(conn);
    let mut paid = 0;
    for o in &orders {
        if settle_by_query(st, o).await {
            paid += 1;
        }
    }
    Ok(paid)
}

/// One pass of the payments sweeper: close expired orders, close
/// yesterday's escrow day once it is due.
pub async fn sweep(st: &Ctx) {
    if let Err(e) = crate::payments::daily::close_yesterday_if_due(st).await {
        tracing::warn!(error = %e, "payments sweep: day close failed");
    }
    if let Err(e) = close_expired(st).await {
        tracing::warn!(error = %e, "payments sweep: closing failed");
    }
}

/// Recovers once, then sweeps every `every`, for the life of the server.
pub async fn run_sweeper(st: std::sync::Arc<Ctx>, every: std::time::Duration) {
    match recover(&st).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            paid = n,
            "payments: orders paid while the server was down settled"
        ),
        Err(e) => tracing::warn!(error = %e, "payments: recovery failed"),
    }
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        sweep(&st).await;
    }
}
