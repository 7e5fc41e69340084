//! Rules of the school organisation views.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use super::calendar::{DayKind, TermCalendar};
use super::model::{CalendarDay, CalendarView, GradeView, TermRow, TermView};
use super::repo;
use crate::error::{ApiError, ErrorKind};
use crate::tenancy::context::TenantTx;

pub async fn grades_with_classes(tx: &mut TenantTx) -> Result<Vec<GradeView>, ApiError> {
    let grades = repo::grades(tx.conn()).await?;
    let mut by_grade: HashMap<i64, Vec<_>> = HashMap::new();
    for c in repo::classes(tx.conn()).await? {
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
        Some(c) => ApiError::new(
            ErrorKind::NotFound,
            "TERM_NOT_FOUND",
            format!("找不到学期“{c}”"),
            serde_json::json!({ "term": c }),
        ),
        None => ApiError::new(
            ErrorKind::NotFound,
            "TERM_NOT_FOUND",
            "学校尚未设置学期校历",
            serde_json::json!({}),
        ),
    })?;
    let mut exceptions = HashMap::new();
    for (day, kind, name) in repo::exceptions(tx.conn(), term.id).await? {
        let kind = match kind.as_str() {
            "holiday" => DayKind::Holiday,
            "closure" => DayKind::Closure,
            _ => DayKind::Makeup,
        };
        exceptions.insert(day, (kind, name));
    }
    let cal = TermCalendar {
        starts_on: term.starts_on,
        ends_on: term.ends_on,
        teaching_weekdays: term.teaching_weekdays.clone(),
        exceptions,
    };
    let days = cal
        .days()
        .map(|d| {
            let (kind, name) = cal.day(d);
            CalendarDay {
                date: d,
                weekday: d.weekday().number_from_monday() as u8,
                kind: kind.as_str().to_string(),
                label: name.unwrap_or(kind.label()).to_string(),
            }
        })
        .collect();
    Ok(CalendarView {
        term: TermView {
            code: term.code.clone(),
            name: term.name.clone(),
            starts_on: term.starts_on,
            ends_on: term.ends_on,
            school_days: cal.school_days() as u32,
        },
        days,
    })
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
