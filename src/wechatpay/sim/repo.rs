//! The simulator's SQL: orders, refunds and the callback queue in `platform.wxpay_sim_*`.
//! The only place in the simulator with SQL; rules live in `service.rs`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgPool};

use crate::wechatpay::model::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub mchid: String,
    pub out_trade_no: String,
    pub appid: String,
    pub trade_type: String,
    pub prepay_id: String,
    pub request: serde_json::Value,
    pub description: String,
    pub attach: Option<String>,
    pub notify_url: String,
    pub total: i64,
    pub currency: String,
    pub payer_openid: Option<String>,
    pub time_expire: Option<DateTime<Utc>>,
    pub trade_state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const ORDER_COLUMNS: &str = "id, mchid, out_trade_no, appid, trade_type, prepay_id, request, \
     description, attach, notify_url, total, currency, payer_openid, time_expire, trade_state, \
     transaction_id, success_time, created_at";

impl OrderRow {
    pub fn state(&self) -> TradeState {
        TradeState::parse(&self.trade_state).unwrap_or(TradeState::NotPay)
    }

    pub fn is_paid(&self) -> bool {
        matches!(self.state(), TradeState::Success | TradeState::Refund)
    }

    /// The order as the query API and the `TRANSACTION.SUCCESS` callback show it.
    pub fn to_transaction(&self) -> Transaction {
        let state = self.state();
        let paid = self.transaction_id.is_some();
        Transaction {
            appid: self.appid.clone(),
            mchid: self.mchid.clone(),
            out_trade_no: self.out_trade_no.clone(),
            transaction_id: self.transaction_id.clone(),
            trade_type: if paid {
                TradeType::parse(&self.trade_type)
            } else {
                None
            },
            trade_state: state,
            trade_state_desc: state.description().into(),
            bank_type: paid.then(|| "OTHERS".to_string()),
            attach: self.attach.clone(),
            success_time: self.success_time.map(WxTime::from_utc),
            payer: Some(TransactionPayer {
                openid: if paid {
                    self.payer_openid.clone()
                } else {
                    None
                },
            }),
            amount: Some(TransactionAmount {
                total: Some(self.total),
                payer_total: paid.then_some(self.total),
                currency: Some(self.currency.clone()),
                payer_currency: Some(self.currency.clone()),
            }),
        }
    }
}

pub struct NewOrder<'a> {
    pub mchid: &'a str,
    pub out_trade_no: &'a str,
    pub appid: &'a str,
    pub trade_type: TradeType,
    pub prepay_id: &'a str,
    pub request: &'a serde_json::Value,
    pub description: &'a str,
    pub attach: Option<&'a str>,
    pub notify_url: &'a str,
    pub total: i64,
    pub currency: &'a str,
    pub payer_openid: Option<&'a str>,
    pub time_expire: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

/// Inserts unless `(mchid, out_trade_no)` exists; true when inserted.
pub async fn insert_order(conn: &mut PgConnection, o: &NewOrder<'_>) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into platform.wxpay_sim_orders
             (mchid, out_trade_no, appid, trade_type, prepay_id, request, description, attach,
              notify_url, total, currency, payer_openid, time_expire, trade_state,
              created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'NOTPAY', $14, $14)
         on conflict (mchid, out_trade_no) do nothing",
    )
    .bind(o.mchid)
    .bind(o.out_trade_no)
    .bind(o.appid)
    .bind(o.trade_type.as_str())
    .bind(o.prepay_id)
    .bind(o.request)
    .bind(o.description)
    .bind(o.attach)
    .bind(o.notify_url)
    .bind(o.total)
    .bind(o.currency)
    .bind(o.payer_openid)
    .bind(o.time_expire)
    .bind(o.now)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// How an order is named in a request.
pub enum OrderKey<'a> {
    OutTradeNo(&'a str),
    TransactionId(&'a str),
    PrepayId(&'a str),
}

/// The order, locked `FOR UPDATE` when `lock`.
pub async fn find_order(
    conn: &mut PgConnection,
    mchid: Option<&str>,
    key: OrderKey<'_>,
    lock: bool,
) -> sqlx::Result<Option<OrderRow>> {
    let (column, value) = match key {
        OrderKey::OutTradeNo(v) => ("out_trade_no", v),
        OrderKey::TransactionId(v) => ("transaction_id", v),
        OrderKey::PrepayId(v) => ("prepay_id", v),
    };
    // Dynamic only in the column name, which comes from the match above.
    let sql = format!(
        "select {ORDER_COLUMNS} from platform.wxpay_sim_orders
         where {column} = $1 and ($2::text is null or mchid = $2){}",
        if lock { " for update" } else { "" }
    );
    sqlx::query_as(&sql)
        .bind(value)
        .bind(mchid)
        .fetch_optional(conn)
        .await
}

pub async fn set_order_state(
    conn: &mut PgConnection,
    id: i64,
    state: TradeState,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.wxpay_sim_orders set trade_state = $2, updated_at = $3 where id = $1",
    )
    .bind(id)
    .bind(state.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn mark_paid(
    conn: &mut PgConnection,
    id: i64,
    transaction_id: &str,
    openid: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<OrderRow> {
    sqlx::query_as(&format!(
        "update platform.wxpay_sim_orders
         set trade_state = 'SUCCESS', transaction_id = $2, payer_openid = $3,
             success_time = $4, updated_at = $4
         where id = $1 returning {ORDER_COLUMNS}"
    ))
    .bind(id)
    .bind(transaction_id)
    .bind(openid)
    .bind(now)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: i64,
    pub mchid: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub order_id: i64,
    pub request: serde_json::Value,
    pub notify_url: Option<String>,
    pub refund: i64,
    pub total: i64,
    pub currency: String,
    pub status: String,
    pub outcome: String,
    pub success_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub out_trade_no: String,
    pub transaction_id: Option<String>,
}

const REFUND_SELECT: &str = "select r.id, r.mchid, r.out_refund_no, r.refund_id, r.order_id, \
     r.request, r.notify_url, r.refund, r.total, r.currency, r.status, r.outcome, \
     r.success_time, r.created_at, o.out_trade_no, o.transaction_id \
     from platform.wxpay_sim_refunds r join platform.wxpay_sim_orders o on o.id = r.order_id";

impl RefundRow {
    pub fn status(&self) -> RefundStatus {
        RefundStatus::parse(&self.status).unwrap_or(RefundStatus::Processing)
    }

    pub fn to_refund(&self) -> Refund {
        Refund {
            refund_id: self.refund_id.clone(),
            out_refund_no: self.out_refund_no.clone(),
            transaction_id: self.transaction_id.clone().unwrap_or_default(),
            out_trade_no: self.out_trade_no.clone(),
            channel: "ORIGINAL".into(),
            user_received_account: "支付用户零钱".into(),
            success_time: self.success_time.map(WxTime::from_utc),
            create_time: WxTime::from_utc(self.created_at),
            status: self.status(),
            funds_account: Some("AVAILABLE".into()),
            amount: RefundAmount {
                total: self.total,
                refund: self.refund,
                payer_total: self.total,
                payer_refund: self.refund,
                settlement_refund: self.refund,
                settlement_total: self.total,
                discount_refund: 0,
                currency: self.currency.clone(),
            },
        }
    }

    pub fn to_notice(&self) -> RefundNotice {
        RefundNotice {
            mchid: self.mchid.clone(),
            transaction_id: self.transaction_id.clone().unwrap_or_default(),
            out_trade_no: self.out_trade_no.clone(),
            refund_id: self.refund_id.clone(),
            out_refund_no: self.out_refund_no.clone(),
            refund_status: self.status(),
            success_time: self.success_time.map(WxTime::from_utc),
            user_received_account: "支付用户零钱".into(),
            amount: RefundNoticeAmount {
                total: self.total,
                refund: self.refund,
                payer_total: self.total,
                payer_refund: self.refund,
            },
        }
    }
}

pub async fn find_refund(
    conn: &mut PgConnection,
    mchid: &str,
    out_refund_no: &str,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "{REFUND_SELECT} where r.mchid = $1 and r.out_refund_no = $2"
    ))
    .bind(mchid)
    .bind(out_refund_no)
    .fetch_optional(conn)
    .await
}

/// Sum of the order's refunds that hold money (all but CLOSED).
pub async fn refunded_total(conn: &mut PgConnection, order_id: i64) -> sqlx::Result<i64> {
    let sum: Option<i64> = sqlx::query_scalar(
        "select sum(refund)::bigint from platform.wxpay_sim_refunds
         where order_id = $1 and status <> 'CLOSED'",
    )
    .bind(order_id)
    .fetch_one(conn)
    .await?;
    Ok(sum.unwrap_or(0))
}

pub struct NewRefundRow<'a> {
    pub mchid: &'a str,
    pub out_refund_no: &'a str,
    pub refund_id: &'a str,
    pub order_id: i64,
    pub request: &'a serde_json::Value,
    pub reason: Option<&'a str>,
    pub notify_url: Option<&'a str>,
    pub refund: i64,
    pub total: i64,
    pub currency: &'a str,
    pub outcome: RefundStatus,
    pub complete_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_refund(conn: &mut PgConnection, r: &NewRefundRow<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.wxpay_sim_refunds
             (mchid, out_refund_no, refund_id, order_id, request, reason, notify_url, refund,
              total, currency, status, outcome, complete_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'PROCESSING', $11, $12, $13)",
    )
    .bind(r.mchid)
    .bind(r.out_refund_no)
    .bind(r.refund_id)
    .bind(r.order_id)
    .bind(r.request)
    .bind(r.reason)
    .bind(r.notify_url)
    .bind(r.refund)
    .bind(r.total)
    .bind(r.currency)
    .bind(r.outcome.as_str())
    .bind(r.complete_at)
    .bind(r.now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Refunds due to complete, locked; other servers skip them.
pub async fn claim_due_refunds(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<RefundRow>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "select id from platform.wxpay_sim_refunds
         where status = 'PROCESSING' and complete_at <= $1
         order by complete_at, id limit $2 for update skip locked",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query_as(&format!(
        "{REFUND_SELECT} where r.id = any($1) order by r.id"
    ))
    .bind(&ids)
    .fetch_all(conn)
    .await
}

pub async fn complete_refund(
    conn: &mut PgConnection,
    id: i64,
    status: RefundStatus,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.wxpay_sim_refunds set status = $2,
             success_time = case when $2 = 'SUCCESS' then $3 else null end
         where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub struct NewNotification<'a> {
    pub notify_id: &'a str,
    pub mchid: &'a str,
    pub event_type: EventType,
    pub url: &'a str,
    pub body: &'a str,
    pub copies: i32,
    pub now: DateTime<Utc>,
}

pub async fn insert_notification(
    conn: &mut PgConnection,
    n: &NewNotification<'_>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into platform.wxpay_sim_notifications
             (notify_id, mchid, event_type, url, body, copies, next_attempt_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $7) returning id",
    )
    .bind(n.notify_id)
    .bind(n.mchid)
    .bind(n.event_type.as_str())
    .bind(n.url)
    .bind(n.body)
    .bind(n.copies)
    .bind(n.now)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueNotification {
    pub id: i64,
    pub url: String,
    pub body: String,
    pub copies: i32,
    pub attempts: i32,
}

/// Claims due callbacks by pushing their next attempt `lease` ahead: a server that dies
/// mid-delivery leaves them to be retried, never lost.
pub async fn claim_due_notifications(
    pool: &PgPool,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueNotification>> {
    sqlx::query_as(
        "update platform.wxpay_sim_notifications set next_attempt_at = $2
         where id in (select id from platform.wxpay_sim_notifications
                      where state = 'pending' and next_attempt_at <= $1
                      order by next_attempt_at, id limit $3 for update skip locked)
         returning id, url, body, copies, attempts",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn record_attempt(
    pool: &PgPool,
    id: i64,
    delivered: bool,
    next: Option<DateTime<Utc>>,
    last_status: Option<i32>,
    last_error: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let state = match (delivered, next) {
        (true, _) => "delivered",
        (false, Some(_)) => "pending",
        (false, None) => "failed",
    };
    sqlx::query(
        "update platform.wxpay_sim_notifications
         set attempts = attempts + 1, state = $2, next_attempt_at = coalesce($3, next_attempt_at),
             last_status = $4, last_error = $5,
             delivered_at = case when $2 = 'delivered' then $6 else delivered_at end
         where id = $1",
    )
    .bind(id)
    .bind(state)
    .bind(next)
    .bind(last_status)
    .bind(last_error)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The inbox the operator console shows.

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxOrder {
    pub mchid: String,
    pub out_trade_no: String,
    pub trade_type: String,
    pub prepay_id: String,
    pub description: String,
    pub total: i64,
    pub trade_state: String,
    pub transaction_id: Option<String>,
    pub success_time: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxRefund {
    pub mchid: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub out_trade_no: String,
    pub refund: i64,
    pub total: i64,
    pub status: String,
    pub complete_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InboxNotification {
    pub notify_id: String,
    pub mchid: String,
    pub event_type: String,
    pub url: String,
    pub copies: i32,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inbox {
    pub orders: Vec<InboxOrder>,
    pub refunds: Vec<InboxRefund>,
    pub notifications: Vec<InboxNotification>,
}

pub async fn inbox(pool: &PgPool, limit: i64) -> sqlx::Result<Inbox> {
    let orders = sqlx::query_as(
        "select mchid, out_trade_no, trade_type, prepay_id, description, total, trade_state,
                transaction_id, success_time, created_at
         from platform.wxpay_sim_orders order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let refunds = sqlx::query_as(
        "select r.mchid, r.out_refund_no, r.refund_id, o.out_trade_no, r.refund, r.total,
                r.status, r.complete_at, r.created_at
         from platform.wxpay_sim_refunds r join platform.wxpay_sim_orders o on o.id = r.order_id
         order by r.id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let notifications = sqlx::query_as(
        "select notify_id, mchid, event_type, url, copies, state, attempts, next_attempt_at,
                last_status, last_error, delivered_at, created_at
         from platform.wxpay_sim_notifications order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(Inbox {
        orders,
        refunds,
        notifications,
    })
}
