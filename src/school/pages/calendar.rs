//! The term calendar (R-S05) as month grids: teaching days, make-up days (调休上课),
//! holidays, closures and weekends, for the term chosen. A day's special kind is set or
//! cleared with the same services as `PUT`/`DELETE /school/terms/:code/days/:date`; a date
//! that is malformed, outside the term or of the wrong kind is refused under the date field.
//! Custody and meals are charged by this calendar, so a change shows here at once.

use chrono::Datelike;
use maud::{html, Markup};
use poem::web::Query;
use poem::{get, handler, post, Route};
use serde::Deserialize;

use crate::error::{ApiError, DomainError};
use crate::school::calendar::DayKind;
use crate::school::error::SchoolError;
use crate::school::model::{CalendarDay, ExceptionKind, TermDayRequest};
use crate::school::perms as school_perms;
use crate::school::perms::CALENDAR;
use crate::school::{repo, service as school};
use crate::web::forms::{
    actor, done_notice, link_with, options, select, settle, FormError, Posted,
};
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{field, input, notice, weekday, Tone};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/calendar", get(calendar))
        .at("/console/calendar/day", post(set_day))
        .at("/console/calendar/clear", post(clear_day))
}

const DAY_KINDS: [(&str, &str); 3] = [
    (ExceptionKind::Holiday.as_str(), "节假日（放假）"),
    (ExceptionKind::Closure.as_str(), "停课"),
    (ExceptionKind::Makeup.as_str(), "调休上课"),
];

/// The refusals about the day itself, which name no field: the date field shows them.
fn refusals_of_the_day() -> [SchoolError; 4] {
    let day = chrono::NaiveDate::default();
    [
        SchoolError::DayOutsideTerm {
            day,
            term: String::new(),
            starts_on: day,
            ends_on: day,
        },
        SchoolError::MakeupOnTeachingDay { day },
        SchoolError::NotASchoolDay { day },
        SchoolError::DayNotFound {
            term: String::new(),
            day,
        },
    ]
}

fn day_field(f: &str) -> Option<&'static str> {
    match f {
        "date" => Some("date"),
        "name" => Some("name"),
        "kind" => Some("kind"),
        c if refusals_of_the_day().iter().any(|e| e.code() == c) => Some("date"),
        _ => None,
    }
}

/// How a day is shown: its CSS class and short label.
fn look(d: &CalendarDay) -> (&'static str, String) {
    match d.kind {
        DayKind::Teaching => ("teaching", "上课".into()),
        DayKind::Makeup => ("makeup", "调休上课".into()),
        DayKind::Holiday => ("holiday", d.label.clone()),
        DayKind::Closure => ("closure", "停课".into()),
        DayKind::Weekend => ("weekend", "周末".into()),
        DayKind::OutsideTerm => ("outside", String::new()),
    }
}

/// One month of the term: the days in a Monday-first grid, `None` before the first day.
#[derive(Debug)]
struct Month<'a> {
    year: i32,
    month: u32,
    cells: Vec<Option<&'a CalendarDay>>,
}

fn months(days: &[CalendarDay]) -> Vec<Month<'_>> {
    let mut out: Vec<Month<'_>> = Vec::new();
    for d in days {
        let (y, m) = (d.date.year(), d.date.month());
        let fresh = out
            .last()
            .is_none_or(|last| (last.year, last.month) != (y, m));
        if fresh {
            let lead = usize::from(d.weekday.saturating_sub(1));
            out.push(Month {
                year: y,
                month: m,
                cells: vec![None; lead],
            });
        }
        if let Some(last) = out.last_mut() {
            last.cells.push(Some(d));
        }
    }
    out
}

fn month_grid(web: &Web, term: &str, m: &Month<'_>) -> Markup {
    html! {
        div.card.month {
            h3 { (m.year) " 年 " (m.month) " 月" }
            div.cal {
                @for wd in 1..=7i16 { span.wd { (weekday(wd).trim_start_matches('周')) } }
                @for c in &m.cells {
                    @match c {
                        None => span.d.blank {},
                        Some(d) => {
                            @let (class, label) = look(d);
                            a class={ "d " (class) } data-date=(d.date) title=(d.label)
                                href={ (link_with(web, "/console/calendar", &[("term", term), ("date", &d.date.to_string())])) "#day-form" } {
                                b { (d.date.day()) }
                                small { (label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct CalendarQuery {
    term: Option<String>,
    date: Option<String>,
    done: Option<String>,
}

async fn calendar_page(
    web: &Web,
    term: Option<&str>,
    form: &Posted,
    p: &FormError,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&CALENDAR).await?;
    let terms = repo::terms(tx.conn()).await?;
    let cal = school::calendar(&mut tx, term, web.app.clock.today()).await;
    tx.commit().await?;
    let cal = match cal {
        Ok(c) => Some(c),
        Err(SchoolError::TermNotFound { .. } | SchoolError::NoTerm) => None,
        Err(e) => return Err(e.into()),
    };
    let Some(cal) = cal else {
        let body = html! {
            (notice(Tone::Warn, "学校尚未设置学期校历，或所选学期不存在。"))
        };
        return Ok(html_response(
            p.status(),
            school_page(web, "学期校历", "/console/calendar", body),
        ));
    };
    let code = cal.term.code.clone();
    let term_opts: Vec<(String, String)> = terms
        .iter()
        .map(|t| (t.code.clone(), t.name.clone()))
        .collect();
    let count = |k: DayKind| cal.days.iter().filter(|d| d.kind == k).count();
    let kind = if form.get("kind").is_empty() {
        ExceptionKind::Holiday.as_str()
    } else {
        form.get("kind")
    };
    let action = |path: &str| web.post_url(&format!("{path}?term={}", urlencoding::encode(&code)));
    let body = html! {
        (done_notice(done))
        form.toolbar.filter method="get" action=(web.link("/console/calendar")) {
            (select("term", &term_opts, &code))
            button.secondary type="submit" { "查看" }
        }
        div.card {
            div.row {
                h2 { (cal.term.name) }
                span.muted { (cal.term.starts_on) " 至 " (cal.term.ends_on) }
            }
            p #term-summary {
                "上课日 " strong { (cal.term.school_days) } " 天（含调休上课 " (count(DayKind::Makeup)) " 天）；"
                "节假日 " (count(DayKind::Holiday)) " 天，停课 " (count(DayKind::Closure)) " 天。"
            }
            div.legend {
                span.d.teaching { "上课" } span.d.makeup { "调休上课" } span.d.holiday { "节假日" }
                span.d.closure { "停课" } span.d.weekend { "周末" }
            }
        }
        div.months {
            @for m in months(&cal.days) { (month_grid(web, &code, &m)) }
        }
        div.card id="day-form" {
            h2 { "设置某一天" }
            p.muted { "节假日、停课须是本来上课的日子；调休上课须是本来不上课的日子（如周六）。点日历中的日期可直接填入。" }
            form.stack method="post" action=(action("/console/calendar/day")) {
                (p.notice("day"))
                (field("日期（YYYY-MM-DD）", "date", input("text", "date", form.get("date")), p.field("date")))
                (field("类型", "kind", select("kind", &options(&DAY_KINDS, None), kind), p.field("kind")))
                (field("名称（如 国庆节、台风停课、国庆调休上课）", "name", input("text", "name", form.get("name")), p.field("name")))
                div.toolbar {
                    button type="submit" id="day-set" { "保存设置" }
                    button.secondary type="submit" id="day-clear" formaction=(action("/console/calendar/clear")) { "取消该日设置" }
                }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, "学期校历", "/console/calendar", body),
    ))
}

#[handler]
async fn calendar(web: Web, Query(q): Query<CalendarQuery>) -> PageResult {
    let f = Posted::of(&[("date", q.date.unwrap_or_default())]);
    calendar_page(
        &web,
        q.term.as_deref().filter(|t| !t.is_empty()),
        &f,
        &FormError::none(),
        q.done.as_deref(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
struct TermQuery {
    term: Option<String>,
}

/// After a change: back to the calendar of the term, at the month of the day changed.
fn back(web: &Web, term: &str, done: &str) -> poem::Response {
    see_other(&link_with(
        web,
        "/console/calendar",
        &[("term", term), ("done", done)],
    ))
}

#[handler]
async fn set_day(web: Web, Query(q): Query<TermQuery>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let term = q.term.unwrap_or_default();
    let req = TermDayRequest {
        kind: f.get("kind").into(),
        name: f.get("name").into(),
    };
    let mut tx = web.school_tx(&school_perms::TERM_DAY_SET).await?;
    let r = school::set_day(&mut tx, &actor(&web), &term, f.get("date"), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(back(&web, &term, "day_set")),
        Err(e) => {
            let p = FormError::of("day", &e, day_field);
            calendar_page(&web, Some(&term), &f, &p, None).await
        }
    }
}

#[handler]
async fn clear_day(web: Web, Query(q): Query<TermQuery>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let term = q.term.unwrap_or_default();
    let mut tx = web.school_tx(&school_perms::TERM_DAY_DELETE).await?;
    let r = school::delete_day(&mut tx, &actor(&web), &term, f.get("date")).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(back(&web, &term, "day_cleared")),
        Err(e) => {
            let p = FormError::of("day", &e, day_field);
            calendar_page(&web, Some(&term), &f, &p, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn day(s: &str, kind: DayKind) -> CalendarDay {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        CalendarDay {
            date,
            weekday: date.weekday().number_from_monday() as u8,
            kind,
            label: String::new(),
        }
    }

    #[test]
    fn months_start_on_the_weekday_column_of_their_first_day() {
        // 2026-09-01 is a Tuesday; 2026-10-01 a Thursday.
        let days = vec![
            day("2026-09-01", DayKind::Teaching),
            day("2026-09-02", DayKind::Teaching),
            day("2026-10-01", DayKind::Holiday),
        ];
        let m = months(&days);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].year, m[0].month), (2026, 9));
        assert_eq!(m[0].cells.len(), 1 + 2);
        assert!(m[0].cells[0].is_none());
        assert_eq!(m[1].cells.iter().filter(|c| c.is_none()).count(), 3);
        assert_eq!(m[1].cells[3].map(|d| d.kind), Some(DayKind::Holiday));
    }

    #[test]
    fn every_refusal_about_the_day_lands_on_the_date_field() {
        let invalid = SchoolError::DateInvalid {
            field: "date",
            value: "2026-13-01".into(),
        };
        let day = NaiveDate::parse_from_str("2026-10-01", "%Y-%m-%d").unwrap();
        for e in [
            invalid,
            SchoolError::MakeupOnTeachingDay { day },
            SchoolError::NotASchoolDay { day },
            SchoolError::DayNotFound {
                term: "2026-autumn".into(),
                day,
            },
        ] {
            let p = FormError::of("day", &ApiError::from(e), day_field);
            assert!(p.field("date").is_some(), "{:?}", p);
        }
    }
}
