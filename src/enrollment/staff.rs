//! What school staff see of enrollment: the enrollment status of the children in their
//! classes (R-T03), the after-school sessions of a day with their headcounts (R-T04), and
//! a teacher's own teaching timetable (R-T02).
//!
//! Read-only. Must never show a child outside the caller's class scope
//! ([`crate::people::service::scope`]): a homeroom teacher sees and counts the children of
//! the classes they lead, a school admin the whole school.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, NaiveDate, NaiveTime};

use super::error::EnrollmentError;
use super::model::*;
use super::repo::staff as repo;
use crate::auth::model::AuthContext;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::service::{self as people, Scope};
use crate::school::calendar::{DayKind, TermCalendar};

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn schedule(days: &[i16], from: NaiveTime, to: NaiveTime) -> String {
    let names = weekdays_zh(days);
    format!("{names} {}–{}", hm(from), hm(to))
}

// ---- R-T03 -------------------------------------------------------------------------------

/// Live enrollments of the children in scope, optionally of one course or one class. A
/// course shows when a child in scope holds a place in it, or when it was asked for.
pub async fn enrollment_status(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    course_id: Option<i64>,
    class_id: Option<i64>,
) -> Result<EnrollmentStatusView, EnrollmentError> {
    let now = st.clock.now();
    let scope = people::scope(st, auth, tx).await?;
    let rows = repo::live_enrollments(tx.conn(), scope.classes(), course_id, class_id, now).await?;
    let mut ids: Vec<i64> = rows.iter().map(|r| r.course_id).collect();
    ids.extend(course_id);
    ids.sort_unstable();
    ids.dedup();
    let mut by_course: HashMap<i64, Vec<EnrolledStudent>> = HashMap::new();
    for r in rows {
        by_course
            .entry(r.course_id)
            .or_default()
            .push(EnrolledStudent {
                status_label: if r.status == EnrollmentStatus::Held {
                    "待支付"
                } else {
                    "已报名"
                }
                .into(),
                enrollment_id: r.enrollment_id,
                student_id: r.student_id,
                name: r.student_name,
                class_id: r.class_id,
                class_name: r.class_name,
                class_alias: r.class_alias,
                status: r.status.as_str().into(),
                hold_expires_at: r.hold_expires_at,
            });
    }
    let mut out = EnrollmentStatusView {
        held: 0,
        confirmed: 0,
        courses: Vec::new(),
    };
    for c in repo::courses_by_id(tx.conn(), &ids).await? {
        let students = by_course.remove(&c.id).unwrap_or_default();
        let held = students
            .iter()
            .filter(|s| s.status == EnrollmentStatus::Held.as_str())
            .count() as i64;
        let confirmed = students.len() as i64 - held;
        out.held += held;
        out.confirmed += confirmed;
        out.courses.push(CourseEnrollmentStatus {
            schedule: schedule(&c.weekdays, c.starts_at, c.ends_at),
            course_id: c.id,
            code: c.code,
            name: c.name,
            class_type: c.class_type,
            course_status: c.status,
            venue: c.venue,
            capacity: c.capacity,
            taken: c.taken,
            held,
            confirmed,
            students,
        });
    }
    Ok(out)
}

// ---- R-T04 -------------------------------------------------------------------------------

/// Whether a course meeting on `d`'s weekday runs that day by its term's calendar: on the
/// term's teaching weekdays only when school runs (not on holidays or closures, not
/// outside the term); on the other days (weekend courses) unless a holiday or closure
/// falls on it.
pub fn session_runs(cal: &TermCalendar, d: NaiveDate) -> bool {
    let (kind, _) = cal.day(d);
    match cal.weekly_kind(d) {
        DayKind::Weekend => !matches!(kind, DayKind::Holiday | DayKind::Closure),
        _ => kind.is_school_day(),
    }
}

/// Every term's calendar as stored now, by term id.
pub(crate) async fn calendars(
    tx: &mut TenantTx,
) -> Result<Vec<(i64, TermCalendar)>, EnrollmentError> {
    let mut out = Vec::new();
    for t in crate::school::lookup::terms(tx.conn()).await? {
        let cal = crate::school::service::term_calendar(tx, &t).await?;
        out.push((t.id, cal));
    }
    Ok(out)
}

/// The sessions of `date` (today when `None`): published courses meeting that weekday
/// within their dates on a day their term's calendar lets them run, with the confirmed
/// headcount of the children in scope. A homeroom teacher sees the sessions their
/// children attend; an admin every session.
pub async fn sessions(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    date: Option<NaiveDate>,
) -> Result<SessionsView, EnrollmentError> {
    let d = date.unwrap_or_else(|| st.clock.today());
    let weekday = d.weekday().number_from_monday() as i16;
    let scope = people::scope(st, auth, tx).await?;
    let cals = calendars(tx).await?;
    let (day_kind, day_label) = cals
        .iter()
        .map(|(_, c)| c.day(d))
        .find(|(k, _)| *k != DayKind::OutsideTerm)
        .map(|(k, name)| (k, name.unwrap_or(k.label()).to_string()))
        .unwrap_or((
            DayKind::OutsideTerm,
            DayKind::OutsideTerm.label().to_string(),
        ));
    let runs: HashSet<i64> = cals
        .iter()
        .filter(|(_, c)| session_runs(c, d))
        .map(|(id, _)| *id)
        .collect();
    let courses: Vec<SessionRow> = repo::sessions_on(tx.conn(), d, weekday)
        .await?
        .into_iter()
        .filter(|c| runs.contains(&c.term_id))
        .collect();
    let ids: Vec<i64> = courses.iter().map(|c| c.id).collect();
    let seats = repo::confirmed_in(tx.conn(), &ids, scope.classes()).await?;
    let mut heads: HashMap<i64, i64> = HashMap::new();
    let mut children = HashSet::new();
    for (course, student) in &seats {
        *heads.entry(*course).or_default() += 1;
        children.insert(*student);
    }
    let items: Vec<SessionView> = courses
        .into_iter()
        .map(|c| SessionView {
            headcount: heads.get(&c.id).copied().unwrap_or(0),
            course_id: c.id,
            code: c.code,
            name: c.name,
            class_type: c.class_type,
            category: c.category,
            starts_at: hm(c.starts_at),
            ends_at: hm(c.ends_at),
            venue: c.venue,
            teachers: c.teachers,
            capacity: c.capacity,
        })
        .filter(|s| matches!(scope, Scope::All) || s.headcount > 0)
        .collect();
    Ok(SessionsView {
        date: d,
        weekday,
        day_kind: day_kind.as_str().into(),
        day_label,
        sessions: items.len() as i64,
        children: children.len() as i64,
        enrollments: items.iter().map(|s| s.headcount).sum(),
        items,
    })
}

// ---- R-T02 -------------------------------------------------------------------------------

/// The courses the caller teaches (as a staff member with the account's phone), published
/// and not yet ended, by weekday and time.
pub async fn my_timetable(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
) -> Result<TeachingTimetableView, EnrollmentError> {
    let hash = crate::people::service::caller_phone_hash(tx, auth.account_id).await?;
    let teacher_name = repo::staff_name(tx.conn(), &hash).await?;
    let rows = repo::taught(tx.conn(), &hash, st.clock.today()).await?;
    let mut by_day: BTreeMap<i16, Vec<TeachingSlot>> = (1..=7).map(|d| (d, Vec::new())).collect();
    for r in rows {
        for wd in &r.weekdays {
            if let Some(slots) = by_day.get_mut(wd) {
                slots.push(TeachingSlot {
                    course_id: r.id,
                    code: r.code.clone(),
                    name: r.name.clone(),
                    class_type: r.class_type.clone(),
                    starts_at: hm(r.starts_at),
                    ends_at: hm(r.ends_at),
                    starts_on: r.starts_on,
                    ends_on: r.ends_on,
                    venue: r.venue.clone(),
                    headcount: r.headcount,
                });
            }
        }
    }
    Ok(TeachingTimetableView {
        teacher_name,
        days: by_day
            .into_iter()
            .map(|(weekday, mut slots)| {
                slots.sort_by(|a, b| (&a.starts_at, &a.name).cmp(&(&b.starts_at, &b.name)));
                TeachingDay {
                    weekday,
                    label: weekday_label(weekday).into(),
                    slots,
                }
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn autumn() -> TermCalendar {
        let mut exceptions = HashMap::new();
        exceptions.insert(d("2026-10-01"), (DayKind::Holiday, "国庆节".to_string()));
        exceptions.insert(d("2026-10-03"), (DayKind::Holiday, "国庆节".to_string()));
        exceptions.insert(d("2026-10-10"), (DayKind::Makeup, "调休上课".to_string()));
        exceptions.insert(d("2026-10-16"), (DayKind::Closure, "台风停课".to_string()));
        TermCalendar {
            starts_on: d("2026-09-01"),
            ends_on: d("2027-01-22"),
            teaching_weekdays: vec![1, 2, 3, 4, 5],
            exceptions,
        }
    }

    #[test]
    fn weekday_sessions_follow_the_school_days_and_weekend_ones_skip_holidays_only() {
        let c = autumn();
        assert!(session_runs(&c, d("2026-10-12"))); // Monday, teaching
        assert!(!session_runs(&c, d("2026-10-01"))); // Thursday, 国庆
        assert!(!session_runs(&c, d("2026-10-16"))); // Friday, closure
        assert!(session_runs(&c, d("2026-10-17"))); // Saturday
        assert!(!session_runs(&c, d("2026-10-03"))); // Saturday, 国庆
        assert!(session_runs(&c, d("2026-10-10"))); // Saturday, make-up day
        assert!(!session_runs(&c, d("2027-02-01"))); // after the term
    }
}
