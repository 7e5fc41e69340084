//! Booking rules (R-P02, R-P03, R-P04, R-P11, R-P12): what a child may book, the clash
//! check against everything the child already holds, the seat taken with one guarded
//! update (capacity is never exceeded), the hold until payment and its expiry.
//!
//! Must never trust a student id from the request: every parent action starts from
//! `repo::own_child`, which answers only for children the caller is a guardian of.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::json;

use super::model::*;
use super::repo::{self, EnrollmentRow, Hold};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::AuthContext;
use crate::courses::repo::{self as courses, CourseRow};
use crate::error::{ApiError, ErrorKind};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;

fn child_not_found(id: i64) -> ApiError {
    // The same answer for "no such child" and "not your child": ids do not leak.
    ApiError::new(
        ErrorKind::NotFound,
        "CHILD_NOT_FOUND",
        "找不到该孩子，或您不是该孩子的家长",
        json!({ "student_id": id }),
    )
}

pub const WEEKDAY_ZH: [&str; 8] = ["", "周一", "周二", "周三", "周四", "周五", "周六", "周日"];

/// "周一、周三" for `[1, 3]`.
pub fn weekdays_zh(days: &[i16]) -> String {
    days.iter()
        .filter_map(|d| WEEKDAY_ZH.get(*d as usize))
        .copied()
        .collect::<Vec<_>>()
        .join("、")
}

/// (id, name, grade level) of the caller's own child.
pub async fn own_child(
    tx: &mut TenantTx,
    auth: &AuthContext,
    student_id: i64,
) -> Result<(i64, String, i16), ApiError> {
    repo::own_child(tx.conn(), student_id, auth.account_id)
        .await?
        .ok_or_else(|| child_not_found(student_id))
}

/// Checks one course against the rules of booking for this child at `now`.
pub fn check_bookable(c: &CourseRow, level: i16, now: DateTime<Utc>) -> Result<(), ApiError> {
    if c.status != "published" {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "COURSE_NOT_OPEN",
            format!("“{}”未发布或已停止报名", c.name),
            json!({ "course_id": c.id }),
        ));
    }
    if now < c.reg_opens_at || now >= c.reg_closes_at {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "ENROLL_OUTSIDE_WINDOW",
            format!(
                "“{}”的报名时间为 {} 至 {}",
                c.name,
                c.reg_opens_at
                    .with_timezone(&crate::clock::cst())
                    .format("%Y-%m-%d %H:%M"),
                c.reg_closes_at
                    .with_timezone(&crate::clock::cst())
                    .format("%Y-%m-%d %H:%M")
            ),
            json!({ "course_id": c.id, "opens_at": c.reg_opens_at, "closes_at": c.reg_closes_at }),
        ));
    }
    if !c.eligible_levels.contains(&level) {
        return Err(ApiError::new(
            ErrorKind::Unprocessable,
            "ENROLL_NOT_ELIGIBLE",
            format!("“{}”不面向孩子所在年级开放", c.name),
            json!({ "course_id": c.id, "eligible_levels": c.eligible_levels }),
        ));
    }
    Ok(())
}

/// The refusal of a course that does not exist or is not open to the caller.
pub(crate) fn course_not_found(course_id: i64) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "COURSE_NOT_FOUND",
        "找不到该课程",
        json!({ "course_id": course_id }),
    )
}

/// Books `course_id` for the caller's child: the course itself, or every sub-item of a
/// series course, all or nothing. Returns the held enrollments.
pub async fn book(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    student_id: i64,
    course_id: i64,
) -> Result<Vec<EnrollmentView>, ApiError> {
    let now = st.clock.now();
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let (course, subs) = courses::course_with_items(tx.conn(), course_id)
        .await?
        .ok_or_else(|| course_not_found(course_id))?;
    let items = if subs.is_empty() { vec![course] } else { subs };
    let mut out = Vec::with_capacity(items.len());
    for c in &items {
        check_bookable(c, level, now)?;
        if c.allocation == "lottery" {
            return Err(ApiError::new(
                ErrorKind::Unprocessable,
                "LOTTERY_APPLY_INSTEAD",
                format!("“{}”名额以抽签分配，请在报名期内提交抽签申请", c.name),
                json!({ "course_id": c.id }),
            ));
        }
        if let Some(k) = clashes_of(tx, student, c, now).await?.into_iter().next() {
            return Err(ApiError::new(
                ErrorKind::Conflict,
                "ENROLL_TIME_CONFLICT",
                k.message.clone(),
                json!({
                    "course_id": c.id,
                    "conflicts_with": { "course_id": k.with_course_id, "name": k.with_course_name,
                        "weekdays": k.weekdays, "starts_at": k.starts_at, "ends_at": k.ends_at },
                }),
            ));
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
                return Err(ApiError::new(
                    ErrorKind::Conflict,
                    "ENROLL_FULL",
                    format!("“{}”名额已满，可加入候补名单", c.name),
                    json!({ "course_id": c.id, "waitlist": true }),
                ))
            }
            Hold::Duplicate => {
                return Err(ApiError::new(
                    ErrorKind::Conflict,
                    "ENROLL_DUPLICATE",
                    format!("孩子已报名“{}”，无需重复报名", c.name),
                    json!({ "course_id": c.id }),
                ))
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
) -> Result<Vec<ClashView>, ApiError> {
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
) -> Result<Vec<ClashView>, ApiError> {
    let now = st.clock.now();
    let (student, _, _) = own_child(tx, auth, student_id).await?;
    let (course, subs) = courses::course_with_items(tx.conn(), course_id)
        .await?
        .filter(|(c, _)| c.status == "published")
        .ok_or_else(|| course_not_found(course_id))?;
    let items = if subs.is_empty() { vec![course] } else { subs };
    let mut out = Vec::new();
    for c in &items {
        out.extend(clashes_of(tx, student, c, now).await?);
    }
    Ok(out)
}

/// What the row means at `now`: a hold past its expiry is shown as expired even before the
/// sweep writes it.
pub fn view(r: EnrollmentRow, now: DateTime<Utc>) -> EnrollmentView {
    let status = match (r.status.as_str(), r.hold_expires_at) {
        ("held", Some(t)) if t <= now => "expired".to_string(),
        _ => r.status.clone(),
    };
    EnrollmentView {
        status_label: status_label(&status).into(),
        status,
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

fn status_label(s: &str) -> &'static str {
    match s {
        "held" => "待支付（名额保留中）",
        "confirmed" => "已报名",
        "expired" => "已过期（未支付）",
        "cancelled" => "已取消",
        "withdrawn" => "已退课",
        _ => "未知",
    }
}

/// The parent lets go of a booking that is not paid yet; the seat goes back at once.
pub async fn cancel_hold(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    enrollment_id: i64,
) -> Result<(), ApiError> {
    let now = st.clock.now();
    let not_found = || {
        ApiError::new(
            ErrorKind::NotFound,
            "ENROLLMENT_NOT_FOUND",
            "找不到该报名记录",
            json!({ "id": enrollment_id }),
        )
    };
    let r = repo::enrollment(tx.conn(), enrollment_id)
        .await?
        .ok_or_else(not_found)?;
    own_child(tx, auth, r.student_id)
        .await
        .map_err(|_| not_found())?;
    if r.status != "held" {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "ENROLLMENT_NOT_HELD",
            "只能取消待支付的报名；已报名的课程请提交退课申请",
            json!({ "id": enrollment_id, "status": r.status }),
        ));
    }
    if repo::end(tx.conn(), r.id, "cancelled", "家长取消", now).await? {
        repo::give_seat_back(tx.conn(), r.course_id).await?;
        sqlx::query(
            "update waitlist set status = 'left', updated_at = $2 where enrollment_id = $1",
        )
        .bind(r.id)
        .bind(now)
        .execute(tx.conn())
        .await?;
        super::waitlist::promote(tx.conn(), r.course_id, now).await?;
    }
    tx.audit(
        st,
        auth,
        AuditEvent::new(
            "enrollment.cancel",
            format!("enrollment:{}", r.id),
            Outcome::Success,
        ),
    )
    .await
}

/// Confirms a held booking once it is paid (the payments issue calls this; a school admin
/// may record an offline payment through the API). A hold that ran out is refused.
pub async fn confirm(
    st: &Ctx,
    auth: &AuthContext,
    tx: &mut TenantTx,
    enrollment_id: i64,
) -> Result<EnrollmentView, ApiError> {
    let now = st.clock.now();
    let r = repo::enrollment(tx.conn(), enrollment_id)
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorKind::NotFound,
                "ENROLLMENT_NOT_FOUND",
                "找不到该报名记录",
                json!({ "id": enrollment_id }),
            )
        })?;
    if !repo::confirm(tx.conn(), r.id, now).await? {
        let expired = r.status == "held" || r.status == "expired";
        return Err(ApiError::new(
            ErrorKind::Conflict,
            if expired {
                "HOLD_EXPIRED"
            } else {
                "ENROLLMENT_NOT_HELD"
            },
            if expired {
                "名额保留已超时，请重新报名"
            } else {
                "该报名不在待支付状态"
            },
            json!({ "id": enrollment_id, "status": r.status }),
        ));
    }
    sqlx::query(
        "update waitlist set status = 'accepted', updated_at = $2 where enrollment_id = $1",
    )
    .bind(r.id)
    .bind(now)
    .execute(tx.conn())
    .await?;
    let row = repo::enrollment(tx.conn(), r.id)
        .await?
        .ok_or_else(|| ApiError::internal("confirmed enrollment vanished"))?;
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
) -> Result<Vec<OfferView>, ApiError> {
    let (student, _, level) = own_child(tx, auth, student_id).await?;
    let now = st.clock.now();
    let today = st.clock.today();
    let rows = repo::offers(tx.conn(), level, student, today, now).await?;
    let calendars = super::staff::calendars(tx).await?;
    let mut out: Vec<OfferView> = rows
        .into_iter()
        .map(|r| {
            // Custody is charged per served day still to come (the order charges the same).
            let served_days = (r.pricing == "per_day").then(|| {
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
            booked: r.booked,
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
            let held = mine.iter().any(|u| u.1.as_deref() == Some("held"));
            Some(if held { "held" } else { "confirmed" }.to_string())
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
) -> Result<Vec<EnrollmentView>, ApiError> {
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
) -> Result<TimetableView, ApiError> {
    let (student, name, _) = own_child(tx, auth, student_id).await?;
    let now = st.clock.now();
    let today = st.clock.today();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let live: Vec<EnrollmentView> = repo::of_student(tx.conn(), student)
        .await?
        .into_iter()
        .map(|r| view(r, now))
        .filter(|e| e.status == "held" || e.status == "confirmed")
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
                label: WEEKDAY_ZH[wd as usize].to_string(),
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
