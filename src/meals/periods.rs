//! Which days meals are served and which periods can be ordered when: pure rules over the
//! term calendars ([`crate::school::calendar`]), the canteen's excluded dates and the
//! school's meal rules. The one source for the days an order pays for, the days the day
//! close releases and the days a parent may stop.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use super::model::PeriodMode;
use crate::clock::cst;
use crate::school::calendar::TermCalendar;

/// The school's meal rules as stored.
#[derive(Debug, Clone)]
pub struct Rules {
    pub mode: PeriodMode,
    pub opens_days_before: i32,
    pub closes_days_before: i32,
    pub stop_cutoff: NaiveTime,
    pub hold_minutes: i32,
}

/// One term: its id, name and calendar.
pub type Term = (i64, String, TermCalendar);

/// What the canteen knows of the days: the terms' calendars and the excluded dates.
#[derive(Debug, Clone, Default)]
pub struct ServingCalendar {
    pub terms: Vec<Term>,
    /// day → why the canteen does not serve
    pub excluded: HashMap<NaiveDate, String>,
}

/// An ordering period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub label: String,
}

/// The window a period is ordered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

impl Window {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.opens_at <= t && t < self.closes_at
    }
}

/// The instant a Beijing day starts.
pub fn day_start(d: NaiveDate) -> DateTime<Utc> {
    cst()
        .from_local_datetime(&d.and_time(NaiveTime::MIN))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
}

impl ServingCalendar {
    /// Whether the canteen serves on `d`, and if not, why (the calendar's name for the day,
    /// or the canteen's reason).
    pub fn day(&self, d: NaiveDate) -> (bool, String) {
        let Some((_, _, cal)) = self
            .terms
            .iter()
            .find(|(_, _, c)| c.starts_on <= d && d <= c.ends_on)
        else {
            return (false, "学期外".into());
        };
        let (kind, name) = cal.day(d);
        if !kind.is_school_day() {
            return (false, name.unwrap_or(kind.label()).to_string());
        }
        if let Some(reason) = self.excluded.get(&d) {
            return (false, format!("食堂不供餐：{reason}"));
        }
        (true, name.unwrap_or(kind.label()).to_string())
    }

    pub fn serves(&self, d: NaiveDate) -> bool {
        self.day(d).0
    }

    /// The served days of a period, ascending.
    pub fn served_days(&self, p: &Period) -> Vec<NaiveDate> {
        p.starts_on
            .iter_days()
            .take_while(|d| *d <= p.ends_on)
            .filter(|d| self.serves(*d))
            .collect()
    }

    /// The periods whose window is open at `now` or opens within the next `ahead` days,
    /// earliest first: the current and next two months, or the terms.
    pub fn periods_near(&self, rules: &Rules, now: DateTime<Utc>) -> Vec<Period> {
        let today = now.with_timezone(&cst()).date_naive();
        let candidates: Vec<Period> = match rules.mode {
            PeriodMode::Month => (0..3).filter_map(|k| month_period(today, k)).collect(),
            PeriodMode::Term => self
                .terms
                .iter()
                .map(|(_, name, c)| Period {
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                    label: name.clone(),
                })
                .collect(),
        };
        candidates
            .into_iter()
            .filter(|p| window(rules, p).closes_at > now && p.ends_on >= today)
            .collect()
    }

    /// The period starting on `starts_on`, if it is one under the rules.
    pub fn period_at(&self, rules: &Rules, starts_on: NaiveDate) -> Option<Period> {
        match rules.mode {
            PeriodMode::Month => (starts_on.day() == 1).then(|| month(starts_on)).flatten(),
            PeriodMode::Term => self
                .terms
                .iter()
                .find(|(_, _, c)| c.starts_on == starts_on)
                .map(|(_, name, c)| Period {
                    starts_on: c.starts_on,
                    ends_on: c.ends_on,
                    label: name.clone(),
                }),
        }
    }
}

fn month(first: NaiveDate) -> Option<Period> {
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some(Period {
        starts_on: first,
        ends_on: next - Duration::days(1),
        label: format!("{}年{}月", first.year(), first.month()),
    })
}

/// The month `k` months after the one of `today`.
fn month_period(today: NaiveDate, k: u32) -> Option<Period> {
    let m0 = today.year() * 12 + today.month0() as i32 + k as i32;
    month(NaiveDate::from_ymd_opt(m0 / 12, (m0 % 12) as u32 + 1, 1)?)
}

/// The ordering window of a period under the rules.
pub fn window(rules: &Rules, p: &Period) -> Window {
    let opens = p.starts_on - Duration::days(i64::from(rules.opens_days_before));
    let closes = p.starts_on - Duration::days(i64::from(rules.closes_days_before) - 1);
    Window {
        opens_at: day_start(opens),
        closes_at: day_start(closes),
    }
}

/// The last instant a stop of `day` can be registered: the cut-off time on the day before.
pub fn stop_deadline(rules: &Rules, day: NaiveDate) -> DateTime<Utc> {
    let before = day - Duration::days(1);
    cst()
        .from_local_datetime(&before.and_time(rules.stop_cutoff))
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| day_start(day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::school::calendar::DayKind;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn autumn() -> ServingCalendar {
        let mut exceptions = HashMap::new();
        for day in d("2026-10-01").iter_days().take(7) {
            exceptions.insert(day, (DayKind::Holiday, "国庆节".to_string()));
        }
        exceptions.insert(d("2026-10-10"), (DayKind::Makeup, "国庆调休上课".into()));
        let cal = TermCalendar {
            starts_on: d("2026-09-01"),
            ends_on: d("2027-01-20"),
            teaching_weekdays: vec![1, 2, 3, 4, 5],
            exceptions,
        };
        let mut excluded = HashMap::new();
        excluded.insert(d("2026-10-16"), "食堂检修".to_string());
        ServingCalendar {
            terms: vec![(1, "2026年秋季学期".into(), cal)],
            excluded,
        }
    }

    fn rules(mode: PeriodMode) -> Rules {
        Rules {
            mode,
            opens_days_before: 15,
            closes_days_before: 1,
            stop_cutoff: NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            hold_minutes: 120,
        }
    }

    #[test]
    fn served_days_follow_the_calendar_and_the_canteen() {
        let c = autumn();
        let oct = c
            .period_at(&rules(PeriodMode::Month), d("2026-10-01"))
            .unwrap();
        assert_eq!(oct.ends_on, d("2026-10-31"));
        let days = c.served_days(&oct);
        // 22 weekdays, 5 in the 国庆 week, +1 make-up Saturday, -1 excluded.
        assert_eq!(days.len(), 22 - 5 + 1 - 1);
        assert!(days.contains(&d("2026-10-10")));
        assert!(!days.contains(&d("2026-10-16")));
        assert_eq!(c.day(d("2026-10-02")).1, "国庆节");
        assert!(c.day(d("2026-10-16")).1.contains("检修"));
        assert!(!c.serves(d("2026-08-31")));
    }

    #[test]
    fn the_window_closes_at_the_end_of_the_day_before() {
        let p = autumn()
            .period_at(&rules(PeriodMode::Month), d("2026-11-01"))
            .unwrap();
        let w = window(&rules(PeriodMode::Month), &p);
        assert_eq!(w.opens_at, day_start(d("2026-10-17")));
        assert_eq!(w.closes_at, day_start(d("2026-11-01")));
        assert!(w.contains(day_start(d("2026-10-31"))));
        assert!(!w.contains(day_start(d("2026-11-01"))));
    }

    #[test]
    fn only_month_starts_or_term_starts_are_periods() {
        let c = autumn();
        assert!(c
            .period_at(&rules(PeriodMode::Month), d("2026-11-02"))
            .is_none());
        assert!(c
            .period_at(&rules(PeriodMode::Term), d("2026-11-01"))
            .is_none());
        let t = c
            .period_at(&rules(PeriodMode::Term), d("2026-09-01"))
            .unwrap();
        assert_eq!(t.label, "2026年秋季学期");
        let dec = month_period(d("2026-12-15"), 1).unwrap();
        assert_eq!(
            (dec.starts_on, dec.ends_on),
            (d("2027-01-01"), d("2027-01-31"))
        );
    }

    #[test]
    fn a_stop_is_due_by_the_cutoff_on_the_day_before() {
        let t = stop_deadline(&rules(PeriodMode::Month), d("2026-10-13"));
        assert_eq!(
            t.with_timezone(&cst()).format("%F %H:%M").to_string(),
            "2026-10-12 15:00"
        );
    }
}
