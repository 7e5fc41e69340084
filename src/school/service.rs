//! Rules of the school organisation views.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::calendar::{DayKind, TermCalendar};
use super::model::{CalendarDay, CalendarView, GradeView, TermRow, TermView};
use super::repo;
use crate::error::{ApiError, ErrorKind};
use crate::kernel::tx::TenantTx;

/// Every grade with its active classes (and graduated ones when `include_graduated`).
pub async fn grades_with_classes(
    tx: &mut TenantTx,
    include_graduated: bool,
) -> Result<Vec<GradeView>, ApiError> {
    let grades = repo::grades(tx.conn()).await?;
    let mut by_grade: HashMap<i64, Vec<_>> = HashMap::new();
    for c in repo::classes(tx.conn(), include_graduated).await? {
        by_grade.entry(c.grade_id).or_default().push(c);
    }
    Ok(grades
        .into_iter()
        .map(|g| GradeView {
            classes: by_grade.remove(&g.id).unwrap_or_default(),
            id: g.id,
            code: g.code,
            name: g.name,
            level: g.level,
        })
        .collect())
}

/// The calendar of the term named `code`, or else of the term containing `today`, or else
/// of the latest term.
pub async fn calendar(
    tx: &mut TenantTx,
    code: Option<&str>,
    today: NaiveDate,
) -> Result<CalendarView, ApiError> {
    let terms = repo::terms(tx.conn()).await?;
    let term = pick_term(&terms, code, today).ok_or_else(|| match code {
        Some(c) => term_not_found(c),
        None => ApiError::new(
            ErrorKind::NotFound,
            "TERM_NOT_FOUND",
            "学校尚未设置学期校历",
            serde_json::json!({}),
        ),
    })?;
    let cal = term_calendar(tx, term).await?;
    let days = cal.days().map(|d| calendar_day(&cal, d)).collect();
    Ok(CalendarView {
        term: term_view(term, &cal),
        days,
    })
}

pub(super) fn term_not_found(code: &str) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "TERM_NOT_FOUND",
        format!("找不到学期“{code}”"),
        serde_json::json!({ "term": code }),
    )
}

/// The term's calendar as stored now: weekly rule plus exceptions.
pub(crate) async fn term_calendar(
    tx: &mut TenantTx,
    term: &TermRow,
) -> Result<TermCalendar, ApiError> {
    let mut exceptions = HashMap::new();
    for (day, kind, name) in repo::exceptions(tx.conn(), term.id).await? {
        // The table's check constraint allows only the three exception kinds.
        let kind = DayKind::parse_exception(&kind).unwrap_or(DayKind::Makeup);
        exceptions.insert(day, (kind, name));
    }
    Ok(TermCalendar {
        starts_on: term.starts_on,
        ends_on: term.ends_on,
        teaching_weekdays: term.teaching_weekdays.clone(),
        exceptions,
    })
}

pub(super) fn calendar_day(cal: &TermCalendar, d: NaiveDate) -> CalendarDay {
    let (kind, name) = cal.day(d);
    CalendarDay {
        date: d,
        weekday: d.weekday().number_from_monday() as u8,
        kind: kind.as_str().to_string(),
        label: name.unwrap_or(kind.label()).to_string(),
    }
}

pub(super) fn term_view(term: &TermRow, cal: &TermCalendar) -> TermView {
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
