//! Periods (R-S05): the time slots custody and courses run in (午托, 课后, 晚托, 周末),
//! each with its kind, times and weekdays; listed, created, changed and deleted.
//!
//! Must never store a period that ends before it starts, never delete one anything
//! references, and never re-check a stored value a change did not send.

use chrono::NaiveTime;
use serde_json::{json, Map, Value};

use super::{note_change, record, sent};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::error::SchoolError;
use crate::school::model::{
    hhmm, parse_time, Code, Name, NewPeriod, PeriodChange, PeriodFields, PeriodKind, PeriodPatch,
    PeriodView, Weekdays,
};
use crate::school::repo;

/// Every period, by start time.
pub async fn periods(tx: &mut TenantTx) -> Result<Vec<PeriodView>, SchoolError> {
    Ok(repo::periods(tx.conn()).await?)
}

fn check_period_times(starts_at: NaiveTime, ends_at: NaiveTime) -> Result<(), SchoolError> {
    if ends_at > starts_at {
        return Ok(());
    }
    Err(SchoolError::PeriodTimesInvalid { starts_at, ends_at })
}

fn period_details(p: &PeriodView) -> Value {
    json!({
        "code": p.code, "name": p.name, "kind": p.kind,
        "starts_at": hhmm(p.starts_at),
        "ends_at": hhmm(p.ends_at),
        "weekdays": p.weekdays,
    })
}

/// `e` as the refusal of the code `code` when another period has it.
fn code_taken(e: sqlx::Error, code: &str) -> SchoolError {
    SchoolError::on_constraint(e, &["periods_code_key"], || SchoolError::PeriodCodeTaken {
        code: code.to_string(),
    })
}

pub async fn create_period(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewPeriod,
) -> Result<PeriodView, SchoolError> {
    let fields = PeriodFields {
        code: Code::parse_field("code", &req.code)?,
        name: Name::parse_field("name", &req.name)?,
        kind: PeriodKind::parse_field(&req.kind)?,
        starts_at: parse_time("starts_at", &req.starts_at)?,
        ends_at: parse_time("ends_at", &req.ends_at)?,
        weekdays: Weekdays::parse_field("weekdays", &req.weekdays)?,
    };
    check_period_times(fields.starts_at, fields.ends_at)?;
    let p = repo::insert_period(tx.conn(), &fields)
        .await
        .map_err(|e| code_taken(e, fields.code.as_str()))?;
    record(
        tx,
        who,
        "school.period.create",
        format!("period:{}", p.id),
        period_details(&p),
    )
    .await?;
    Ok(p)
}

/// Only the fields sent are checked and written; the times as they will be must still be
/// in order.
pub async fn update_period(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: PeriodPatch,
) -> Result<PeriodView, SchoolError> {
    let cur = repo::period(tx.conn(), id)
        .await?
        .ok_or(SchoolError::PeriodNotFound { id })?;
    let change = PeriodChange {
        code: sent(req.code.as_deref(), |c| Code::parse_field("code", c))?,
        name: sent(req.name.as_deref(), |n| Name::parse_field("name", n))?,
        kind: sent(req.kind.as_deref(), PeriodKind::parse_field)?,
        starts_at: sent(req.starts_at.as_deref(), |t| parse_time("starts_at", t))?,
        ends_at: sent(req.ends_at.as_deref(), |t| parse_time("ends_at", t))?,
        weekdays: sent(req.weekdays.as_deref(), |d| {
            Weekdays::parse_field("weekdays", d)
        })?,
    };
    check_period_times(
        change.starts_at.unwrap_or(cur.starts_at),
        change.ends_at.unwrap_or(cur.ends_at),
    )?;
    let code = change.code.as_ref().map_or(cur.code.as_str(), Code::as_str);
    let p = repo::update_period(tx.conn(), id, &change)
        .await
        .map_err(|e| code_taken(e, code))?;
    let (before, after) = (period_details(&cur), period_details(&p));
    let mut changes = Map::new();
    for key in ["code", "name", "kind", "starts_at", "ends_at", "weekdays"] {
        note_change(&mut changes, key, &before[key], &after[key]);
    }
    if !changes.is_empty() {
        record(
            tx,
            who,
            "school.period.update",
            format!("period:{id}"),
            Value::Object(changes),
        )
        .await?;
    }
    Ok(p)
}

pub async fn delete_period(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), SchoolError> {
    let cur = repo::period(tx.conn(), id)
        .await?
        .ok_or(SchoolError::PeriodNotFound { id })?;
    // Courses (and later custody sessions, bookings) reference periods.
    repo::delete_period(tx.conn(), id).await.map_err(|e| {
        SchoolError::on_constraint(e, &["courses_period_id_fkey"], || {
            SchoolError::PeriodInUse {
                id,
                period: cur.name.clone(),
            }
        })
    })?;
    record(
        tx,
        who,
        "school.period.delete",
        format!("period:{id}"),
        period_details(&cur),
    )
    .await
}
