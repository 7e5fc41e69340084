//! Booking rules (R-P02, R-P03, R-P04, R-P11, R-P12): what a child may book, the clash
//! check against everything the child already holds, the seat taken with one guarded
//! update (capacity is never exceeded), the hold until payment and its expiry.
//!
//! Must never trust a student id from the request: every parent action starts from
//! `repo::own_child`, which answers only for children the caller is a guardian of.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::json;

use super::error::EnrollmentError;
use super::model::*;
use super::repo::{self, waitlist as line, EnrollmentRow, Hold};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::lookup::{self as courses, CourseRow};
use crate::courses::model::{CourseAllocation, CoursePricing, CourseStatus};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;

/// (id, name, grade level) of the caller's own child.
pub async fn own_child(
    tx: &mut TenantTx,
    auth: &AuthContext,
    student_id: i64,
) -> Result<(i64, String, i16), EnrollmentError> {
    // The same answer for "no such child" and "not your child": ids do not leak.
    repo::own_child(tx.conn(), student_id, auth.account_id)
        .await?
        .ok_or(EnrollmentError::ChildNotFound { student_id })
}

/// Checks one course against the rules of booking for this child at `now`.
pub fn check_bookable(
    c: &CourseRow,
    level: i16,
    now: DateTime<Utc>,
) -> Result<(), EnrollmentError> {
    if c.course_status() != CourseStatus::Published {
        return Err(EnrollmentError::CourseNotOpen {
            course_id: c.id,
            name: c.name.clone(),
        });
    }
    if now < c.reg_opens_at || now >= c.reg_closes_at {
        return Err(EnrollmentError::OutsideWindow {
            course_id: c.id,
            name: c.name.clone(),
            opens_at: c.reg_opens_at,
            closes_at: c.reg_closes_at,
        });
    }
    if !c.eligible_levels.contains(&level) {
        return Err(EnrollmentError::NotEligible {
            course_id: c.id,
            name: c.name.clone(),
            eligible_levels: c.eligible_levels.clone(),
        });
    }
    Ok(())
}

/// Books `course_id` for the caller's child: the course itself, or every sub-item of a
/// series course, all or nothing. Returns the held enrollments.
pub async fn book(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    course_id: i64,
) -> Result<Vec<EnrollmentView>, EnrollmentError> {
    let now = st.clock.now();
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let (course, subs) = courses::course_with_items(tx.conn(), course_id)
        .await?
        .ok_or(EnrollmentError::CourseNotFound { course_id })?;
    let items = if subs.is_empty() { vec![course] } else { subs };
    let mut out = Vec::with_capacity(items.len());
    for c in &items {
        check_bookable(c, level, now)?;
        if c.course_allocation() == CourseAllocation::Lottery {
            return Err(EnrollmentError::LotteryApplyInstead {
                course_id: c.id,
                name: c.name.clone(),
            });
        }
        if let Some(clash) = clashes_of(tx, student, c, now).await?.into_iter().next() {
            return Err(EnrollmentError::TimeConflict {
                clash: Box::new(clash),
            });
        }
        // Stale holds are expired only when they stand in the way: a course with places
        // left has nobody waiting, so the common path skips that round trip.
        let expires = now + Duration::minutes(i64::from(c.hold_minutes));
        let by = auth.account_id;
        let mut held = repo::hold(tx.conn(), c.id, student, expires, by, now).await?;
        if matches!(held, Hold::Full)
            && super::waitlist::expire_and_promote(tx.conn(), c.id, now).await?
        {
            held = repo::hold(tx.conn(), c.id, student, expires, by, now).await?;
        }
        match held {
            Hold::Held(row) => out.push(view(*row, now)),
            Hold::Full => {
                return Err(EnrollmentError::Full {
                    course_id: c.id,
                    name: c.name.clone(),
                })
            }
            Hold::Duplicate => {
                return Err(EnrollmentError::Duplicate {
                    course_id: c.id,
                    name: c.name.clone(),
                })
            }
        }
    }
    let ids: Vec<i64> = out.iter().map(|e| e.id).collect();
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "enrollment.hold",
            format!("student:{student}"),
            Outcome::Success,
        )
        .details(json!({ "course_id": course_id, "enrollments": ids })),
    )
    .await?;
    Ok(out)
}

/// The child's live bookings that `c` would clash with, each explained.
async fn clashes_of(
    tx: &mut TenantTx,
    student: i64,
    c: &CourseRow,
    now: DateTime<Utc>,
) -> Result<Vec<ClashView>, EnrollmentError> {
    let found = repo::clashes(
        tx.conn(),
        student,
        &c.weekdays,
        c.starts_at,
        c.ends_at,
        c.starts_on,
        c.ends_on,
        now,
    )
    .await?;
    Ok(found
        .iter()
        .filter(|k| k.course_id != c.id)
        .map(|k| {
            let common: Vec<i16> = c
                .weekdays
                .iter()
                .copied()
                .filter(|d| k.weekdays.contains(d))
                .collect();
            let starts_at = k.starts_at.max(c.starts_at).format("%H:%M").to_string();
            let ends_at = k.ends_at.min(c.ends_at).format("%H:%M").to_string();
            ClashView {
                message: format!(
                    "时间冲突：“{}”与已报名的“{}”都在{} {starts_at}–{ends_at}",
                    c.name,
                    k.name,
                    weekdays_zh(&common),
                ),
                course_id: c.id,
                course_name: c.name.clone(),
                with_course_id: k.course_id,
                with_course_name: k.name.clone(),
                weekdays: common,
                starts_at,
                ends_at,
            }
        })
        .collect())
}

/// What booking `course_id` (every unit of a series) would clash with among the child's
/// live bookings (R-P03): the same check and words as [`book`], asked before booking.
pub async fn clashes(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    course_id: i64,
) -> Result<Vec<ClashView>, EnrollmentError> {
    let now = st.clock.now();
    let (student, _, _) = own_child(tx, auth, student_id).await?;
    let (course, subs) = courses::course_with_items(tx.conn(), course_id)
        .await?
        .filter(|(c, _)| c.course_status() == CourseStatus::Published)
        .ok_or(EnrollmentError::CourseNotFound { course_id })?;
    let items = if subs.is_empty() { vec![course] } else { subs };
    let mut out = Vec::new();
    for c in &items {
        out.extend(clashes_of(tx, student, c, now).await?);
    }
    Ok(out)
}

/// What the row's status means at `now`: a hold past its expiry is expired even before
/// the sweep writes it.
pub fn status_at(r: &EnrollmentRow, now: DateTime<Utc>) -> EnrollmentStatus {
    match (r.status, r.hold_expires_at) {
        (EnrollmentStatus::Held, Some(t)) if t <= now => EnrollmentStatus::Expired,
        (s, _) => s,
    }
}

/// The row as parents see it at `now` ([`status_at`]).
pub fn view(r: EnrollmentRow, now: DateTime<Utc>) -> EnrollmentView {
    let status = status_at(&r, now);
    EnrollmentView {
        status_label: status.label().into(),
        status: status.as_str().into(),
        id: r.id,
        course_id: r.course_id,
        course_name: r.course_name,
        class_type: r.class_type,
        student_id: r.student_id,
        hold_expires_at: r.hold_expires_at,
        created_at: r.created_at,
        confirmed_at: r.confirmed_at,
        ended_at: r.ended_at,
        end_reason: r.end_reason,
        weekdays: r.weekdays,
        starts_at: r.starts_at.format("%H:%M").to_string(),
        ends_at: r.ends_at.format("%H:%M").to_string(),
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        venue: r.venue,
    }
}

/// The parent lets go of a booking that is not paid yet; the seat goes back at once.
pub async fn cancel_hold(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    enrollment_id: i64,
) -> Result<(), EnrollmentError> {
    let now = st.clock.now();
    let not_found = || EnrollmentError::EnrollmentNotFound { id: enrollment_id };
    let r = repo::enrollment(tx.conn(), enrollment_id)
        .await?
        .ok_or_else(not_found)?;
    own_child(tx, auth, r.student_id)
        .await
        .map_err(|_| not_found())?;
    if r.status != EnrollmentStatus::Held {
        return Err(EnrollmentError::NotHeldToCancel {
            id: enrollment_id,
            status: r.status,
        });
    }
    if repo::end(
        tx.conn(),
        r.id,
        EnrollmentStatus::Cancelled,
        "家长取消",
        now,
    )
    .await?
    {
        repo::give_seat_back(tx.conn(), r.course_id).await?;
        line::leave_with(tx.conn(), r.id, now).await?;
        super::waitlist::promote(tx.conn(), r.course_id, now).await?;
    }
    Ok(tx
        .audit(
            st,
            auth,
            AuditEvent::new(
                "enrollment.cancel",
                format!("enrollment:{}", r.id),
                Outcome::Success,
            ),
        )
        .await?)
}

/// Confirms a held booking once it is paid (the payments issue calls this; a school admin
/// may record an offline payment through the API). A hold that ran out is refused.
pub async fn confirm(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    enrollment_id: i64,
) -> Result<EnrollmentView, EnrollmentError> {
    let now = st.clock.now();
    let r = repo::enrollment(tx.conn(), enrollment_id)
        .await?
        .ok_or(EnrollmentError::EnrollmentNotFound { id: enrollment_id })?;
    if !repo::confirm(tx.conn(), r.id, now).await? {
        let (id, status) = (enrollment_id, r.status);
        return Err(match status {
            EnrollmentStatus::Held | EnrollmentStatus::Expired => {
                EnrollmentError::HoldExpired { id, status }
            }
            _ => EnrollmentError::NotHeldToConfirm { id, status },
        });
    }
    line::accept_with(tx.conn(), r.id, now).await?;
    let row = repo::enrollment(tx.conn(), r.id)
        .await?
        .ok_or_else(|| EnrollmentError::Invariant("confirmed enrollment vanished".into()))?;
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "enrollment.confirm",
            format!("enrollment:{}", r.id),
            Outcome::Success,
        ),
    )
    .await?;
    Ok(view(row, now))
}

/// What the child may book (R-P02), with places left and whether it is booked already.
pub async fn offers(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<Vec<OfferView>, EnrollmentError> {
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let now = st.clock.now();
    let today = st.clock.today();
    let rows = repo::offers(tx.conn(), level, student, today, now).await?;
    let calendars = super::staff::calendars(tx).await?;
    let mut out: Vec<OfferView> = rows
        .into_iter()
        .map(|r| {
            // Custody is charged per served day still to come (the order charges the same).
            let per_day = CoursePricing::from_db(&r.pricing) == CoursePricing::PerDay;
            let served_days = per_day.then(|| {
                sessions_to_come(
                    &calendars,
                    r.term_id,
                    &r.weekdays,
                    r.starts_on,
                    r.ends_on,
                    today,
                )
            });
            let total = match served_days {
                Some(n) => r.price * rust_decimal::Decimal::from(n),
                None => r.price,
            };
            (r, served_days, total)
        })
        .map(|(r, served_days, total)| OfferView {
            served_days,
            total: format!("{total:.2}"),
            open: now >= r.reg_opens_at && now < r.reg_closes_at,
            id: r.id,
            code: r.code,
            parent_id: r.parent_id,
            class_type: r.class_type,
            name: r.name,
            category: r.category,
            intro: r.intro,
            schedule: format!(
                "{} {}–{}",
                weekdays_zh(&r.weekdays),
                r.starts_at.format("%H:%M"),
                r.ends_at.format("%H:%M")
            ),
            weekdays: r.weekdays,
            starts_at: r.starts_at.format("%H:%M").to_string(),
            ends_at: r.ends_at.format("%H:%M").to_string(),
            starts_on: r.starts_on,
            ends_on: r.ends_on,
            price: format!("{:.2}", r.price),
            pricing: r.pricing,
            reg_opens_at: r.reg_opens_at,
            reg_closes_at: r.reg_closes_at,
            remaining: r.remaining,
            venue: r.venue,
            teachers: r.teachers,
            booked: r.booked.map(|b| b.as_str().to_string()),
            units_booked: 0,
            units: 0,
            pictures: (0..r.picture_count)
                .map(|n| format!("/school/courses/{}/pictures/{n}", r.id))
                .collect(),
        })
        .collect();
    series_from_units(&mut out);
    Ok(out)
}

/// A series course is booked unit by unit (booking the series books every unit): its
/// state, places and price are its units'. Booked when every unit is (held while one still
/// waits for payment); places are those of the fullest unit, since the whole set needs one
/// in each; the price is what the units add up to, as the order charges.
fn series_from_units(offers: &mut [OfferView]) {
    let units: Vec<(i64, Option<String>, i32, rust_decimal::Decimal)> = offers
        .iter()
        .filter_map(|o| {
            let total = o.total.parse().unwrap_or_default();
            o.parent_id
                .map(|p| (p, o.booked.clone(), o.remaining, total))
        })
        .collect();
    for o in offers.iter_mut().filter(|o| o.parent_id.is_none()) {
        let mine: Vec<_> = units.iter().filter(|u| u.0 == o.id).collect();
        if mine.is_empty() {
            continue;
        }
        o.units = mine.len() as i32;
        o.units_booked = mine.iter().filter(|u| u.1.is_some()).count() as i32;
        o.booked = if o.units_booked == o.units {
            let held = mine
                .iter()
                .any(|u| u.1.as_deref() == Some(EnrollmentStatus::Held.as_str()));
            let status = if held {
                EnrollmentStatus::Held
            } else {
                EnrollmentStatus::Confirmed
            };
            Some(status.as_str().to_string())
        } else {
            None
        };
        o.remaining = mine.iter().map(|u| u.2).min().unwrap_or(0);
        let total: rust_decimal::Decimal = mine.iter().map(|u| u.3).sum();
        o.total = format!("{total:.2}");
    }
}

/// Sessions still to come of a course: its weekdays from `today` (or its start) to its end
/// on which its term's calendar lets it run (holidays and closures do not count). Custody
/// is charged for these and a course's money is released over them; offers and orders use
/// this one count.
pub fn sessions_to_come(
    calendars: &[(i64, crate::school::calendar::TermCalendar)],
    term_id: i64,
    weekdays: &[i16],
    starts_on: chrono::NaiveDate,
    ends_on: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> u32 {
    calendars
        .iter()
        .find(|(t, _)| *t == term_id)
        .map_or(0, |(_, cal)| {
            served_days(cal, weekdays, starts_on.max(today), ends_on)
        })
}

/// Days from `from` to `to` on one of `weekdays` that the calendar lets a session run.
pub fn served_days(
    cal: &crate::school::calendar::TermCalendar,
    weekdays: &[i16],
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> u32 {
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| weekdays.contains(&(d.weekday().number_from_monday() as i16)))
        .filter(|d| super::staff::session_runs(cal, *d))
        .count() as u32
}

/// Enrollment records of the child (R-P12), newest first.
pub async fn records(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<Vec<EnrollmentView>, EnrollmentError> {
    let (student, _, _) = own_child(tx, auth, student_id).await?;
    let now = st.clock.now();
    Ok(repo::of_student(tx.conn(), student)
        .await?
        .into_iter()
        .map(|r| view(r, now))
        .collect())
}

/// The child's weekly timetable (R-P11): live bookings by weekday and time, for the week
/// containing `today`.
pub async fn timetable(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
) -> Result<TimetableView, EnrollmentError> {
    let (student, name, _) = own_child(tx, auth, student_id).await?;
    let now = st.clock.now();
    let today = st.clock.today();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let live: Vec<EnrollmentView> = repo::of_student(tx.conn(), student)
        .await?
        .into_iter()
        .filter(|r| status_at(r, now).is_live())
        .map(|r| view(r, now))
        .collect();
    let days = (1..=7i16)
        .map(|wd| {
            let date = monday + Duration::days(i64::from(wd - 1));
            let mut slots: Vec<TimetableSlot> = live
                .iter()
                .filter(|e| e.weekdays.contains(&wd) && e.starts_on <= date && date <= e.ends_on)
                .map(|e| TimetableSlot {
                    enrollment_id: e.id,
                    course_name: e.course_name.clone(),
                    class_type: e.class_type.clone(),
                    starts_at: e.starts_at.clone(),
                    ends_at: e.ends_at.clone(),
                    venue: e.venue.clone(),
                    status: e.status.clone(),
                })
                .collect();
            slots.sort_by(|a, b| a.starts_at.cmp(&b.starts_at));
            TimetableDay {
                date,
                weekday: wd,
                label: weekday_label(wd).to_string(),
                slots,
            }
        })
        .collect();
    Ok(TimetableView {
        student_id: student,
        student_name: name,
        week_of: monday,
        days,
    })
}
