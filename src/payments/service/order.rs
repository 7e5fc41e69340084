//! Creating and paying an order: the order for a parent's held enrollments (idempotent on
//! the client's key), the payment parameters from WeChat Pay, and the orders as the parent
//! and the school see them.
//!
//! Must never confirm an enrollment (only a payment WeChat confirms does, in
//! [`super::settle`]) and never call WeChat while a transaction is open.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::closing::{self, Met};
use super::{money, trade_no, wechat_failed, yuan};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::model::{CourseClassType, CoursePricing};
use crate::enrollment::model::EnrollmentStatus;
use crate::kernel::ctx::Ctx;
use crate::kernel::ids::{EnrollmentId, OrderId, StudentId};
use crate::kernel::tx::TenantTx;
use crate::ledger::{self, LineId};
use crate::payments::error::PaymentsError;
use crate::payments::model::*;
use crate::payments::repo::{self, LineRow, NewLine, OrderRow, RefundRow};
use crate::tenancy::model::TenantContext;
use crate::wechatpay::{NewH5Order, NewJsapiOrder};

const MAX_LINES: usize = 10;

fn valid_key(k: &str) -> bool {
    (8..=64).contains(&k.len())
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Creates the order for the caller's held enrollments (or returns the one created before
/// with the same idempotency key), commits it, then asks WeChat Pay for the payment
/// parameters. A WeChat failure leaves the order waiting: the same request again retries.
pub async fn create_order(
    st: &Ctx,
    auth: &AuthContext,
    mut tx: TenantTx,
    req: NewOrder,
    client_ip: Option<String>,
) -> Result<OrderView, PaymentsError> {
    let now = st.clock.now();
    if !valid_key(&req.idempotency_key) {
        return Err(PaymentsError::IdempotencyKeyInvalid);
    }
    let subjects = Subjects::new(
        req.enrollment_ids
            .iter()
            .copied()
            .map(EnrollmentId)
            .collect(),
        req.meal_order_ids.clone(),
    );
    let mut distinct = subjects.clone();
    distinct.enrollments.dedup();
    distinct.meals.dedup();
    if subjects.is_empty() || subjects.len() > MAX_LINES || distinct != subjects {
        return Err(PaymentsError::OrderLinesInvalid { max: MAX_LINES });
    }
    let ids = subjects.enrollments.clone();
    let tenant = tx.tenant().clone();

    tx.leave_role().await?;
    if let Some(existing) =
        repo::order_by_key(tx.conn(), auth.account_id, &req.idempotency_key).await?
    {
        let lines = repo::lines_of(tx.conn(), &[existing.id]).await?;
        if repo::subjects_of(&lines) != subjects
            || existing.tenant_id != tenant.id
            || existing.channel != req.channel
        {
            return Err(PaymentsError::IdempotencyKeyReused {
                order_id: existing.id,
            });
        }
        tx.commit().await?;
        return prepay(st, existing, client_ip).await;
    }
    tx.enter_role().await?;

    let rows = repo::payable_enrollments(tx.conn(), &ids, auth.account_id).await?;
    if let Some(missing) = ids.iter().find(|id| !rows.iter().any(|r| r.id == **id)) {
        return Err(PaymentsError::EnrollmentNotFound { id: *missing });
    }
    for r in &rows {
        let held = r.status == EnrollmentStatus::Held;
        let live = held && r.hold_expires_at.is_some_and(|t| t > now);
        if !live {
            let (id, course) = (r.id, r.course_name.clone());
            let status = r.status.as_str().to_string();
            // A hold past its time has run out even before the sweep marks it expired.
            return Err(if !held && r.status != EnrollmentStatus::Expired {
                PaymentsError::EnrollmentNotHeld { id, course, status }
            } else {
                PaymentsError::HoldExpired { id, course, status }
            });
        }
    }

    let meals = meal_lines(&mut tx, auth, &subjects.meals, now).await?;

    let calendars = crate::enrollment::staff::calendars(&mut tx).await?;
    let today = st.clock.today();
    let mut lines = Vec::with_capacity(rows.len() + meals.len());
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
        let amount = if CoursePricing::from_db(&r.pricing) == CoursePricing::PerDay {
            r.price * Decimal::from(sessions)
        } else {
            r.price
        };
        if amount <= Decimal::ZERO {
            return Err(PaymentsError::NothingToPay {
                id: r.id,
                course: r.course_name.clone(),
            });
        }
        lines.push(NewLine {
            enrollment_id: Some(r.id),
            student_id: r.student_id,
            course_id: Some(r.course_id),
            meal_order_id: None,
            description: format!("{} {}", r.student_name, r.course_name),
            amount,
            release_rule: match CourseClassType::from_db(&r.class_type) {
                CourseClassType::Custody => ReleaseRule::PerDay,
                CourseClassType::Training => ReleaseRule::PerLesson,
            },
            units: i32::try_from(sessions).unwrap_or(i32::MAX),
        });
    }
    let expires_at = rows
        .iter()
        .filter_map(|r| r.hold_expires_at)
        .chain(meals.iter().filter_map(|m| m.1))
        .min()
        .unwrap_or(now);
    lines.extend(meals.into_iter().map(|m| m.0));
    let total: Decimal = lines.iter().map(|l| l.amount).sum();
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
    if let Some(order_id) = repo::live_order_for(tx.conn(), tenant.id, &subjects).await? {
        // The parent left the payment sheet and pays again: the order opened then is the
        // one to pay (or, paid the other way now, to replace).
        match closing::open_order_met(auth, tx.conn(), order_id, &subjects, req.channel).await? {
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
        req.channel,
        &description,
        total,
        expires_at,
        now,
    )
    .await?;
    repo::insert_lines(tx.conn(), order_id, tenant.id, &lines).await?;
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
            "enrollments": ids, "meal_orders": subjects.meals, "channel": req.channel.as_str(),
        })),
    )
    .await?;
    tx.commit().await?;

    let mut conn = st.db_app.acquire().await?;
    let order = repo::order(&mut conn, order_id)
        .await?
        .ok_or_else(|| PaymentsError::Vanished(format!("order {order_id}")))?;
    drop(conn);
    prepay(st, order, client_ip).await
}

/// The lines of the caller's held meal orders among `ids`, each with its hold's end (tenant
/// role).
async fn meal_lines(
    tx: &mut TenantTx,
    auth: &AuthContext,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<(NewLine, Option<DateTime<Utc>>)>, PaymentsError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = crate::meals::paid::payable(tx.conn(), ids, auth.account_id).await?;
    let mut out = Vec::with_capacity(rows.len());
    for id in ids {
        let m = rows
            .iter()
            .find(|r| r.id == *id)
            .ok_or(PaymentsError::MealOrderNotFound { id: *id })?;
        if !m.held {
            return Err(PaymentsError::MealNotHeld {
                id: m.id,
                name: m.description.clone(),
                status: m.status_label,
            });
        }
        if m.hold_expires_at.is_none_or(|t| t <= now) {
            return Err(PaymentsError::MealHoldExpired {
                id: m.id,
                name: m.description.clone(),
            });
        }
        out.push((
            NewLine {
                enrollment_id: None,
                student_id: StudentId(m.student_id),
                course_id: None,
                meal_order_id: Some(m.id),
                description: m.description.clone(),
                amount: m.amount,
                release_rule: ReleaseRule::PerDay,
                units: m.days,
            },
            m.hold_expires_at,
        ));
    }
    Ok(out)
}

/// Asks WeChat Pay for the payment parameters of an unpaid order (again, on a retry: the
/// same `out_trade_no` with the same figures gets the same prepay id) and answers the view.
pub(super) async fn prepay(
    st: &Ctx,
    order: OrderRow,
    client_ip: Option<String>,
) -> Result<OrderView, PaymentsError> {
    let order_id = order.id;
    let mut pay = None;
    if order.status == OrderStatus::Created {
        let total_fen = money(order.amount)?.to_fen();
        // No connection is held while WeChat Pay answers: a slow gateway must not drain the
        // pool the callbacks and every other request need.
        pay = Some(match order.channel {
            PayChannel::Jsapi => {
                let appid = st.wechatpay.appid().to_string();
                let mut conn = st.db_app.acquire().await?;
                let openid = repo::openid(&mut conn, order.account_id, &appid).await?;
                drop(conn);
                let Some(openid) = openid else {
                    return Err(PaymentsError::OpenidRequired { order_id: order.id });
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
                    .map_err(wechat_failed)?;
                let mut conn = st.db_app.acquire().await?;
                repo::set_prepay(&mut conn, order.id, Some(&p.prepay_id), None).await?;
                PayView {
                    cashier_url: st.wechatpay.cashier_url(&p.prepay_id),
                    jsapi: Some(p.pay_params.into()),
                    h5_url: None,
                }
            }
            PayChannel::H5 => {
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
                    .map_err(wechat_failed)?;
                let mut conn = st.db_app.acquire().await?;
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
    let mut v = views
        .pop()
        .ok_or_else(|| PaymentsError::Vanished(format!("view of order {order_id}")))?;
    v.pay = pay;
    Ok(v)
}

/// Orders with their lines and refunds, as they stand at `now`: what each line has left
/// to refund (from the escrow ledger) and the order's label from its refunds.
pub async fn views(
    conn: &mut sqlx::PgConnection,
    orders: Vec<OrderRow>,
    now: DateTime<Utc>,
) -> Result<Vec<OrderView>, PaymentsError> {
    let ids: Vec<OrderId> = orders.iter().map(|o| o.id).collect();
    let lines = repo::lines_of(conn, &ids).await?;
    let refunds = repo::refunds_of_orders(conn, &ids).await?;
    let line_ids: Vec<LineId> = lines.iter().map(|l| l.id).collect();
    let balances = ledger::line_balances(conn, &line_ids).await?;
    let refundable = |line: LineId| {
        balances
            .iter()
            .find(|b| b.line_id == line)
            .map_or(Decimal::ZERO, |b| b.held().as_decimal())
    };
    Ok(orders
        .into_iter()
        .map(|o| {
            let mine: Vec<&RefundRow> = refunds.iter().filter(|r| r.order_id == o.id).collect();
            let refunded: Decimal = mine
                .iter()
                .filter(|r| r.status == RefundStatus::Succeeded)
                .map(|r| r.amount)
                .sum();
            let refunding = mine.iter().any(|r| r.status.is_pending());
            OrderView {
                lines: lines
                    .iter()
                    .filter(|l| l.order_id == o.id)
                    .map(|l| line_view(l, refundable(l.id)))
                    .collect(),
                refunds: mine.into_iter().map(refund_view).collect(),
                status_label: o.status.label(o.amount, refunded, refunding).into(),
                payable: o.status == OrderStatus::Created && o.expires_at > now,
                refunded: yuan(refunded),
                amount: yuan(o.amount),
                id: o.id,
                out_trade_no: o.out_trade_no,
                status: o.status.as_str().into(),
                channel: o.channel.as_str().into(),
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
        meal_order_id: l.meal_order_id,
        description: l.description.clone(),
        amount: yuan(l.amount),
        release_rule: l.release_rule.as_str().into(),
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
        status_label: r.status.label().into(),
        status: r.status.as_str().into(),
        created_at: r.created_at,
        succeeded_at: r.succeeded_at,
    }
}

/// The caller's orders at this school, newest first.
pub async fn my_orders(
    st: &Ctx,
    auth: &AuthContext,
    tenant: &TenantContext,
) -> Result<Vec<OrderView>, PaymentsError> {
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::orders_of(&mut conn, tenant.id, Some(auth.account_id), None, 200).await?;
    views(&mut conn, orders, st.clock.now()).await
}

/// The school's orders (R-S08), newest first, optionally of one status.
pub async fn school_orders(
    st: &Ctx,
    tenant: &TenantContext,
    status: Option<&str>,
) -> Result<Vec<OrderView>, PaymentsError> {
    let status = match status {
        None => None,
        Some(s) => {
            Some(OrderStatus::parse(s).ok_or_else(|| PaymentsError::OrderStatusInvalid(s.into()))?)
        }
    };
    let mut conn = st.db_app.acquire().await?;
    let orders = repo::orders_of(&mut conn, tenant.id, None, status, 500).await?;
    views(&mut conn, orders, st.clock.now()).await
}
