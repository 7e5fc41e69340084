//! Payment statistics (R-T09): for a period, who of the caller's classes (a homeroom
//! teacher) or of the school (an admin) ordered, who paid, who has not, live from the
//! orders.

use chrono::NaiveDate;

use super::ordering::period_label;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::periods::window;
use crate::meals::repo;
use crate::people::service as people;

pub async fn payments(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    period_start: NaiveDate,
) -> Result<PaymentStats, MealError> {
    let (rules, cal) = super::rules_and_calendar(tx).await?;
    let period = cal
        .period_at(&rules, period_start)
        .ok_or(MealError::PeriodInvalid { period_start })?;
    let scope = people::scope(who.st, who.auth, tx).await?;
    let rows = repo::payment_rows(tx.conn(), scope.classes(), period_start).await?;
    let mut classes: Vec<PaymentClass> = Vec::new();
    for r in rows {
        if classes.last().is_none_or(|c| c.class_id != r.class_id) {
            classes.push(PaymentClass {
                class_id: r.class_id,
                class_name: r.class_name.clone(),
                students: 0,
                ordered: 0,
                paid: 0,
                unpaid: 0,
                not_ordered: 0,
                rows: Vec::new(),
            });
        }
        let Some(c) = classes.last_mut() else {
            continue;
        };
        c.students += 1;
        let (state, label) = match (r.paid, r.held) {
            (_, true) => ("held", "待缴费"),
            (true, false) => ("paid", "已缴费"),
            (false, false) => ("none", "未订餐"),
        };
        match state {
            "held" => c.unpaid += 1,
            "paid" => c.paid += 1,
            _ => c.not_ordered += 1,
        }
        c.rows.push(PaymentStudent {
            student_id: r.student_id,
            student_name: r.student_name,
            state: state.into(),
            state_label: label.into(),
            paid: yuan(r.paid_amount),
            unpaid: yuan(r.held_amount),
        });
    }
    for c in &mut classes {
        c.ordered = c.paid + c.unpaid;
    }
    Ok(PaymentStats {
        period_start,
        period_label: period_label(period.starts_on, period.ends_on),
        classes,
    })
}

/// 一键催缴: every parent of an unpaid child (ordered and not paid, or not ordered) of the
/// classes in scope gets a 缴费提醒 message, at most once a day whoever sends it; audited.
pub async fn remind(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewReminder,
) -> Result<ReminderView, MealError> {
    let (rules, cal) = super::rules_and_calendar(tx).await?;
    let period = cal
        .period_at(&rules, req.period_start)
        .ok_or(MealError::PeriodInvalid {
            period_start: req.period_start,
        })?;
    let w = window(&rules, &period);
    let now = who.st.clock.now();
    if !w.contains(now) {
        return Err(MealError::WindowClosed {
            label: period.label,
            opens_at: w.opens_at,
            closes_at: w.closes_at,
        });
    }
    let scope = people::scope(who.st, who.auth, tx).await?;
    let classes: Option<Vec<i64>> = match (req.class_id, scope.classes()) {
        (Some(c), _) if !scope.covers(c) => return Err(MealError::ClassNotFound { id: c }),
        (Some(c), _) => Some(vec![c]),
        (None, s) => s.map(<[i64]>::to_vec),
    };
    let unpaid: Vec<i64> = repo::payment_rows(tx.conn(), classes.as_deref(), req.period_start)
        .await?
        .into_iter()
        .filter(|r| !r.paid || r.held)
        .map(|r| r.student_id)
        .collect();
    let today = who.st.clock.today();
    let (mut sent, mut already) = (0, 0);
    let what = format!("{}订餐", period.label);
    for (account, _, child) in repo::guardians_of(tx.conn(), &unpaid).await? {
        if !repo::claim_reminder(
            tx.conn(),
            account,
            today,
            req.period_start,
            who.auth.account_id,
            now,
        )
        .await?
        {
            already += 1;
            continue;
        }
        let m = crate::notify::Message::new(
            crate::notify::Kind::PaymentReminder,
            account,
            format!("meal_reminder:{today}"),
        )
        .tenant(tx.tenant().id)
        .field("name1", &child)
        .field("thing2", &what)
        .field("time3", crate::notify::model::time(w.closes_at))
        .field("thing4", "请进入订餐页面完成缴费");
        tx.leave_role().await?;
        crate::notify::emit(tx.conn(), &who.st.keys, &m).await?;
        tx.enter_role().await?;
        sent += 1;
    }
    super::record(
        tx,
        who,
        "meals.payment.remind",
        format!("meal_period:{}", req.period_start),
        serde_json::json!({ "class_id": req.class_id, "unpaid_students": unpaid.len(),
                            "sent": sent, "already_today": already }),
    )
    .await?;
    Ok(ReminderView {
        unpaid_students: unpaid.len() as i32,
        sent,
        already_today: already,
    })
}
