//! The term calendar rule: a day is taught when it falls in the term on a teaching weekday
//! and is not a holiday or closure, or when it is a make-up day (调休上课). The one source
//! for which days custody and meals run and are charged.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

use crate::text_enum;

text_enum! {
    /// What a day of the calendar is; an exception ([`super::model::ExceptionKind`]) makes a
    /// day a holiday, closure or make-up day.
    pub enum DayKind {
        Teaching = "teaching" => "上课日",
        Makeup = "makeup" => "调休上课",
        Holiday = "holiday" => "放假",
        Closure = "closure" => "停课",
        Weekend = "weekend" => "休息日",
        OutsideTerm = "outside_term" => "学期外",
    }
}

impl DayKind {
    /// Whether school (and so custody and meals) runs that day.
    pub fn is_school_day(self) -> bool {
        matches!(self, DayKind::Teaching | DayKind::Makeup)
    }
}

#[derive(Debug, Clone)]
pub struct TermCalendar {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub teaching_weekdays: Vec<i16>,
    /// day → (kind, name); kinds are Holiday, Closure or Makeup.
    pub exceptions: HashMap<NaiveDate, (DayKind, String)>,
}

impl TermCalendar {
    pub fn day(&self, d: NaiveDate) -> (DayKind, Option<&str>) {
        if d < self.starts_on || d > self.ends_on {
            return (DayKind::OutsideTerm, None);
        }
        if let Some((kind, name)) = self.exceptions.get(&d) {
            return (*kind, Some(name.as_str()));
        }
        (self.weekly_kind(d), None)
    }

    /// What the weekly rule alone makes of `d` (Teaching, Weekend or OutsideTerm), whatever
    /// exception it may carry: the base an exception is checked against.
    pub fn weekly_kind(&self, d: NaiveDate) -> DayKind {
        if d < self.starts_on || d > self.ends_on {
            return DayKind::OutsideTerm;
        }
        let wd = d.weekday().number_from_monday() as i16;
        if self.teaching_weekdays.contains(&wd) {
            DayKind::Teaching
        } else {
            DayKind::Weekend
        }
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.starts_on
            .iter_days()
            .take_while(move |d| *d <= self.ends_on)
    }

    pub fn school_days(&self) -> usize {
        self.days()
            .filter(|d| self.day(*d).0.is_school_day())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn autumn_2026() -> TermCalendar {
        let mut exceptions = HashMap::new();
        for day in d("2026-10-01").iter_days().take(7) {
            exceptions.insert(day, (DayKind::Holiday, "国庆节".to_string()));
        }
        exceptions.insert(
            d("2026-10-10"),
            (DayKind::Makeup, "国庆调休上课".to_string()),
        );
        TermCalendar {
            starts_on: d("2026-09-01"),
            ends_on: d("2026-10-31"),
            teaching_weekdays: vec![1, 2, 3, 4, 5],
            exceptions,
        }
    }

    #[test]
    fn holidays_and_makeup_days_override_the_weekly_rule() {
        let c = autumn_2026();
        assert_eq!(c.day(d("2026-09-01")).0, DayKind::Teaching); // Tuesday
        assert_eq!(c.day(d("2026-09-05")).0, DayKind::Weekend); // Saturday
        assert_eq!(c.day(d("2026-10-01")).0, DayKind::Holiday); // Thursday, 国庆
        assert_eq!(c.day(d("2026-10-10")).0, DayKind::Makeup); // Saturday, 调休
        assert!(c.day(d("2026-10-10")).0.is_school_day());
        assert_eq!(c.day(d("2026-11-02")).0, DayKind::OutsideTerm);
    }

    #[test]
    fn the_weekly_rule_ignores_exceptions() {
        let c = autumn_2026();
        assert_eq!(c.weekly_kind(d("2026-10-01")), DayKind::Teaching); // 国庆 holiday
        assert_eq!(c.weekly_kind(d("2026-10-10")), DayKind::Weekend); // 调休 Saturday
        assert_eq!(c.weekly_kind(d("2026-08-31")), DayKind::OutsideTerm);
    }

    #[test]
    fn school_days_count_weekdays_minus_holidays_plus_makeups() {
        let c = autumn_2026();
        // Sep 2026: 22 weekdays; Oct 2026: 22 weekdays, 5 of them in the 国庆 week (1,2,5,6,7);
        // plus the one make-up Saturday.
        assert_eq!(c.school_days(), 22 + 22 - 5 + 1);
    }
}
