//! The school's meal rules (R-S05): the ordering period (month or term), its window, the
//! daily cut-off for stopping tomorrow's meal, how long an unpaid order keeps its place, and
//! the days the canteen does not serve although school runs.

use serde_json::json;

use super::record;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::repo;

pub async fn rules_view(tx: &mut TenantTx) -> Result<MealRulesView, MealError> {
    let r = repo::rules(tx.conn()).await?;
    let excluded = repo::excluded_days(tx.conn()).await?;
    Ok(MealRulesView {
        period: r.mode,
        period_label: r.mode.label().into(),
        opens_days_before: r.opens_days_before,
        closes_days_before: r.closes_days_before,
        stop_cutoff: r.stop_cutoff.format("%H:%M").to_string(),
        hold_minutes: r.hold_minutes,
        excluded_days: excluded
            .into_iter()
            .map(|(day, reason)| ExcludedDayView { day, reason })
            .collect(),
    })
}

fn invalid(field: &'static str, reason: impl Into<String>) -> MealError {
    MealError::RulesInvalid {
        field,
        reason: reason.into(),
    }
}

pub async fn update_rules(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    p: MealRulesPatch,
) -> Result<MealRulesView, MealError> {
    let before = repo::rules(tx.conn()).await?;
    let mut r = before.clone();
    if let Some(m) = p.period {
        r.mode = m;
    }
    if let Some(n) = p.opens_days_before {
        if !(1..=90).contains(&n) {
            return Err(invalid(
                "opens_days_before",
                "开放订餐应在周期开始前 1 到 90 天",
            ));
        }
        r.opens_days_before = n;
    }
    if let Some(n) = p.closes_days_before {
        if !(1..=30).contains(&n) {
            return Err(invalid(
                "closes_days_before",
                "截止订餐应在周期开始前 1 到 30 天",
            ));
        }
        r.closes_days_before = n;
    }
    if r.closes_days_before >= r.opens_days_before {
        return Err(invalid(
            "closes_days_before",
            format!(
                "截止订餐（开始前 {} 天）须晚于开放订餐（开始前 {} 天）",
                r.closes_days_before, r.opens_days_before
            ),
        ));
    }
    if let Some(s) = &p.stop_cutoff {
        r.stop_cutoff = parse_cutoff(s)?;
    }
    if let Some(n) = p.hold_minutes {
        if !(5..=1440).contains(&n) {
            return Err(invalid(
                "hold_minutes",
                "未支付订餐的保留时间应在 5 到 1440 分钟之间",
            ));
        }
        r.hold_minutes = n;
    }
    repo::set_rules(tx.conn(), &r).await?;
    record(
        tx,
        who,
        "meals.rules.update",
        "meal_rules".into(),
        json!({
            "period": { "from": before.mode.as_str(), "to": r.mode.as_str() },
            "opens_days_before": { "from": before.opens_days_before, "to": r.opens_days_before },
            "closes_days_before": { "from": before.closes_days_before, "to": r.closes_days_before },
            "stop_cutoff": { "from": before.stop_cutoff.to_string(), "to": r.stop_cutoff.to_string() },
            "hold_minutes": { "from": before.hold_minutes, "to": r.hold_minutes },
        }),
    )
    .await?;
    rules_view(tx).await
}

pub async fn add_excluded_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewExcludedDay,
) -> Result<MealRulesView, MealError> {
    let day = parse_date("day", &req.day)?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > 50 {
        return Err(MealError::ReasonInvalid { max: 50 });
    }
    if repo::add_excluded_day(tx.conn(), day, reason).await? {
        record(
            tx,
            who,
            "meals.excluded_day.add",
            format!("meal_day:{day}"),
            json!({ "day": day, "reason": reason }),
        )
        .await?;
    }
    rules_view(tx).await
}

pub async fn remove_excluded_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: &str,
) -> Result<MealRulesView, MealError> {
    let day = parse_date("day", day)?;
    if repo::remove_excluded_day(tx.conn(), day).await? {
        record(
            tx,
            who,
            "meals.excluded_day.remove",
            format!("meal_day:{day}"),
            json!({ "day": day }),
        )
        .await?;
    }
    rules_view(tx).await
}
