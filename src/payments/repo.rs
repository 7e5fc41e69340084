//! SQL of the payments domain, and the only SQL of it: `platform.payment_orders`,
//! `order_lines`, `refunds`, `payment_callbacks` and `wx_openids` (migration
//! `0007_payments.sql`), plus the few reads of the tenant's own enrollments an order needs
//! and, at the end, the statements on other modules' tables still to be replaced by their
//! owners' functions. Platform statements name their schema; tenant ones run under the
//! tenant role inside a `TenantTx`.

use crate::kernel::ids::{CourseId, EnrollmentId, LineId, OrderId, RequestId, StudentId};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::error::PaymentsError;
use super::model::{OrderStatus, PayChannel, RefundStatus, ReleaseRule, Subjects};
use crate::enrollment::model::EnrollmentStatus;
use crate::error::violated_constraint;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: OrderId,
    pub out_trade_no: String,
    pub tenant_id: i64,
    pub account_id: i64,
    pub idempotency_key: String,
    pub channel: PayChannel,
    pub description: String,
    pub amount: Decimal,
    pub status: OrderStatus,
    pub prepay_id: Option<String>,
    pub h5_url: Option<String>,
    pub transaction_id: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
}

const ORDER_COLUMNS: &str = "id, out_trade_no, tenant_id, account_id, idempotency_key, channel,
    description, amount, status, prepay_id, h5_url, transaction_id, expires_at, created_at,
    paid_at, closed_at, close_reason";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub id: LineId,
    pub order_id: OrderId,
    pub tenant_id: i64,
    /// The enrollment (with its course) a line pays for, or else its meal order.
    pub enrollment_id: Option<EnrollmentId>,
    pub student_id: StudentId,
    pub course_id: Option<CourseId>,
    pub meal_order_id: Option<i64>,
    pub description: String,
    pub amount: Decimal,
    pub release_rule: ReleaseRule,
    pub units: i32,
    pub live: bool,
}

const LINE_COLUMNS: &str = "id, order_id, tenant_id, enrollment_id, student_id, course_id,
    meal_order_id, description, amount, release_rule, units, live";

/// [`LINE_COLUMNS`] of the table aliased `l`.
fn prefixed_line_columns() -> String {
    LINE_COLUMNS
        .split(',')
        .map(|c| format!("l.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: i64,
    pub out_refund_no: String,
    pub order_id: OrderId,
    pub line_id: LineId,
    pub tenant_id: i64,
    pub amount: Decimal,
    pub reason: String,
    pub source: String,
    pub refund_request_id: Option<RequestId>,
    pub status: RefundStatus,
    pub wx_refund_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
}

const REFUND_COLUMNS: &str = "id, out_refund_no, order_id, line_id, tenant_id, amount, reason,
    source, refund_request_id, status, wx_refund_id, created_at, updated_at, succeeded_at";

/// A line to insert.
#[derive(Debug, Clone)]
pub struct NewLine {
    pub enrollment_id: Option<EnrollmentId>,
    pub student_id: StudentId,
    pub course_id: Option<CourseId>,
    pub meal_order_id: Option<i64>,
    pub description: String,
    pub amount: Decimal,
    pub release_rule: ReleaseRule,
    pub units: i32,
}

// --- tenant side ------------------------------------------------------------------------------

/// A held enrollment of one of the caller's children, with what pricing needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PayableEnrollment {
    pub id: EnrollmentId,
    pub student_id: StudentId,
    pub student_name: String,
    pub course_id: CourseId,
    pub course_name: String,
    pub status: EnrollmentStatus,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub term_id: i64,
    pub class_type: String,
    pub pricing: String,
    pub price: Decimal,
    pub weekdays: Vec<i16>,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub starts_at: NaiveTime,
}

/// The enrollments among `ids` that belong to a child of `account_id` (tenant role).
pub async fn payable_enrollments(
    c: &mut PgConnection,
    ids: &[EnrollmentId],
    account_id: i64,
) -> sqlx::Result<Vec<PayableEnrollment>> {
    sqlx::query_as(
        "select e.id, e.student_id, s.name as student_name, e.course_id, c.name as course_name,
                e.status, e.hold_expires_at, c.term_id, c.class_type, c.pricing, c.price,
                c.weekdays, c.starts_on, c.ends_on, c.starts_at
         from enrollments e
         join students s on s.id = e.student_id
         join courses c on c.id = e.course_id
         where e.id = any($1)
           and exists (select 1 from student_guardians sg join guardians g on g.id = sg.guardian_id
                       where sg.student_id = e.student_id and g.account_id = $2)
         order by e.id",
    )
    .bind(ids)
    .bind(account_id)
    .fetch_all(&mut *c)
    .await
}

// --- orders -------------------------------------------------------------------------------------

pub async fn order_by_key(
    c: &mut PgConnection,
    account_id: i64,
    key: &str,
) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from platform.payment_orders
         where account_id = $1 and idempotency_key = $2"
    ))
    .bind(account_id)
    .bind(key)
    .fetch_optional(&mut *c)
    .await
}

pub async fn order(c: &mut PgConnection, id: OrderId) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from platform.payment_orders where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

/// Locks the order until the transaction ends: callbacks, queries and closing of one order
/// run one after the other.
pub async fn lock_order_by_trade_no(
    c: &mut PgConnection,
    out_trade_no: &str,
) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from platform.payment_orders where out_trade_no = $1 for update"
    ))
    .bind(out_trade_no)
    .fetch_optional(&mut *c)
    .await
}

/// The tenant of the order with this `out_trade_no`, read without a lock (to open the
/// tenant's transaction that then locks the order).
pub async fn tenant_of_trade(
    c: &mut PgConnection,
    out_trade_no: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select tenant_id from platform.payment_orders where out_trade_no = $1")
        .bind(out_trade_no)
        .fetch_optional(&mut *c)
        .await
}

/// The order that holds a live line for one of `subjects`, if any.
pub async fn live_order_for(
    c: &mut PgConnection,
    tenant_id: i64,
    subjects: &Subjects,
) -> sqlx::Result<Option<OrderId>> {
    sqlx::query_scalar(
        "select order_id from platform.order_lines
         where tenant_id = $1 and live
           and (enrollment_id = any($2) or meal_order_id = any($3)) limit 1",
    )
    .bind(tenant_id)
    .bind(&subjects.enrollments)
    .bind(&subjects.meals)
    .fetch_optional(&mut *c)
    .await
}

/// `unique (account_id, idempotency_key)` of `payment_orders`.
const ORDER_KEY_TAKEN: &str = "payment_orders_account_id_idempotency_key_key";
/// The unique indexes that leave an enrollment or a meal order one live order line at most.
const ONE_LIVE_LINE: &str = "order_lines_one_live";
const ONE_LIVE_MEAL_LINE: &str = "order_lines_one_live_meal";

/// Inserts an unpaid order. Two requests with one key at once: the loser meets the
/// winner's row and is told the order is being created.
#[allow(clippy::too_many_arguments)]
pub async fn insert_order(
    c: &mut PgConnection,
    out_trade_no: &str,
    tenant_id: i64,
    account_id: i64,
    key: &str,
    channel: PayChannel,
    description: &str,
    amount: Decimal,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<OrderId, PaymentsError> {
    sqlx::query_scalar(
        "insert into platform.payment_orders
             (out_trade_no, tenant_id, account_id, idempotency_key, channel, description, amount,
              expires_at, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         returning id",
    )
    .bind(out_trade_no)
    .bind(tenant_id)
    .bind(account_id)
    .bind(key)
    .bind(channel.as_str())
    .bind(description)
    .bind(amount)
    .bind(expires_at)
    .bind(now)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| match violated_constraint(&e) {
        Some(ORDER_KEY_TAKEN) => PaymentsError::OrderBeingCreated,
        _ => e.into(),
    })
}

/// Inserts an order's lines; an enrollment with a live line already (another order opened
/// at the same moment) is refused.
pub async fn insert_lines(
    c: &mut PgConnection,
    order_id: OrderId,
    tenant_id: i64,
    lines: &[NewLine],
) -> Result<(), PaymentsError> {
    for l in lines {
        sqlx::query(
            "insert into platform.order_lines
                 (order_id, tenant_id, enrollment_id, student_id, course_id, meal_order_id,
                  description, amount, release_rule, units)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(order_id)
        .bind(tenant_id)
        .bind(l.enrollment_id)
        .bind(l.student_id)
        .bind(l.course_id)
        .bind(l.meal_order_id)
        .bind(&l.description)
        .bind(l.amount)
        .bind(l.release_rule.as_str())
        .bind(l.units)
        .execute(&mut *c)
        .await
        .map_err(|e| match violated_constraint(&e) {
            Some(ONE_LIVE_LINE | ONE_LIVE_MEAL_LINE) => PaymentsError::EnrollmentsTaken,
            _ => e.into(),
        })?;
    }
    Ok(())
}

pub async fn lines_of(c: &mut PgConnection, order_ids: &[OrderId]) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from platform.order_lines where order_id = any($1) order by id"
    ))
    .bind(order_ids)
    .fetch_all(&mut *c)
    .await
}

pub async fn lines_by_id(c: &mut PgConnection, ids: &[LineId]) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from platform.order_lines where id = any($1)"
    ))
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}

pub async fn line(c: &mut PgConnection, id: LineId) -> sqlx::Result<Option<LineRow>> {
    sqlx::query_as(&format!(
        "select {LINE_COLUMNS} from platform.order_lines where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

/// The line of an enrollment whose order was paid.
pub async fn paid_line_of_enrollment(
    c: &mut PgConnection,
    tenant_id: i64,
    enrollment_id: EnrollmentId,
) -> sqlx::Result<Option<LineRow>> {
    sqlx::query_as(&format!(
        "select {cols} from platform.order_lines l
         where l.tenant_id = $1 and l.enrollment_id = $2 and l.live
           and exists (select 1 from platform.payment_orders o
                       where o.id = l.order_id and o.status = 'paid')",
        cols = prefixed_line_columns()
    ))
    .bind(tenant_id)
    .bind(enrollment_id)
    .fetch_optional(&mut *c)
    .await
}

/// The live lines of paid orders that pay for the meal orders.
pub async fn paid_lines_of_meals(
    c: &mut PgConnection,
    tenant_id: i64,
    meal_orders: &[i64],
) -> sqlx::Result<Vec<LineRow>> {
    sqlx::query_as(&format!(
        "select {cols} from platform.order_lines l
         where l.tenant_id = $1 and l.meal_order_id = any($2) and l.live
           and exists (select 1 from platform.payment_orders o
                       where o.id = l.order_id and o.status = 'paid')
         order by l.order_id, l.id",
        cols = prefixed_line_columns()
    ))
    .bind(tenant_id)
    .bind(meal_orders)
    .fetch_all(&mut *c)
    .await
}

/// A line a day close may release from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReleasableLine {
    pub id: i64,
    pub release_rule: ReleaseRule,
    pub units: i32,
}

/// The live lines of paid orders for `enrollments` or `meals`: what a day close releases
/// from.
pub async fn releasable_lines(
    c: &mut PgConnection,
    tenant_id: i64,
    enrollments: &[EnrollmentId],
    meals: &[i64],
) -> sqlx::Result<Vec<ReleasableLine>> {
    sqlx::query_as(
        "select l.id, l.release_rule, l.units from platform.order_lines l
         join platform.payment_orders o on o.id = l.order_id and o.status = 'paid'
         where l.tenant_id = $1 and l.live
           and (l.enrollment_id = any($2) or l.meal_order_id = any($3))
         order by l.id",
    )
    .bind(tenant_id)
    .bind(enrollments)
    .bind(meals)
    .fetch_all(&mut *c)
    .await
}

pub async fn set_prepay(
    c: &mut PgConnection,
    id: OrderId,
    prepay_id: Option<&str>,
    h5_url: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.payment_orders
         set prepay_id = coalesce($2, prepay_id), h5_url = coalesce($3, h5_url)
         where id = $1",
    )
    .bind(id)
    .bind(prepay_id)
    .bind(h5_url)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn mark_paid(
    c: &mut PgConnection,
    id: OrderId,
    transaction_id: &str,
    openid: Option<&str>,
    paid_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.payment_orders
         set status = 'paid', transaction_id = $2, payer_openid = $3, paid_at = $4
         where id = $1",
    )
    .bind(id)
    .bind(transaction_id)
    .bind(openid)
    .bind(paid_at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Closes an unpaid order and frees its enrollments for a new order.
pub async fn mark_closed(
    c: &mut PgConnection,
    id: OrderId,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.payment_orders set status = 'closed', closed_at = $2, close_reason = $3
         where id = $1 and status = 'created'",
    )
    .bind(id)
    .bind(now)
    .bind(reason)
    .execute(&mut *c)
    .await?;
    sqlx::query("update platform.order_lines set live = false where order_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Unpaid orders whose time ran out (or all unpaid ones with a prepay, for `recover`).
pub async fn open_orders(
    c: &mut PgConnection,
    expired_by: Option<DateTime<Utc>>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from platform.payment_orders
         where status = 'created' and ($1::timestamptz is null or expires_at <= $1)
         order by expires_at limit $2"
    ))
    .bind(expired_by)
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}

/// Orders of a tenant, newest first; `account_id` narrows to one payer.
pub async fn orders_of(
    c: &mut PgConnection,
    tenant_id: i64,
    account_id: Option<i64>,
    status: Option<OrderStatus>,
    limit: i64,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "select {ORDER_COLUMNS} from platform.payment_orders
         where tenant_id = $1 and ($2::bigint is null or account_id = $2)
           and ($3::text is null or status = $3)
         order by created_at desc, id desc limit $4"
    ))
    .bind(tenant_id)
    .bind(account_id)
    .bind(status.map(OrderStatus::as_str))
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}

// --- refunds ------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
pub async fn insert_refund(
    c: &mut PgConnection,
    out_refund_no: &str,
    line: &LineRow,
    amount: Decimal,
    reason: &str,
    source: &str,
    refund_request_id: Option<i64>,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into platform.refunds
             (out_refund_no, order_id, line_id, tenant_id, amount, reason, source,
              refund_request_id, created_by, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         returning id",
    )
    .bind(out_refund_no)
    .bind(line.order_id)
    .bind(line.id)
    .bind(line.tenant_id)
    .bind(amount)
    .bind(reason)
    .bind(source)
    .bind(refund_request_id)
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *c)
    .await
}

pub async fn refund(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "select {REFUND_COLUMNS} from platform.refunds where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

pub async fn refund_by_no(
    c: &mut PgConnection,
    out_refund_no: &str,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "select {REFUND_COLUMNS} from platform.refunds where out_refund_no = $1"
    ))
    .bind(out_refund_no)
    .fetch_optional(&mut *c)
    .await
}

pub async fn lock_refund_by_no(
    c: &mut PgConnection,
    out_refund_no: &str,
) -> sqlx::Result<Option<RefundRow>> {
    sqlx::query_as(&format!(
        "select {REFUND_COLUMNS} from platform.refunds where out_refund_no = $1 for update"
    ))
    .bind(out_refund_no)
    .fetch_optional(&mut *c)
    .await
}

pub async fn set_refund_status(
    c: &mut PgConnection,
    id: i64,
    status: RefundStatus,
    wx_refund_id: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.refunds
         set status = $2, wx_refund_id = coalesce($3, wx_refund_id), updated_at = $4,
             succeeded_at = case when $2 = 'succeeded' then $4 else succeeded_at end
         where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(wx_refund_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn refunds_of_orders(
    c: &mut PgConnection,
    order_ids: &[OrderId],
) -> sqlx::Result<Vec<RefundRow>> {
    sqlx::query_as(&format!(
        "select {REFUND_COLUMNS} from platform.refunds where order_id = any($1) order by id"
    ))
    .bind(order_ids)
    .fetch_all(&mut *c)
    .await
}

// --- callbacks and openids ------------------------------------------------------------------

/// Records a callback as processed; `false` when it was recorded before (a retry or a
/// duplicate). Concurrent duplicates wait here for the first to commit.
pub async fn claim_callback(
    c: &mut PgConnection,
    notification_id: &str,
    event_type: &str,
    reference: &str,
    outcome: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into platform.payment_callbacks
             (notification_id, event_type, reference, received_at, outcome)
         values ($1, $2, $3, $4, $5)
         on conflict (notification_id) do nothing",
    )
    .bind(notification_id)
    .bind(event_type)
    .bind(reference)
    .bind(now)
    .bind(outcome)
    .execute(&mut *c)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn openid(
    c: &mut PgConnection,
    account_id: i64,
    appid: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select openid from platform.wx_openids where account_id = $1 and appid = $2",
    )
    .bind(account_id)
    .bind(appid)
    .fetch_optional(&mut *c)
    .await
}

pub async fn bind_openid(
    c: &mut PgConnection,
    account_id: i64,
    appid: &str,
    openid: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.wx_openids (account_id, appid, openid, bound_at)
         values ($1, $2, $3, $4)
         on conflict (account_id, appid) do update set openid = excluded.openid, bound_at = excluded.bound_at",
    )
    .bind(account_id)
    .bind(appid)
    .bind(openid)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

// --- other modules' tables ----------------------------------------------------------------
//
// Statements on tables payments does not own, kept here so that no SQL is left outside the
// repo; each is to become a call into its owner once that owner offers one.

/// The courses (id, term) meeting on `date`'s weekday within their dates (tenant role):
/// courses' `courses` (cross-feature).
pub async fn courses_meeting_on(
    c: &mut PgConnection,
    weekday: i16,
    date: NaiveDate,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "select id, term_id from courses
         where $1 = any(weekdays) and starts_on <= $2 and ends_on >= $2",
    )
    .bind(weekday)
    .bind(date)
    .fetch_all(&mut *c)
    .await
}

/// Every course's code and name by id (tenant role): courses' `courses` (cross-feature).
pub async fn course_names(c: &mut PgConnection) -> sqlx::Result<Vec<(i64, String, String)>> {
    sqlx::query_as("select id, code, name from courses")
        .fetch_all(&mut *c)
        .await
}

/// The confirmed enrollments of `courses` (tenant role): enrollment's `enrollments`
/// (cross-feature).
pub async fn confirmed_enrollments(
    c: &mut PgConnection,
    courses: &[i64],
) -> sqlx::Result<Vec<EnrollmentId>> {
    sqlx::query_scalar(
        "select id from enrollments where course_id = any($1) and status = 'confirmed'",
    )
    .bind(courses)
    .fetch_all(&mut *c)
    .await
}

/// The sums of the payments and of the settled refunds posted in `[start, end)`: the
/// ledger's `ledger_journals` (cross-module).
pub async fn journal_sums(
    c: &mut PgConnection,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> sqlx::Result<(Option<Decimal>, Option<Decimal>)> {
    sqlx::query_as(
        "select sum(amount) filter (where kind = 'payment'),
                sum(amount) filter (where kind = 'refund_settle')
         from platform.ledger_journals where at >= $1 and at < $2",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&mut *c)
    .await
}

/// Whether `account_no` has a reconciliation run for `date`: the bank's
/// `reconciliation_runs` (cross-module).
pub async fn reconciled(
    c: &mut PgConnection,
    account_no: &str,
    date: NaiveDate,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from platform.reconciliation_runs
                        where account_no = $1 and value_date = $2)",
    )
    .bind(account_no)
    .bind(date)
    .fetch_one(&mut *c)
    .await
}

/// What `lines` pay for.
pub fn subjects_of(lines: &[LineRow]) -> Subjects {
    Subjects::new(
        lines.iter().filter_map(|l| l.enrollment_id).collect(),
        lines.iter().filter_map(|l| l.meal_order_id).collect(),
    )
}
