//! Refunds (R-P05's refund, R-S08): the unreleased part of a paid line reserved in the
//! escrow ledger with the refund row (a school admin's refund, an ended enrollment's, or the
//! automatic one of a place given up while the parent paid), sent to WeChat by the outbox
//! (a `payments.refund` event written with the reservation, so it is sent once the
//! transaction committed, and again until WeChat accepts it), and moved along by WeChat's
//! answers.
//!
//! Must never refund more than a line's unreleased part, send a refund to WeChat before the
//! transaction that reserved it committed, or send one twice under two numbers (a retry
//! reuses its `out_refund_no`).

use serde_json::json;

use super::order::refund_view;
use super::{money, tenant_of, trade_no, wechat_failed, yuan};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::ids::EnrollmentId;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, Money};
use crate::payments::error::PaymentsError;
use crate::payments::model::*;
use crate::payments::repo::{self, LineRow};
use crate::wechatpay::{NewRefund as WxRefund, RefundStatus as WxRefundStatus};

/// The outbox event kind whose handler ([`deliver_refunds`]) sends reserved refunds.
pub const REFUND_EVENT: &str = "payments.refund";

/// Reserves `amount` of the line's unreleased money for a new refund, with the outbox event
/// that sends it to WeChat (platform privileges; the caller's transaction commits both).
/// Returns the refund id.
#[allow(clippy::too_many_arguments)]
pub(super) async fn reserve(
    conn: &mut sqlx::PgConnection,
    st: &Ctx,
    line: &LineRow,
    amount: Money,
    reason: &str,
    source: &str,
    refund_request_id: Option<i64>,
    created_by: Option<i64>,
) -> Result<i64, PaymentsError> {
    reserve_lines(
        conn,
        st,
        &[(line, amount)],
        reason,
        source,
        refund_request_id,
        created_by,
    )
    .await
}

/// [`reserve`] on several lines of one payment under one refund number: one WeChat refund
/// of their sum, split over the lines in the ledger. The row names the first line.
pub(super) async fn reserve_lines(
    conn: &mut sqlx::PgConnection,
    st: &Ctx,
    lines: &[(&LineRow, Money)],
    reason: &str,
    source: &str,
    refund_request_id: Option<i64>,
    created_by: Option<i64>,
) -> Result<i64, PaymentsError> {
    let Some((first, _)) = lines.first() else {
        return Err(PaymentsError::Vanished("lines of a refund".into()));
    };
    let now = st.clock.now();
    let out_refund_no = trade_no("RF", now);
    let mut total = Money::ZERO;
    for (line, amount) in lines {
        ledger::reserve_refund(conn, line.id, *amount, &out_refund_no, now).await?;
        total = total
            .checked_add(*amount)
            .ok_or_else(|| PaymentsError::Vanished("refund above the limit".into()))?;
    }
    let id = repo::insert_refund(
        conn,
        &out_refund_no,
        first,
        total.as_decimal(),
        reason,
        source,
        refund_request_id,
        created_by,
        now,
    )
    .await?;
    let ev = crate::outbox::NewEvent::new(
        REFUND_EVENT,
        format!("refund:{id}"),
        json!({ "refund_id": id }),
    )
    .keyed(format!("refund:{id}:submit"));
    crate::outbox::emit(conn, Some(first.tenant_id), &ev).await?;
    Ok(id)
}

/// What of a paid line is still in escrow and not promised to a refund: paid, less released,
/// reserved for refunds and refunded.
pub(super) async fn unreleased(
    conn: &mut sqlx::PgConnection,
    line: &LineRow,
) -> Result<Money, PaymentsError> {
    let state = ledger::line_balance(conn, line.id).await?;
    Ok(state
        .paid
        .saturating_sub(state.released)
        .saturating_sub(state.refund_reserved)
        .saturating_sub(state.refunded))
}

fn check_reason(reason: &str) -> Result<String, PaymentsError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 80 {
        return Err(PaymentsError::RefundReasonInvalid);
    }
    Ok(r.to_string())
}

/// A school admin refunds (part of) a paid line (R-S08): at most its unreleased part.
pub async fn refund_line(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    req: NewRefund,
) -> Result<RefundView, PaymentsError> {
    let reason = check_reason(&req.reason)?;
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let line = repo::line(tx.conn(), req.line_id)
        .await?
        .filter(|l| l.tenant_id == tenant_id)
        .ok_or(PaymentsError::OrderLineNotFound {
            line_id: req.line_id,
        })?;
    let unreleased = unreleased(tx.conn(), &line).await?;
    let amount = match req.amount.as_deref() {
        None => unreleased,
        Some(a) => Money::parse(a).map_err(PaymentsError::RefundAmountInvalid)?,
    };
    if amount.is_zero() {
        return Err(PaymentsError::RefundNothingLeft { line_id: line.id });
    }
    let id = reserve(
        tx.conn(),
        st,
        &line,
        amount,
        &reason,
        "admin",
        None,
        Some(auth.account_id),
    )
    .await?;
    tx.enter_role().await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "payment.refund.request",
            format!("refund:{id}"),
            Outcome::Success,
        )
        .details(json!({ "line_id": line.id, "amount": amount.to_string(), "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    let mut conn = st.db_app.acquire().await?;
    let r = repo::refund(&mut conn, id)
        .await?
        .ok_or_else(|| PaymentsError::Vanished(format!("refund {id}")))?;
    Ok(refund_view(&r))
}

/// The refund of an enrollment that ended early (an approved withdrawal, or the school
/// cancelling a paid enrollment), inside that transaction (tenant role on entry and exit):
/// the unreleased part of the enrollment's paid line, sent to WeChat by the outbox after
/// commit. `None` when the enrollment was never paid online
/// (nothing to give back through WeChat).
pub async fn refund_enrollment(
    st: &Ctx,
    tx: &mut TenantTx,
    enrollment_id: EnrollmentId,
    refund_request_id: i64,
    reason: &str,
    approved_by: i64,
    source: &str,
) -> Result<Option<i64>, PaymentsError> {
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let line = repo::paid_line_of_enrollment(tx.conn(), tenant_id, enrollment_id).await?;
    let mut out = None;
    if let Some(line) = line {
        let unreleased = unreleased(tx.conn(), &line).await?;
        if !unreleased.is_zero() {
            let reason: String = reason.chars().take(80).collect();
            out = Some(
                reserve(
                    tx.conn(),
                    st,
                    &line,
                    unreleased,
                    &reason,
                    source,
                    Some(refund_request_id),
                    Some(approved_by),
                )
                .await?,
            );
        }
    }
    tx.enter_role().await?;
    Ok(out)
}

/// The outbox handler of [`REFUND_EVENT`]: sends each reserved refund to WeChat and stores
/// its answer. A failure is tried again by the outbox with the same `out_refund_no`, so
/// WeChat never refunds twice; a refund already sent is not sent again.
pub fn deliver_refunds(
    st: std::sync::Arc<Ctx>,
    events: Vec<crate::outbox::Event>,
) -> crate::outbox::Delivery {
    Box::pin(async move {
        let mut out = Vec::with_capacity(events.len());
        for ev in &events {
            let Some(id) = ev.payload.get("refund_id").and_then(|v| v.as_i64()) else {
                out.push(crate::outbox::Outcome::Dead("事件缺少退款编号".into()));
                continue;
            };
            out.push(match submit_refund(&st, id).await {
                Ok(()) => crate::outbox::Outcome::Done,
                Err(e) => {
                    tracing::warn!(refund = id, error = %e, "refund submission failed; will retry");
                    crate::outbox::Outcome::Retry(e.to_string())
                }
            });
        }
        out
    })
}

/// Sends a reserved refund to WeChat and stores its answer; nothing when it was sent before.
async fn submit_refund(st: &Ctx, refund_id: i64) -> Result<(), PaymentsError> {
    let mut conn = st.db_app.acquire().await?;
    let Some(r) = repo::refund(&mut conn, refund_id).await? else {
        return Ok(());
    };
    if r.status != RefundStatus::Requested {
        return Ok(());
    }
    let order = repo::order(&mut conn, r.order_id)
        .await?
        .ok_or_else(|| PaymentsError::Vanished(format!("order of refund {refund_id}")))?;
    drop(conn);
    let answer = st
        .wechatpay
        .refund(&WxRefund {
            out_trade_no: order.out_trade_no.clone(),
            out_refund_no: r.out_refund_no.clone(),
            reason: Some(r.reason.clone()),
            refund_fen: money(r.amount)?.to_fen(),
            total_fen: money(order.amount)?.to_fen(),
            notify_url: None,
        })
        .await
        .map_err(wechat_failed)?;
    apply_refund_status(
        st,
        &r.out_refund_no,
        answer.status,
        Some(&answer.refund_id),
        None,
    )
    .await
}

/// Moves a refund to WeChat's status: PROCESSING → 退款中, SUCCESS → 已到账 (the reserved
/// money leaves the ledger), CLOSED → 已关闭 (it goes back to the line), ABNORMAL → 异常
/// (kept reserved for the school to resolve with the parent's bank).
pub(super) async fn apply_refund_status(
    st: &Ctx,
    out_refund_no: &str,
    status: WxRefundStatus,
    wx_refund_id: Option<&str>,
    notification_id: Option<&str>,
) -> Result<(), PaymentsError> {
    let now = st.clock.now();
    // The child's and the course's names for the parent's message, read from the school
    // before the refund is locked (only when it may have arrived).
    let names = if RefundStatus::from_wechat(status) == RefundStatus::Succeeded {
        refund_names(st, out_refund_no).await?
    } else {
        None
    };
    let mut tx = st.db_app.begin().await?;
    if let Some(id) = notification_id {
        if !repo::claim_callback(
            &mut tx,
            id,
            &format!("REFUND.{}", status.as_str()),
            out_refund_no,
            "refund",
            now,
        )
        .await?
        {
            return Ok(());
        }
    }
    let Some(r) = repo::lock_refund_by_no(&mut tx, out_refund_no).await? else {
        return Err(PaymentsError::Vanished(format!("refund {out_refund_no}")));
    };
    if r.status.is_final() {
        tx.commit().await?;
        return Ok(());
    }
    let next = RefundStatus::from_wechat(status);
    if next == r.status {
        tx.commit().await?;
        return Ok(());
    }
    match next {
        RefundStatus::Succeeded => {
            ledger::settle_refund(&mut tx, out_refund_no, now).await?;
            refund_arrived_message(st, &mut tx, &r, names.as_ref(), now).await?;
        }
        RefundStatus::Closed => {
            ledger::cancel_refund(&mut tx, out_refund_no, now).await?;
        }
        _ => {}
    }
    repo::set_refund_status(&mut tx, r.id, next, wx_refund_id, now).await?;
    let ev = AuditEvent::new(
        format!("payment.refund.{}", next.as_str()),
        format!("refund:{}", r.id),
        Outcome::Success,
    )
    .tenant(r.tenant_id)
    .details(json!({ "out_refund_no": out_refund_no, "amount": yuan(r.amount) }));
    crate::audit::append(&mut tx, &st.keys.audit, &ev, now).await?;
    tx.commit().await?;
    if let Some(req_id) = r.refund_request_id {
        let tenant = tenant_of(st, r.tenant_id).await?;
        if let Some(label) = next.request_status() {
            let mut ttx = TenantTx::begin(&st.db_app, &tenant).await?;
            crate::enrollment::paid::refund_progress(ttx.conn(), req_id, label).await?;
            ttx.commit().await?;
        }
    }
    if r.source == "meal" {
        use crate::meals::paid::RefundProgress as P;
        let progress = match next {
            RefundStatus::Succeeded => Some(P::Arrived),
            RefundStatus::Abnormal => Some(P::Failed),
            RefundStatus::Closed => Some(P::Closed),
            RefundStatus::Processing => Some(P::Processing),
            RefundStatus::Requested => None,
        };
        if let Some(p) = progress {
            let tenant = tenant_of(st, r.tenant_id).await?;
            let mut ttx = TenantTx::begin(&st.db_app, &tenant).await?;
            crate::meals::paid::refund_progress(ttx.conn(), r.id, p).await?;
            ttx.commit().await?;
        }
    }
    Ok(())
}

/// The child's and the course's names of the refund's enrollment.
async fn refund_names(
    st: &Ctx,
    out_refund_no: &str,
) -> Result<Option<(String, String)>, PaymentsError> {
    let mut conn = st.db_app.acquire().await?;
    let Some(r) = repo::refund_by_no(&mut conn, out_refund_no).await? else {
        return Ok(None);
    };
    let Some(line) = repo::line(&mut conn, r.line_id).await? else {
        return Ok(None);
    };
    drop(conn);
    let tenant = tenant_of(st, r.tenant_id).await?;
    let mut ttx = TenantTx::begin(&st.db_app, &tenant).await?;
    let names = match (line.enrollment_id, line.meal_order_id) {
        (Some(e), _) => crate::enrollment::paid::place_names(ttx.conn(), &[e.0]).await?,
        (None, Some(m)) => crate::meals::paid::names(ttx.conn(), &[m]).await?,
        (None, None) => Vec::new(),
    };
    ttx.commit().await?;
    Ok(names
        .into_iter()
        .next()
        .map(|(_, child, course)| (child, course)))
}

/// The parent's 退款到账 message, in the transaction that records the refund arrived.
async fn refund_arrived_message(
    st: &Ctx,
    c: &mut sqlx::PgConnection,
    r: &repo::RefundRow,
    names: Option<&(String, String)>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), PaymentsError> {
    let Some(order) = repo::order(c, r.order_id).await? else {
        return Ok(());
    };
    let (child, course) = names
        .cloned()
        .unwrap_or_else(|| ("—".into(), "课后服务".into()));
    let m = crate::notify::Message::new(
        crate::notify::Kind::RefundArrived,
        order.account_id,
        format!("refund:{}", r.id),
    )
    .tenant(r.tenant_id)
    .field("name1", child)
    .field("thing2", course)
    .field("amount3", crate::notify::model::amount(r.amount))
    .field("time4", crate::notify::model::time(now))
    .field("thing5", "请在微信支付账单中查看");
    crate::notify::emit(c, &st.keys, &m).await?;
    Ok(())
}
