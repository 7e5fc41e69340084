//! Terms and their calendar (R-S05): creating and changing terms, setting or clearing the
//! exception of one day (holiday 放假, make-up day 调休上课, closure 停课), and the calendar
//! of a term as the API and pages show it. Custody and meals are charged by this calendar
//! ([`crate::school::calendar::TermCalendar`] holds the rule).
//!
//! Must never let terms share a day, never leave an exception outside its term or a
//! make-up day on a teaching weekday, and never make a day what the weekly rule already
//! makes it.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use super::{note_change, record, sent};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::calendar::{DayKind, TermCalendar};
use crate::school::error::SchoolError;
use crate::school::model::{
    parse_date, CalendarDay, CalendarView, Code, ExceptionKind, Name, NewTerm, TermChange,
    TermDayRequest, TermFields, TermPatch, TermRow, TermView, Weekdays, TERM_MAX_DAYS,
};
use crate::school::repo;

// --- the calendar as shown ----------------------------------------------------------------

/// The calendar of the term named `code`, or else of the term containing `today`, or else
/// of the latest term.
pub async fn calendar(
    tx: &mut TenantTx,
    code: Option<&str>,
    today: NaiveDate,
) -> Result<CalendarView, SchoolError> {
    let terms = repo::terms(tx.conn()).await?;
    let term = pick_term(&terms, code, today).ok_or_else(|| match code {
        Some(c) => SchoolError::TermNotFound {
            code: c.to_string(),
        },
        None => SchoolError::NoTerm,
    })?;
    let cal = term_calendar(tx, term).await?;
    let days = cal.days().map(|d| calendar_day(&cal, d)).collect();
    Ok(CalendarView {
        term: term_view(term, &cal),
        days,
    })
}

/// The term's calendar as stored now: weekly rule plus exceptions.
pub async fn term_calendar(tx: &mut TenantTx, term: &TermRow) -> Result<TermCalendar, SchoolError> {
    let exceptions = repo::exceptions(tx.conn(), term.id)
        .await?
        .into_iter()
        .map(|(day, kind, name)| (day, (kind.day_kind(), name)))
        .collect::<HashMap<_, _>>();
    Ok(TermCalendar {
        starts_on: term.starts_on,
        ends_on: term.ends_on,
        teaching_weekdays: term.teaching_weekdays.clone(),
        exceptions,
    })
}

fn calendar_day(cal: &TermCalendar, d: NaiveDate) -> CalendarDay {
    let (kind, name) = cal.day(d);
    CalendarDay {
        date: d,
        weekday: d.weekday().number_from_monday() as u8,
        kind,
        label: name.unwrap_or(kind.label()).to_string(),
    }
}

fn term_view(term: &TermRow, cal: &TermCalendar) -> TermView {
    TermView {
        code: term.code.clone(),
        name: term.name.clone(),
        starts_on: term.starts_on,
        ends_on: term.ends_on,
        school_days: cal.school_days() as u32,
    }
}

fn pick_term<'a>(
    terms: &'a [TermRow],
    code: Option<&str>,
    today: NaiveDate,
) -> Option<&'a TermRow> {
    match code {
        Some(c) => terms.iter().find(|t| t.code == c),
        None => terms
            .iter()
            .find(|t| t.starts_on <= today && today <= t.ends_on)
            .or_else(|| terms.last()),
    }
}

// --- terms --------------------------------------------------------------------------------

fn check_term_dates(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), SchoolError> {
    let days = (ends_on - starts_on).num_days() + 1;
    if !(1..=TERM_MAX_DAYS).contains(&days) {
        return Err(SchoolError::TermDatesInvalid { starts_on, ends_on });
    }
    Ok(())
}

/// Terms must not share days: the calendar of a day would be ambiguous.
async fn check_no_overlap(
    tx: &mut TenantTx,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    except: Option<i64>,
) -> Result<(), SchoolError> {
    match repo::overlapping_term(tx.conn(), starts_on, ends_on, except).await? {
        Some(other) => Err(SchoolError::TermOverlap { other }),
        None => Ok(()),
    }
}

async fn term(tx: &mut TenantTx, code: &str) -> Result<TermRow, SchoolError> {
    repo::term_by_code(tx.conn(), code)
        .await?
        .ok_or_else(|| SchoolError::TermNotFound {
            code: code.to_string(),
        })
}

fn term_details(
    code: &str,
    name: &str,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    teaching_weekdays: &[i16],
) -> Value {
    json!({
        "code": code, "name": name, "starts_on": starts_on, "ends_on": ends_on,
        "teaching_weekdays": teaching_weekdays,
    })
}

pub async fn create_term(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewTerm,
) -> Result<TermView, SchoolError> {
    let fields = TermFields {
        code: Code::parse_field("code", &req.code)?,
        name: Name::parse_field("name", &req.name)?,
        starts_on: parse_date("starts_on", &req.starts_on)?,
        ends_on: parse_date("ends_on", &req.ends_on)?,
        teaching_weekdays: Weekdays::parse_field("teaching_weekdays", &req.teaching_weekdays)?,
    };
    check_term_dates(fields.starts_on, fields.ends_on)?;
    check_no_overlap(tx, fields.starts_on, fields.ends_on, None).await?;
    let t = repo::insert_term(tx.conn(), &fields).await.map_err(|e| {
        SchoolError::on_constraint(e, &["terms_code_key"], || SchoolError::TermCodeTaken {
            code: fields.code.as_str().to_string(),
        })
    })?;
    let details = term_details(
        fields.code.as_str(),
        fields.name.as_str(),
        fields.starts_on,
        fields.ends_on,
        fields.teaching_weekdays.as_slice(),
    );
    record(
        tx,
        who,
        "school.term.create",
        format!("term:{}", t.id),
        details,
    )
    .await?;
    let cal = term_calendar(tx, &t).await?;
    Ok(term_view(&t, &cal))
}

/// Refuses a change that would leave an exception outside the term, or a make-up day on
/// what becomes a teaching weekday.
pub async fn update_term(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    req: TermPatch,
) -> Result<TermView, SchoolError> {
    let cur = term(tx, code).await?;
    let change = TermChange {
        name: sent(req.name.as_deref(), |n| Name::parse_field("name", n))?,
        starts_on: sent(req.starts_on.as_deref(), |d| parse_date("starts_on", d))?,
        ends_on: sent(req.ends_on.as_deref(), |d| parse_date("ends_on", d))?,
        teaching_weekdays: sent(req.teaching_weekdays.as_deref(), |d| {
            Weekdays::parse_field("teaching_weekdays", d)
        })?,
    };
    let name = change.name.as_ref().map_or(cur.name.as_str(), Name::as_str);
    let starts_on = change.starts_on.unwrap_or(cur.starts_on);
    let ends_on = change.ends_on.unwrap_or(cur.ends_on);
    let weekdays = change
        .teaching_weekdays
        .as_ref()
        .map_or(cur.teaching_weekdays.as_slice(), Weekdays::as_slice);
    check_term_dates(starts_on, ends_on)?;
    check_no_overlap(tx, starts_on, ends_on, Some(cur.id)).await?;
    let mut cal = term_calendar(tx, &cur).await?;
    cal.starts_on = starts_on;
    cal.ends_on = ends_on;
    cal.teaching_weekdays = weekdays.to_vec();
    check_exceptions_fit(&cal)?;

    let before = term_details(
        &cur.code,
        &cur.name,
        cur.starts_on,
        cur.ends_on,
        &cur.teaching_weekdays,
    );
    let after = term_details(&cur.code, name, starts_on, ends_on, weekdays);
    let mut changes = Map::new();
    for key in ["name", "starts_on", "ends_on", "teaching_weekdays"] {
        note_change(&mut changes, key, &before[key], &after[key]);
    }
    if changes.is_empty() {
        return Ok(term_view(&cur, &cal));
    }
    let t = repo::update_term(tx.conn(), cur.id, &change).await?;
    changes.insert("code".into(), json!(t.code));
    record(
        tx,
        who,
        "school.term.update",
        format!("term:{}", t.id),
        Value::Object(changes),
    )
    .await?;
    Ok(term_view(&t, &cal))
}

/// Every stored exception must stay inside the term, and every make-up day off the
/// teaching weekdays.
fn check_exceptions_fit(cal: &TermCalendar) -> Result<(), SchoolError> {
    let mut outside: Vec<NaiveDate> = Vec::new();
    let mut makeups: Vec<NaiveDate> = Vec::new();
    for (day, (kind, _)) in &cal.exceptions {
        match cal.weekly_kind(*day) {
            DayKind::OutsideTerm => outside.push(*day),
            DayKind::Teaching if *kind == DayKind::Makeup => makeups.push(*day),
            _ => {}
        }
    }
    outside.sort();
    makeups.sort();
    if !outside.is_empty() {
        return Err(SchoolError::ExceptionsOutsideTerm { days: outside });
    }
    if !makeups.is_empty() {
        return Err(SchoolError::MakeupsOnTeachingWeekdays { days: makeups });
    }
    Ok(())
}

// --- exception days -----------------------------------------------------------------------

/// Sets or replaces the exception of one day of the term: a holiday or closure takes a day
/// school would run by the weekly rule; a make-up day (调休上课) one it would not.
pub async fn set_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    date: &str,
    req: TermDayRequest,
) -> Result<CalendarDay, SchoolError> {
    let day = parse_date("date", date)?;
    let exception = ExceptionKind::parse_field(&req.kind)?;
    let name = Name::parse_field("name", &req.name)?;
    let t = term(tx, code).await?;
    let mut cal = term_calendar(tx, &t).await?;
    let kind = exception.day_kind();
    match (cal.weekly_kind(day), kind) {
        (DayKind::OutsideTerm, _) => {
            return Err(SchoolError::DayOutsideTerm {
                day,
                term: t.name,
                starts_on: t.starts_on,
                ends_on: t.ends_on,
            })
        }
        (DayKind::Teaching, DayKind::Makeup) => {
            return Err(SchoolError::MakeupOnTeachingDay { day })
        }
        (weekly, DayKind::Holiday | DayKind::Closure) if weekly != DayKind::Teaching => {
            return Err(SchoolError::NotASchoolDay { day })
        }
        _ => {}
    }
    repo::upsert_exception(tx.conn(), t.id, day, exception, name.as_str()).await?;
    let previous = cal
        .exceptions
        .insert(day, (kind, name.as_str().to_string()))
        .map(|(k, n)| json!({ "kind": k, "name": n }));
    record(
        tx,
        who,
        "school.term.day_set",
        format!("term:{}", t.id),
        json!({
            "term": t.code, "day": day, "kind": exception, "name": name.as_str(),
            "previous": previous,
        }),
    )
    .await?;
    Ok(calendar_day(&cal, day))
}

/// Removes the exception of one day: the weekly rule applies to it again.
pub async fn delete_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    date: &str,
) -> Result<CalendarDay, SchoolError> {
    let day = parse_date("date", date)?;
    let t = term(tx, code).await?;
    let mut cal = term_calendar(tx, &t).await?;
    let Some((kind, name)) = cal.exceptions.remove(&day) else {
        return Err(SchoolError::DayNotFound { term: t.code, day });
    };
    repo::delete_exception(tx.conn(), t.id, day).await?;
    record(
        tx,
        who,
        "school.term.day_delete",
        format!("term:{}", t.id),
        json!({
            "term": t.code, "day": day,
            "previous": { "kind": kind, "name": name },
        }),
    )
    .await?;
    Ok(calendar_day(&cal, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_is_one_to_two_hundred_days() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_term_dates(d("2027-02-20"), d("2027-02-20")).is_ok());
        assert!(check_term_dates(d("2027-02-20"), d("2027-09-07")).is_ok()); // 200 days
        assert!(check_term_dates(d("2027-02-20"), d("2027-09-08")).is_err());
        assert!(check_term_dates(d("2027-02-20"), d("2027-02-19")).is_err());
    }
}
