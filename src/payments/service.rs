//! The payment rules: an order for held enrollments, payment confirmed only by WeChat Pay
//! (callback or query), unpaid orders closed with their holds, refunds of the unreleased
//! part, and the recovery passes that make a crash between two steps harmless.
//!
//! Order of steps where WeChat is involved: our row commits first, then WeChat is called,
//! then its answer is stored. A callback that arrives before our row commits finds no order,
//! is answered with an error and comes again (WeChat retries); a crash after WeChat accepted
//! a payment leaves an unpaid order that [`recover`] settles by query.

use chrono::{DateTime, Duration, Utc};
use rand::distributions::Alphanumeric;
use rand::Rng;
use rust_decimal::Decimal;
use serde_json::json;

use super::closing::{self, Met};
use super::model::*;
use super::repo::{self, LineRow, NewLine, OrderRow, RefundRow};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LineId, Money, OrderId, TenantId};
use crate::tenancy::model::TenantContext;
use crate::wechatpay::{
    NewH5Order, NewJsapiOrder, NewRefund as WxRefund, Notification, NotificationResource,
    RefundNotice, RefundStatus, TradeState, Transaction, WechatPayError,
};

const MAX_LINES: usize = 10;

fn err(
    kind: ErrorKind,
    code: &str,
    message: impl Into<String>,
    details: serde_json::Value,
) -> ApiError {
    ApiError::new(kind, code, message, details)
}

fn wx_unavailable(e: &WechatPayError) -> ApiError {
    tracing::warn!(error = %e, "WeChat Pay call failed");
    err(
        ErrorKind::Unavailable,
        "WXPAY_UNAVAILABLE",
        "微信支付暂时不可用，请稍后重试（订单已保留，重试不会重复扣款）",
        json!({}),
    )
}

fn money(d: Decimal) -> Result<Money, ApiError> {
    Money::from_decimal(d).map_err(ApiError::internal)
}

fn yuan(d: Decimal) -> String {
    format!("{:.2}", d.round_dp(2))
}

/// `AS` + UTC date and time + 12 random characters: 28 characters, unique in practice and
/// within WeChat's 6–32 `[0-9A-Za-z_-|*]`.
fn trade_no(prefix: &str, now: DateTime<Utc>) -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(12)
        .map(char::from)
        .collect();
    format!("{prefix}{}{tail}", now.format("%Y%m%d%H%M%S"))
}

fn valid_key(k: &str) -> bool {
    (8..=64).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

// --- creating and paying an order -------------------------------------------------------------

/// Creates the order for the caller's held enrollments (or returns the one created before
/// with the same idempotency key), commits it, then asks WeChat Pay for the payment
/// parameters. A WeChat failure leaves the order waiting: the same request again retries.
pub async fn create_order(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    req: NewOrder,
    client_ip: Option<String>,
) -> Result<OrderView, ApiError> {
    let now = st.clock.now();
    if !valid_key(&req.idempotency_key) {
        return Err(err(
            ErrorKind::Unprocessable,
            "IDEMPOTENCY_KEY_INVALID",
            "幂等键须为 8 至 64 位字母、数字、下划线或连字符",
            json!({ "field": "idempotency_key" }),
        ));
    }
    let mut ids = req.enrollment_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_LINES || ids.len() != req.enrollment_ids.len() {
        return Err(err(
            ErrorKind::Unprocessable,
            "ORDER_LINES_INVALID",
            format!("请选择 1 至 {MAX_LINES} 个不重复的报名一起支付"),
            json!({ "field": "enrollment_ids" }),
        ));
    }
    let tenant = tx.tenant().clone();

    tx.leave_role().await?;
    if let Some(existing) =
        repo::order_by_key(tx.conn(), auth.account_id, &req.idempotency_key).await?
    {
        let lines = repo::lines_of(tx.conn(), &[existing.id]).await?;
        let mut theirs: Vec<i64> = lines.iter().map(|l| l.enrollment_id).collect();
        theirs.sort_unstable();
        if theirs != ids
            || existing.tenant_id != tenant.id
            || existing.channel != req.channel.as_str()
        {
            return Err(err(
                ErrorKind::Conflict,
                "IDEMPOTENCY_KEY_REUSED",
                "该幂等键已用于另一笔订单，请为新的支付生成新的键",
                json!({ "order_id": existing.id }),
            ));
        }
        tx.commit().await?;
        return prepay(st, existing, client_ip).await;
    }
    tx.enter_role().await?;

    let rows = repo::payable_enrollments(tx.conn(), &ids, auth.account_id).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(err(
            ErrorKind::NotFound,
            "ENROLLMENT_NOT_FOUND",
            "找不到该报名记录",
            json!({ "id": missing }),
        ));
    }
    for r in &rows {
        let live = r.status == "held" && r.hold_expires_at.is_some_and(|t| t > now);
        if !live {
            let expired = r.status == "held" || r.status == "expired";
            return Err(err(
                ErrorKind::Conflict,
                if expired {
                    "HOLD_EXPIRED"
                } else {
                    "ENROLLMENT_NOT_HELD"
                },
                if expired {
                    format!("“{}”的名额保留已超时，请重新报名", r.course_name)
                } else {
                    format!("“{}”不在待支付状态", r.course_name)
                },
                json!({ "id": r.id, "status": r.status }),
            ));
        }
    }

    let calendars = crate::enrollment::staff::calendars(&mut tx).await?;
    let today = st.clock.today();
    let mut lines = Vec::with_capacity(rows.len());
    for r in &rows {
        let sessions = crate::enrollment::service::sessions_to_come(
            &calendars,
            r.term_id,
            &r.weekdays,
            r.starts_on,
            r.ends_on,
            today,
        )
        .max(1);
        let amount = if r.pricing == "per_day" {
            r.price * Decimal::from(sessions)
        } else {
            r.price
        };
        if amount <= Decimal::ZERO {
            return Err(err(
                ErrorKind::Unprocessable,
                "ORDER_NOTHING_TO_PAY",
                format!("“{}”无需付费", r.course_name),
                json!({ "id": r.id }),
            ));
        }
        lines.push(NewLine {
            enrollment_id: r.id,
            student_id: r.student_id,
            course_id: r.course_id,
            description: format!("{} {}", r.student_name, r.course_name),
            amount,
            release_rule: if r.class_type == "custody" {
                "per_day"
            } else {
                "per_lesson"
            },
            units: i32::try_from(sessions).unwrap_or(i32::MAX),
        });
    }
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
    let expires_at = rows
        .iter()
        .filter_map(|r| r.hold_expires_at)
        .min()
        .unwrap_or(now);
    let description: String = format!(
        "{}-{}",
        tenant.name,
        lines
            .iter()
            .map(|l| l.description.as_str())
            .collect::<Vec<_>>()
            .join("、")
    )
    .chars()
    .take(120)
    .collect();

    tx.leave_role().await?;
    if let Some(order_id) = repo::live_order_for(tx.conn(), tenant.id, &ids).await? {
        // The parent left the payment sheet and pays again: the order opened then is the
        // one to pay (or, paid the other way now, to replace).
        match closing::open_order_met(auth, tx.conn(), order_id, &ids, req.channel).await? {
            Met::Resume(order) => {
                tx.commit().await?;
                return prepay(st, *order, client_ip).await;
            }
            Met::Replace(order) => {
                tx.commit().await?;
                closing::close_replaced(st, &order).await?;
                let tx = TenantTx::begin(&st.db_app, &tenant).await?;
                return Box::pin(create_order(st, auth, tx, req, client_ip)).await;
            }
        }
    }
    let out_trade_no = trade_no("AS", now);
    let order_id = repo::insert_order(
        tx.conn(),
        &out_trade_no,
        tenant.id,
        auth.account_id,
        &req.idempotency_key,
        req.channel.as_str(),
        &description,
        total,
        expires_at,
        now,
    )
    .await
    .map_err(|e| match e.as_database_error() {
        // Two requests with one key at once: the loser sees the winner's unique row.
        Some(d) if d.is_unique_violation() => err(
            ErrorKind::Conflict,
            "PAYMENT_ORDER_EXISTS",
            "订单正在创建中，请稍候刷新",
            json!({}),
        ),
        _ => ApiError::internal(e),
    })?;
    repo::insert_lines(tx.conn(), order_id, tenant.id, &lines)
        .await
        .map_err(|e| match e.as_database_error() {
            Some(d) if d.is_unique_violation() => err(
                ErrorKind::Conflict,
                "PAYMENT_ORDER_EXISTS",
                "所选报名已有待支付或已支付的订单",
                json!({}),
            ),
            _ => ApiError::internal(e),
        })?;
    tx.enter_role().await?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "payment.order.create",
            format!("order:{order_id}"),
            Outcome::Success,
        )
        .details(json!({
            "out_trade_no": out_trade_no, "amount": yuan(total),
            "enrollments": ids, "channel": req.channel.as_str(),
        })),
    )
    .await?;
    tx.commit().await?;

    let mut conn = st.db_app.acquire().await?;
    let order = repo::order(&mut conn, order_id)
        .await?
        .ok_or_else(|| ApiError::internal("order vanished after commit"))?;
    drop(conn);
    prepay(st, order, client_ip).await
}

/// Asks WeChat Pay for the payment parameters of an unpaid order (again, on a retry: the
/// same `out_trade_no` with the same figures gets the same prepay id) and answers the view.
pub(super) async fn prepay(
    st: &Ctx,
    order: OrderRow,
    client_ip: Option<String>,
) -> Result<OrderView, ApiError> {
    let mut pay = None;
    if order.status == "created" {
        let total_fen = money(order.amount)?.to_fen();
        let mut conn = st.db_app.acquire().await?;
        pay = Some(match order.channel.as_str() {
            "jsapi" => {
                let appid = st.wechatpay.appid().to_string();
                let Some(openid) = repo::openid(&mut conn, order.account_id, &appid).await? else {
                    return Err(err(
                        ErrorKind::Conflict,
                        "WX_OPENID_REQUIRED",
                        "请先在微信中授权（静默授权，不获取昵称头像）后再支付",
                        json!({ "order_id": order.id, "oauth_url": super::OAUTH_START_PATH }),
                    ));
                };
                let p = st
                    .wechatpay
                    .create_jsapi(&NewJsapiOrder {
                        description: order.description.clone(),
                        out_trade_no: order.out_trade_no.clone(),
                        total_fen,
                        openid,
                        time_expire: Some(order.expires_at),
                        attach: None,
                        notify_url: None,
                    })
                    .await
                    .map_err(|e| wx_unavailable(&e))?;
                repo::set_prepay(&mut conn, order.id, Some(&p.prepay_id), None).await?;
                PayView {
                    cashier_url: st.wechatpay.cashier_url(&p.prepay_id),
                    jsapi: Some(p.pay_params.into()),
                    h5_url: None,
                }
            }
            _ => {
                let url = st
                    .wechatpay
                    .create_h5(&NewH5Order {
                        description: order.description.clone(),
                        out_trade_no: order.out_trade_no.clone(),
                        total_fen,
                        payer_client_ip: client_ip.unwrap_or_else(|| "127.0.0.1".into()),
                        h5_type: "Wap".into(),
                        time_expire: Some(order.expires_at),
                        attach: None,
                        notify_url: None,
                    })
                    .await
                    .map_err(|e| wx_unavailable(&e))?;
                repo::set_prepay(&mut conn, order.id, None, Some(&url)).await?;
                PayView {
                    cashier_url: None,
                    jsapi: None,
                    h5_url: Some(url),
                }
            }
        });
    }
    let mut conn = st.db_app.acquire().await?;
    let mut views = views(&mut conn, vec![order], st.clock.now()).await?;
    let mut v = views.pop().ok_or_else(|| ApiError::internal("no view"))?;
    v.pay = pay;
    Ok(v)
}

/// Orders with their lines and refunds, as they stand at `now`: what each line has left
/// to refund (from the escrow ledger) and the order's label from its refunds.
pub async fn views(
    conn: &mut sqlx::PgConnection,
    orders: Vec<OrderRow>,
    now: DateTime<Utc>,
) -> Result<Vec<OrderView>, ApiError> {
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let lines = repo::lines_of(conn, &ids).await?;
    let refunds = repo::refunds_of_orders(conn, &ids).await?;
    let line_ids: Vec<LineId> = lines.iter().map(|l| LineId(l.id)).collect();
    let balances = ledger::line_balances(conn, &line_ids)
        .await
        .map_err(|e| ApiError::from_domain(&e))?;
    let refundable = |line: i64| {
        balances
            .iter()
            .find(|b| b.line_id == LineId(line))
            .map_or(Decimal::ZERO, |b| b.held().as_decimal())
    };
    Ok(orders
        .into_iter()
        .map(|o| {
            let mine: Vec<&RefundRow> = refunds.iter().filter(|r| r.order_id == o.id).collect();
            let refunded: Decimal = mine
                .iter()
                .filter(|r| r.status == "succeeded")
                .map(|r| r.amount)
                .sum();
            let refunding = mine
                .iter()
                .any(|r| matches!(r.status.as_str(), "requested" | "processing"));
            OrderView {
                lines: lines
                    .iter()
                    .filter(|l| l.order_id == o.id)
                    .map(|l| line_view(l, refundable(l.id)))
                    .collect(),
                refunds: mine.into_iter().map(refund_view).collect(),
                status_label: order_status_label(&o.status, o.amount, refunded, refunding).into(),
                payable: o.status == "created" && o.expires_at > now,
                refunded: yuan(refunded),
                amount: yuan(o.amount),
                id: o.id,
                out_trade_no: o.out_trade_no,
                status: o.status,
                channel: o.channel,
                description: o.description,
                expires_at: o.expires_at,
                created_at: o.created_at,
                paid_at: o.paid_at,
                closed_at: o.closed_at,
                close_reason: o.close_reason,
                transaction_id: o.transaction_id,
                pay: None,
            }
        })
        .collect())
}

fn line_view(l: &LineRow, refundable: Decimal) -> LineView {
    LineView {
        id: l.id,
        enrollment_id: l.enrollment_id,
        student_id: l.student_id,
        course_id: l.course_id,
        description: l.description.clone(),
        amount: yuan(l.amount),
        release_rule: l.release_rule.clone(),
        units: l.units,
        refundable: yuan(refundable),
    }
}

pub fn refund_view(r: &RefundRow) -> RefundView {
    RefundView {
        id: r.id,
        out_refund_no: r.out_refund_no.clone(),
        order_id: r.order_id,
        line_id: r.line_id,
        amount: yuan(r.amount),
        reason: r.reason.clone(),
        source: r.source.clone(),
        status_label: refund_status_label(&r.status).into(),
        status: r.status.clone(),
        created_at: r.created_at,
        succeeded_at: r.succeeded_at,
    }
}

/// The caller's orders at this school, newest first.
pub async fn my_orders(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
) -> Result<Vec<OrderView>, ApiError> {
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::orders_of(&mut conn, tenant.id, Some(auth.account_id), None, 200).await?;
    views(&mut conn, orders, st.clock.now()).await
}

/// The school's orders (R-S08), newest first, optionally of one status.
pub async fn school_orders(
    st: &Ctx,
    tenant: &TenantContext,
    status: Option<&str>,
) -> Result<Vec<OrderView>, ApiError> {
    if let Some(s) = status {
        if !["created", "paid", "closed"].contains(&s) {
            return Err(err(
                ErrorKind::Unprocessable,
                "ORDER_STATUS_INVALID",
                "订单状态须为 created、paid 或 closed",
                json!({ "field": "status" }),
            ));
        }
    }
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::orders_of(&mut conn, tenant.id, None, status, 500).await?;
    views(&mut conn, orders, st.clock.now()).await
}

// --- payment confirmed ------------------------------------------------------------------------

/// What settling a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The order is paid now (its enrollments confirmed, the money in the ledger).
    Paid,
    /// Seen before: nothing changed.
    Already,
}

/// Why a transaction could not be settled. `Retry` makes the callback answer an error so
/// WeChat comes again (our order row may not have committed yet).
#[derive(Debug)]
pub enum SettleError {
    Retry(String),
    Rejected { code: &'static str, reason: String },
}

impl From<sqlx::Error> for SettleError {
    fn from(e: sqlx::Error) -> Self {
        SettleError::Retry(e.to_string())
    }
}

impl From<ApiError> for SettleError {
    fn from(e: ApiError) -> Self {
        SettleError::Retry(e.body().message.clone())
    }
}

async fn tenant_of(st: &Ctx, tenant_id: i64) -> Result<TenantContext, SettleError> {
    let rec = crate::tenancy::repo::find_by_id(&st.db_app, tenant_id).await?;
    rec.as_ref()
        .and_then(TenantContext::from_record)
        .ok_or_else(|| SettleError::Retry(format!("tenant {tenant_id} not found")))
}

/// Settles a successful transaction exactly once, in one database transaction: the
/// callback's id recorded (when it came by callback), the order marked paid, the payment
/// posted to the escrow ledger, the enrollments confirmed, an audit record. The amount, app
/// id and merchant must be ours; a place given up meanwhile is refunded in full.
pub async fn settle_transaction(
    st: &Ctx,
    tr: &Transaction,
    notification_id: Option<&str>,
) -> Result<Settled, SettleError> {
    if tr.trade_state != TradeState::Success {
        return Err(SettleError::Rejected {
            code: "WXPAY_NOT_PAID",
            reason: format!("trade_state {}", tr.trade_state.as_str()),
        });
    }
    let now = st.clock.now();
    let peek: Option<(i64,)> =
        sqlx::query_as("select tenant_id from platform.payment_orders where out_trade_no = $1")
            .bind(&tr.out_trade_no)
            .fetch_optional(&st.db_app)
            .await?;
    let Some((tenant_id,)) = peek else {
        return Err(SettleError::Retry(format!(
            "order {} not found (yet)",
            tr.out_trade_no
        )));
    };
    let tenant = tenant_of(st, tenant_id).await?;
    let mut tx = TenantTx::begin(&st.db_app, &tenant).await?;
    tx.leave_role().await?;
    if let Some(id) = notification_id {
        if !repo::claim_callback(
            tx.conn(),
            id,
            "TRANSACTION.SUCCESS",
            &tr.out_trade_no,
            "paid",
            now,
        )
        .await?
        {
            return Ok(Settled::Already);
        }
    }
    let Some(order) = repo::lock_order_by_trade_no(tx.conn(), &tr.out_trade_no).await? else {
        return Err(SettleError::Retry("order vanished".into()));
    };
    if order.status == "paid" {
        tx.commit().await?;
        return Ok(Settled::Already);
    }
    let expected_fen = money(order.amount)?.to_fen();
    let got_fen = tr.amount.as_ref().and_then(|a| a.total);
    let mismatch = if got_fen != Some(expected_fen) {
        Some(format!("amount {got_fen:?} fen, order {expected_fen} fen"))
    } else if tr.appid != st.wechatpay.appid() || tr.mchid != st.wechatpay.mchid() {
        Some(format!(
            "appid/mchid {}/{} are not ours",
            tr.appid, tr.mchid
        ))
    } else {
        None
    };
    if let Some(reason) = mismatch {
        drop(tx);
        st.audit_event(
            AuditEvent::new(
                "payment.callback.rejected",
                format!("order:{}", order.id),
                Outcome::Failure,
            )
            .tenant(order.tenant_id)
            .details(json!({ "out_trade_no": order.out_trade_no, "reason": reason })),
        )
        .await;
        return Err(SettleError::Rejected {
            code: "WXPAY_AMOUNT_MISMATCH",
            reason,
        });
    }
    let transaction_id = tr
        .transaction_id
        .clone()
        .unwrap_or_else(|| format!("unknown-{}", order.out_trade_no));
    let paid_at = tr.success_time.as_ref().map(|t| t.utc()).unwrap_or(now);
    let openid = tr.payer.as_ref().and_then(|p| p.openid.clone());
    repo::mark_paid(
        tx.conn(),
        order.id,
        &transaction_id,
        openid.as_deref(),
        paid_at,
    )
    .await?;
    let lines = repo::lines_of(tx.conn(), &[order.id]).await?;
    let mut posted = Vec::with_capacity(lines.len());
    for l in &lines {
        posted.push((LineId(l.id), money(l.amount)?));
    }
    ledger::record_payment(
        tx.conn(),
        OrderId(order.id),
        TenantId(order.tenant_id),
        &transaction_id,
        now,
        &posted,
    )
    .await
    .map_err(|e| SettleError::Retry(e.to_string()))?;
    tx.enter_role().await?;
    let mut lost = Vec::new();
    for l in &lines {
        if !repo::confirm_paid(tx.conn(), l.enrollment_id, now).await? {
            lost.push(l.clone());
        } else {
            sqlx::query(
                "update waitlist set status = 'accepted', updated_at = $2 where enrollment_id = $1",
            )
            .bind(l.enrollment_id)
            .bind(now)
            .execute(tx.conn())
            .await?;
        }
    }
    // A place given up while the parent paid (the hold ran out and went to someone else)
    // cannot be conjured back: its money goes back in full.
    let mut auto_refunds = Vec::new();
    if !lost.is_empty() {
        tx.leave_role().await?;
        for l in &lost {
            let r = reserve(
                tx.conn(),
                st,
                l,
                money(l.amount)?,
                "名额已释放，自动全额退款",
                "auto",
                None,
                None,
            )
            .await
            .map_err(|e| SettleError::Retry(e.body().message.clone()))?;
            auto_refunds.push(r);
        }
        tx.enter_role().await?;
    }
    let ev = AuditEvent::new(
        "payment.order.paid",
        format!("order:{}", order.id),
        Outcome::Success,
    )
    .tenant(order.tenant_id)
    .details(json!({
        "out_trade_no": order.out_trade_no, "transaction_id": transaction_id,
        "amount": yuan(order.amount), "auto_refunds": auto_refunds,
    }));
    crate::audit::append(tx.conn(), &st.keys.audit, &ev, now)
        .await
        .map_err(|e| SettleError::Retry(e.to_string()))?;
    tx.commit().await?;
    for id in auto_refunds {
        submit_refund(st, id).await;
    }
    Ok(Settled::Paid)
}

// --- closing and recovering ----------------------------------------------------------------

pub use super::closing::{close_expired, recover};

// --- refunds -----------------------------------------------------------------------------------

/// Reserves `amount` of the line's unreleased money for a new refund (platform privileges;
/// the caller's transaction commits it). Returns the refund id.
#[allow(clippy::too_many_arguments)]
async fn reserve(
    conn: &mut sqlx::PgConnection,
    st: &Ctx,
    line: &LineRow,
    amount: Money,
    reason: &str,
    source: &str,
    refund_request_id: Option<i64>,
    created_by: Option<i64>,
) -> Result<i64, ApiError> {
    let now = st.clock.now();
    let out_refund_no = trade_no("RF", now);
    ledger::reserve_refund(conn, LineId(line.id), amount, &out_refund_no, now)
        .await
        .map_err(|e| ApiError::from_domain(&e))?;
    let id = repo::insert_refund(
        conn,
        &out_refund_no,
        line,
        amount.as_decimal(),
        reason,
        source,
        refund_request_id,
        created_by,
        now,
    )
    .await?;
    Ok(id)
}

fn check_reason(reason: &str) -> Result<String, ApiError> {
    let r = reason.trim();
    if r.is_empty() || r.chars().count() > 80 {
        return Err(err(
            ErrorKind::Unprocessable,
            "REFUND_REASON_INVALID",
            "退款原因须为 1 至 80 个字",
            json!({ "field": "reason" }),
        ));
    }
    Ok(r.to_string())
}

/// A school admin refunds (part of) a paid line (R-S08): at most its unreleased part.
pub async fn refund_line(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    req: NewRefund,
) -> Result<RefundView, ApiError> {
    let reason = check_reason(&req.reason)?;
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let line = repo::line(tx.conn(), req.line_id)
        .await?
        .filter(|l| l.tenant_id == tenant_id)
        .ok_or_else(|| {
            err(
                ErrorKind::NotFound,
                "ORDER_LINE_NOT_FOUND",
                "找不到该订单明细",
                json!({ "line_id": req.line_id }),
            )
        })?;
    let state = ledger::line_balance(tx.conn(), LineId(line.id))
        .await
        .map_err(|e| ApiError::from_domain(&e))?;
    let unreleased = state
        .paid
        .saturating_sub(state.released)
        .saturating_sub(state.refund_reserved)
        .saturating_sub(state.refunded);
    let amount = match req.amount.as_deref() {
        None => unreleased,
        Some(a) => Money::parse(a).map_err(|e| {
            err(
                ErrorKind::Unprocessable,
                "REFUND_AMOUNT_INVALID",
                "退款金额须为大于 0 的金额，最多两位小数",
                json!({ "field": "amount", "reason": e.to_string() }),
            )
        })?,
    };
    if amount.is_zero() {
        return Err(err(
            ErrorKind::Conflict,
            "REFUND_NOTHING_LEFT",
            "该项已无可退金额（已结算或已退款）",
            json!({ "line_id": line.id }),
        ));
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
    submit_refund(st, id).await;
    let mut conn = st.db_app.acquire().await?;
    let r = repo::refund(&mut conn, id)
        .await?
        .ok_or_else(|| ApiError::internal("refund vanished"))?;
    Ok(refund_view(&r))
}

/// The refund of an enrollment that ended early (an approved withdrawal, or the school
/// cancelling a paid enrollment), inside that transaction (tenant role on entry and exit):
/// the unreleased part of the enrollment's paid line, sent to WeChat by
/// [`submit_tenant_refunds`] after commit. `None` when the enrollment was never paid online
/// (nothing to give back through WeChat).
pub async fn refund_enrollment(
    st: &Ctx,
    tx: &mut TenantTx,
    enrollment_id: i64,
    refund_request_id: i64,
    reason: &str,
    approved_by: i64,
    source: &str,
) -> Result<Option<i64>, ApiError> {
    let tenant_id = tx.tenant().id;
    tx.leave_role().await?;
    let line = repo::paid_line_of_enrollment(tx.conn(), tenant_id, enrollment_id).await?;
    let mut out = None;
    if let Some(line) = line {
        let state = ledger::line_balance(tx.conn(), LineId(line.id))
            .await
            .map_err(|e| ApiError::from_domain(&e))?;
        let unreleased = state
            .paid
            .saturating_sub(state.released)
            .saturating_sub(state.refund_reserved)
            .saturating_sub(state.refunded);
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

/// Sends a reserved refund to WeChat and stores its answer. Failures are logged; the
/// sweeper resubmits (the same `out_refund_no`, so WeChat never refunds twice).
pub async fn submit_refund(st: &Ctx, refund_id: i64) {
    if let Err(e) = try_submit_refund(st, refund_id).await {
        tracing::warn!(refund = refund_id, error = %e.body().message, "refund submission failed; will retry");
    }
}

async fn try_submit_refund(st: &Ctx, refund_id: i64) -> Result<(), ApiError> {
    let mut conn = st.db_app.acquire().await?;
    let Some(r) = repo::refund(&mut conn, refund_id).await? else {
        return Ok(());
    };
    if r.status != "requested" {
        return Ok(());
    }
    let order = repo::order(&mut conn, r.order_id)
        .await?
        .ok_or_else(|| ApiError::internal("refund without order"))?;
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
        .map_err(|e| wx_unavailable(&e))?;
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
async fn apply_refund_status(
    st: &Ctx,
    out_refund_no: &str,
    status: RefundStatus,
    wx_refund_id: Option<&str>,
    notification_id: Option<&str>,
) -> Result<(), ApiError> {
    let now = st.clock.now();
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
        return Err(ApiError::internal(format!(
            "refund {out_refund_no} unknown"
        )));
    };
    let final_state = matches!(r.status.as_str(), "succeeded" | "closed");
    if final_state {
        tx.commit().await?;
        return Ok(());
    }
    let next = match status {
        RefundStatus::Processing => "processing",
        RefundStatus::Success => "succeeded",
        RefundStatus::Closed => "closed",
        RefundStatus::Abnormal => "abnormal",
    };
    if next == r.status {
        tx.commit().await?;
        return Ok(());
    }
    match status {
        RefundStatus::Success => {
            ledger::settle_refund(&mut tx, out_refund_no, now)
                .await
                .map_err(|e| ApiError::from_domain(&e))?;
        }
        RefundStatus::Closed => {
            ledger::cancel_refund(&mut tx, out_refund_no, now)
                .await
                .map_err(|e| ApiError::from_domain(&e))?;
        }
        _ => {}
    }
    repo::set_refund_status(&mut tx, r.id, next, wx_refund_id, now).await?;
    let ev = AuditEvent::new(
        format!("payment.refund.{next}"),
        format!("refund:{}", r.id),
        Outcome::Success,
    )
    .tenant(r.tenant_id)
    .details(json!({ "out_refund_no": out_refund_no, "amount": yuan(r.amount) }));
    crate::audit::append(&mut tx, &st.keys.audit, &ev, now)
        .await
        .map_err(ApiError::internal)?;
    tx.commit().await?;
    if let Some(req_id) = r.refund_request_id {
        let tenant = tenant_of(st, r.tenant_id)
            .await
            .map_err(|_| ApiError::internal("refund tenant unknown"))?;
        let label = match next {
            "succeeded" => Some("refunded"),
            "processing" => Some("processing"),
            "abnormal" | "closed" => Some("failed"),
            _ => None,
        };
        if let Some(label) = label {
            let mut ttx = TenantTx::begin(&st.db_app, &tenant).await?;
            sqlx::query("update refund_requests set status = $2 where id = $1")
                .bind(req_id)
                .bind(label)
                .execute(ttx.conn())
                .await?;
            ttx.commit().await?;
        }
    }
    Ok(())
}

/// Sends a tenant's reserved refunds to WeChat now (after the transaction that reserved
/// them committed).
pub async fn submit_tenant_refunds(st: &Ctx, tenant_id: i64) {
    let ids: Result<Vec<i64>, sqlx::Error> = sqlx::query_scalar(
        "select id from platform.refunds where tenant_id = $1 and status = 'requested' order by id",
    )
    .bind(tenant_id)
    .fetch_all(&st.db_app)
    .await;
    match ids {
        Ok(ids) => {
            for id in ids {
                submit_refund(st, id).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "listing refunds to submit failed"),
    }
}

/// Resubmits refunds WeChat has not accepted yet (older than a minute).
pub async fn resubmit_refunds(st: &Ctx) -> Result<usize, ApiError> {
    let mut conn = st.db_app.acquire().await?;
    let pending =
        repo::unsubmitted_refunds(&mut conn, st.clock.now() - Duration::minutes(1)).await?;
    drop(conn);
    for r in &pending {
        submit_refund(st, r.id).await;
    }
    Ok(pending.len())
}

// --- callbacks -------------------------------------------------------------------------------

/// Handles a verified, decrypted callback. `Err` makes the receiver answer an error so
/// WeChat delivers it again.
pub async fn handle_notification(st: &Ctx, n: &Notification) -> Result<(), SettleError> {
    match &n.resource {
        NotificationResource::Transaction(tr) => {
            settle_transaction(st, tr, Some(&n.id)).await.map(|_| ())
        }
        NotificationResource::Refund(RefundNotice {
            out_refund_no,
            refund_status,
            refund_id,
            amount,
            ..
        }) => {
            check_refund_amount(st, out_refund_no, amount.refund).await?;
            apply_refund_status(
                st,
                out_refund_no,
                *refund_status,
                Some(refund_id),
                Some(&n.id),
            )
            .await
            .map_err(SettleError::from)
        }
    }
}

/// A refund callback must name our refund with our amount; anything else is refused and
/// audited, and changes nothing.
async fn check_refund_amount(
    st: &Ctx,
    out_refund_no: &str,
    refund_fen: i64,
) -> Result<(), SettleError> {
    let ours: Option<(i64, i64, Decimal)> = sqlx::query_as(
        "select id, tenant_id, amount from platform.refunds where out_refund_no = $1",
    )
    .bind(out_refund_no)
    .fetch_optional(&st.db_app)
    .await?;
    let Some((id, tenant_id, amount)) = ours else {
        return Err(SettleError::Retry(format!(
            "refund {out_refund_no} not found (yet)"
        )));
    };
    let expected = money(amount)?.to_fen();
    if expected == refund_fen {
        return Ok(());
    }
    let reason = format!("refund {refund_fen} fen, ours {expected} fen");
    st.audit_event(
        AuditEvent::new(
            "payment.callback.rejected",
            format!("refund:{id}"),
            Outcome::Failure,
        )
        .tenant(tenant_id)
        .details(json!({ "out_refund_no": out_refund_no, "reason": reason })),
    )
    .await;
    Err(SettleError::Rejected {
        code: "WXPAY_AMOUNT_MISMATCH",
        reason,
    })
}

/// One pass of the payments sweeper: close expired orders, resubmit refunds, close
/// yesterday's escrow day once it is due.
pub async fn sweep(st: &Ctx) {
    if let Err(e) = super::daily::close_yesterday_if_due(st).await {
        tracing::warn!(error = %e.body().message, "payments sweep: day close failed");
    }
    if let Err(e) = close_expired(st).await {
        tracing::warn!(error = %e.body().message, "payments sweep: closing failed");
    }
    if let Err(e) = resubmit_refunds(st).await {
        tracing::warn!(error = %e.body().message, "payments sweep: refunds failed");
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
        Err(e) => tracing::warn!(error = %e.body().message, "payments: recovery failed"),
    }
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        sweep(&st).await;
    }
}
