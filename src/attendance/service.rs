//! What teachers and admins do with sessions: check in, call the roll, see the day.
//! Every change is audited in its transaction; the messages a mark causes are outbox events
//! written in the same transaction, keyed by session, child and mark, so each goes once.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use sqlx::PgConnection;

use super::error::AttendanceError;
use super::model::*;
use super::repo::{self, CheckinRow, CourseRow, RulesRow};
use crate::audit::{AuditEvent, Outcome};
use crate::clock::cst;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::people::service::{self as people, Scope};
use crate::school::calendar::DayKind;

/// The courses someone checked in to on `day` (tenant role): the sessions the day close
/// may release a lesson's money for.
pub async fn delivered(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<Vec<i64>> {
    repo::delivered(c, day).await
}

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    course: i64,
    day: NaiveDate,
    details: serde_json::Value,
) -> Result<(), AttendanceError> {
    let ev = AuditEvent::new(action, format!("session:{course}:{day}"), Outcome::Success)
        .details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

fn at(day: NaiveDate, t: chrono::NaiveTime) -> DateTime<Utc> {
    cst()
        .from_local_datetime(&day.and_time(t))
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| day.and_time(t).and_utc())
}

/// Whether the course meets on `day` by its weekdays and dates; then whether the term's
/// calendar lets it run (`Err` with the reason when not).
pub(super) async fn runs(
    tx: &mut TenantTx,
    c: &CourseRow,
    day: NaiveDate,
) -> Result<(), AttendanceError> {
    let weekday = day.weekday().number_from_monday() as i16;
    if !c.weekdays.contains(&weekday) || day < c.starts_on || day > c.ends_on {
        return Err(AttendanceError::NoSession {
            course_id: c.id,
            day,
        });
    }
    let cals = crate::enrollment::staff::calendars(tx).await?;
    let Some((_, cal)) = cals.iter().find(|(t, _)| *t == c.term_id) else {
        return Err(AttendanceError::NoSession {
            course_id: c.id,
            day,
        });
    };
    if crate::enrollment::staff::session_runs(cal, day) {
        return Ok(());
    }
    let (kind, name) = cal.day(day);
    let reason = match kind {
        DayKind::Holiday | DayKind::Closure => name.unwrap_or(kind.label()).to_string(),
        _ => kind.label().to_string(),
    };
    Err(AttendanceError::SessionCancelled {
        course_id: c.id,
        day,
        reason,
    })
}

fn checkin_view(day: NaiveDate, k: &CheckinRow) -> CheckinView {
    CheckinView {
        course_id: k.course_id,
        day,
        teacher_name: k.teacher_name.clone(),
        checked_in_at: k.checked_in_at,
        late: k.late,
        distance_m: k.distance_m,
    }
}

/// The session of `c` on `day` with its check-ins and counts.
fn session_view(
    c: &CourseRow,
    day: NaiveDate,
    rules: &RulesRow,
    checkins: &[CheckinRow],
    counts: Option<(i64, i64, i64, i64)>,
    now: DateTime<Utc>,
) -> AttendanceSession {
    let starts = at(day, c.starts_at);
    let ends = at(day, c.ends_at);
    let late_after = starts + Duration::minutes(i64::from(rules.late_after_min));
    let mine: Vec<CheckinView> = checkins
        .iter()
        .filter(|k| k.course_id == c.id)
        .map(|k| checkin_view(day, k))
        .collect();
    let (expected, present, absent, marked) = counts.unwrap_or_default();
    AttendanceSession {
        course_id: c.id,
        day,
        name: c.name.clone(),
        class_type: c.class_type.clone(),
        venue: c.venue.clone(),
        time: format!(
            "{}–{}",
            c.starts_at.format("%H:%M"),
            c.ends_at.format("%H:%M")
        ),
        starts_at: starts,
        ends_at: ends,
        checkin_opens_at: starts - Duration::minutes(i64::from(rules.opens_before_min)),
        late_after,
        teachers: c.teachers.clone(),
        missed: mine.is_empty() && now > late_after,
        checkins: mine,
        expected,
        present,
        absent,
        marked,
    }
}

/// The caller as a staff member: (id, name); none is not a teacher of anything.
async fn caller_staff(
    tx: &mut TenantTx,
    who: &Actor<'_>,
) -> Result<Option<(i64, String)>, AttendanceError> {
    let hash = people::caller_phone_hash(tx, who.auth.account_id).await?;
    Ok(repo::staff_by_phone(tx.conn(), &hash).await?)
}

/// The caller's sessions of `day` (today when `None`) that run, by start time.
pub async fn my_sessions(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: Option<NaiveDate>,
) -> Result<Vec<AttendanceSession>, AttendanceError> {
    let day = day.unwrap_or_else(|| who.st.clock.today());
    let hash = people::caller_phone_hash(tx, who.auth.account_id).await?;
    let weekday = day.weekday().number_from_monday() as i16;
    let courses = repo::courses_on(tx.conn(), day, weekday, Some(&hash)).await?;
    sessions_of(tx, who, day, courses).await
}

/// The sessions of `courses` on `day` that the calendar lets run, with check-ins and counts.
async fn sessions_of(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: NaiveDate,
    courses: Vec<CourseRow>,
) -> Result<Vec<AttendanceSession>, AttendanceError> {
    let mut running = Vec::new();
    for c in courses {
        if runs(tx, &c, day).await.is_ok() {
            running.push(c);
        }
    }
    let ids: Vec<i64> = running.iter().map(|c| c.id).collect();
    let rules = repo::rules(tx.conn()).await?;
    let checkins = repo::checkins(tx.conn(), &ids, day, None).await?;
    let counts = repo::counts(tx.conn(), &ids, day).await?;
    let now = who.st.clock.now();
    Ok(running
        .iter()
        .map(|c| {
            let n = counts
                .iter()
                .find(|x| x.0 == c.id)
                .map(|x| (x.1, x.2, x.3, x.4));
            session_view(c, day, &rules, &checkins, n, now)
        })
        .collect())
}

/// Every session of the school on `day` (today when `None`), the missed ones flagged.
pub async fn day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: Option<NaiveDate>,
) -> Result<AttendanceDay, AttendanceError> {
    let day = day.unwrap_or_else(|| who.st.clock.today());
    let weekday = day.weekday().number_from_monday() as i16;
    let courses = repo::courses_on(tx.conn(), day, weekday, None).await?;
    let sessions = sessions_of(tx, who, day, courses).await?;
    Ok(AttendanceDay {
        day,
        missed: sessions.iter().filter(|s| s.missed).count() as i64,
        sessions,
    })
}

/// Metres between two points (haversine).
fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let r = 6_371_000.0_f64;
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = (b.0 - a.0).to_radians();
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

fn location(req: &CheckinRequest) -> Result<Option<(f64, f64)>, AttendanceError> {
    match (req.latitude, req.longitude) {
        (None, None) => Ok(None),
        (Some(la), Some(lo))
            if la.is_finite() && lo.is_finite() && la.abs() <= 90.0 && lo.abs() <= 180.0 =>
        {
            Ok(Some((la, lo)))
        }
        _ => Err(AttendanceError::LocationInvalid),
    }
}

/// One tap: the caller checks in to their session of `course` today.
pub async fn check_in(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    req: &CheckinRequest,
) -> Result<CheckinView, AttendanceError> {
    let loc = location(req)?;
    let c = repo::course(tx.conn(), course)
        .await?
        .ok_or(AttendanceError::NoSession {
            course_id: course,
            day,
        })?;
    let (staff, _) = caller_staff(tx, who)
        .await?
        .ok_or(AttendanceError::NotYourSession { course_id: course })?;
    if !repo::teaches(tx.conn(), course, staff).await? {
        return Err(AttendanceError::NotYourSession { course_id: course });
    }
    runs(tx, &c, day).await?;
    let rules = repo::rules(tx.conn()).await?;
    let now = who.st.clock.now();
    let starts = at(day, c.starts_at);
    let opens = starts - Duration::minutes(i64::from(rules.opens_before_min));
    let closes = at(day, c.ends_at);
    if let Some(k) = repo::checkins(tx.conn(), &[course], day, Some(staff))
        .await?
        .first()
    {
        return Err(AttendanceError::AlreadyCheckedIn {
            at: k.checked_in_at,
        });
    }
    if now < opens || now > closes {
        return Err(AttendanceError::OutsideWindow {
            day,
            opens_at: opens,
            closes_at: closes,
        });
    }
    let distance = match (loc, rules.latitude, rules.longitude, rules.radius_m) {
        (Some(p), Some(la), Some(lo), Some(radius)) => {
            let d = distance_m(p, (la, lo)).round() as i32;
            if d > radius {
                return Err(AttendanceError::TooFar {
                    distance_m: d,
                    radius_m: radius,
                });
            }
            Some(d)
        }
        _ => None,
    };
    let late = now > starts + Duration::minutes(i64::from(rules.late_after_min));
    // Two taps at once: the key keeps one, the other is told it was checked in already.
    if !repo::insert_checkin(
        tx.conn(),
        course,
        day,
        staff,
        who.auth.account_id,
        now,
        late,
        loc,
        distance,
    )
    .await?
    {
        let k = repo::checkins(tx.conn(), &[course], day, Some(staff)).await?;
        return Err(AttendanceError::AlreadyCheckedIn {
            at: k.first().map_or(now, |k| k.checked_in_at),
        });
    }
    record(
        tx,
        who,
        "attendance.checkin",
        course,
        day,
        json!({ "late": late, "distance_m": distance }),
    )
    .await?;
    let k = repo::checkins(tx.conn(), &[course], day, Some(staff)).await?;
    k.first()
        .map(|k| checkin_view(day, k))
        .ok_or(AttendanceError::AlreadyCheckedIn { at: now })
}

/// The course of a session the caller may call the roll of: a teacher of it, or an admin.
pub(super) async fn roll_course(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
) -> Result<CourseRow, AttendanceError> {
    let c = repo::course(tx.conn(), course)
        .await?
        .ok_or(AttendanceError::NoSession {
            course_id: course,
            day,
        })?;
    let scope = people::scope(who.st, who.auth, tx).await?;
    if scope != Scope::All {
        let teaches = match caller_staff(tx, who).await? {
            Some((staff, _)) => repo::teaches(tx.conn(), course, staff).await?,
            None => false,
        };
        if !teaches {
            return Err(AttendanceError::NotYourSession { course_id: course });
        }
    }
    runs(tx, &c, day).await?;
    Ok(c)
}

async fn roll_view(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    c: CourseRow,
    day: NaiveDate,
) -> Result<RollView, AttendanceError> {
    let rows = repo::roll(tx.conn(), c.id, day).await?;
    let mut sessions = sessions_of(tx, who, day, vec![c]).await?;
    let session = sessions
        .pop()
        .ok_or(AttendanceError::NoSession { course_id: 0, day })?;
    Ok(RollView {
        session,
        students: rows
            .into_iter()
            .map(|r| RollEntry {
                student_id: r.student_id,
                name: r.name,
                class_name: r.class_name,
                mark_label: r.mark.map(|m| m.label().to_string()),
                mark: r.mark,
                abnormal: r.abnormal,
            })
            .collect(),
    })
}

/// The roll of a session: its children with their marks.
pub async fn roll(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
) -> Result<RollView, AttendanceError> {
    let c = roll_course(tx, who, course, day).await?;
    roll_view(tx, who, c, day).await
}

/// Marks children of a session. All or nothing: a child not in the session or a bad mark
/// refuses the whole roll. Each new or changed mark messages the child's parents once; an
/// absence without leave also tells the homeroom teacher.
pub async fn mark(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    input: &RollInput,
) -> Result<RollView, AttendanceError> {
    let c = roll_course(tx, who, course, day).await?;
    let now = who.st.clock.now();
    let starts = at(day, c.starts_at);
    let rules = repo::rules(tx.conn()).await?;
    if now < starts - Duration::minutes(i64::from(rules.opens_before_min)) {
        return Err(AttendanceError::NotStarted { starts_at: starts });
    }
    if repo::checkins(tx.conn(), &[course], day, None)
        .await?
        .is_empty()
    {
        return Err(AttendanceError::CheckinFirst);
    }
    let roll = repo::roll(tx.conn(), course, day).await?;
    let mut marks = Vec::with_capacity(input.marks.len());
    for m in &input.marks {
        let entry = roll.iter().find(|r| r.student_id == m.student_id).ok_or(
            AttendanceError::NotInSession {
                student_id: m.student_id,
            },
        )?;
        let mark = Mark::parse(m.mark.trim()).ok_or_else(|| AttendanceError::MarkInvalid {
            value: m.mark.clone(),
        })?;
        marks.push((entry, mark));
    }
    let tenant_id = tx.tenant().id;
    let when = crate::notify::model::time(now);
    let mut changed = 0;
    let mut abnormal = 0;
    for (entry, mark) in marks {
        let is_abnormal = mark == Mark::Absent;
        if !repo::set_mark(
            tx.conn(),
            course,
            day,
            entry.student_id,
            mark,
            is_abnormal,
            who.auth.account_id,
            now,
        )
        .await?
        {
            continue;
        }
        changed += 1;
        let parents = repo::guardian_accounts(tx.conn(), entry.student_id).await?;
        let homeroom = if is_abnormal {
            abnormal += 1;
            repo::homeroom_phone(tx.conn(), entry.class_id).await?
        } else {
            None
        };
        tx.leave_role().await?;
        let source = format!("attendance:{course}:{day}:{}", entry.student_id);
        if mark != Mark::Leave {
            for account in parents {
                let m = crate::notify::Message::new(
                    crate::notify::Kind::AttendanceMarked,
                    account,
                    format!("{source}:{}", mark.as_str()),
                )
                .tenant(tenant_id)
                .field("name1", &entry.name)
                .field("thing2", &c.name)
                .field("phrase3", mark.label())
                .field("time4", &when);
                crate::notify::emit(tx.conn(), &who.st.keys, &m).await?;
            }
        }
        if let Some(hash) = homeroom {
            if let Some(account) = repo::account_by_phone(tx.conn(), &hash).await? {
                let m = crate::notify::Message::new(
                    crate::notify::Kind::AbsenceAlert,
                    account,
                    source.clone(),
                )
                .tenant(tenant_id)
                .field("name1", &entry.name)
                .field("thing2", &c.name)
                .field("time3", crate::notify::model::time(starts))
                .field("thing4", "未请假缺勤，请联系家长");
                crate::notify::emit(tx.conn(), &who.st.keys, &m).await?;
            }
        }
        tx.enter_role().await?;
    }
    record(
        tx,
        who,
        "attendance.roll",
        course,
        day,
        json!({ "marks": input.marks.len(), "changed": changed, "abnormal": abnormal }),
    )
    .await?;
    roll_view(tx, who, c, day).await
}

/// The first day of `month` ("2026-10").
fn month_start(month: &str) -> Result<NaiveDate, AttendanceError> {
    NaiveDate::parse_from_str(&format!("{}-01", month.trim()), "%Y-%m-%d").map_err(|_| {
        AttendanceError::MonthInvalid {
            value: month.to_string(),
        }
    })
}

/// The attendance assessment of `month`: per teacher of a course, the sessions that ran by
/// the calendar and have ended, the ones they checked in to (late ones counted), and the
/// ones they missed.
pub async fn teacher_report(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    month: &str,
) -> Result<TeacherReport, AttendanceError> {
    let first = month_start(month)?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| AttendanceError::MonthInvalid {
            value: month.to_string(),
        })?;
    let now = who.st.clock.now();
    let through = (next - Duration::days(1)).min(who.st.clock.today());
    let mut by_staff: std::collections::BTreeMap<i64, TeacherMonth> = Default::default();
    if through >= first {
        let courses = repo::courses_between(tx.conn(), first, through).await?;
        let ids: Vec<i64> = courses.iter().map(|c| c.id).collect();
        let teachers = repo::course_teachers(tx.conn(), &ids).await?;
        let checkins = repo::checkins_between(tx.conn(), first, through).await?;
        let cals = crate::enrollment::staff::calendars(tx).await?;
        let mut day = first;
        while day <= through {
            let weekday = day.weekday().number_from_monday() as i16;
            for c in &courses {
                let meets = c.weekdays.contains(&weekday) && c.starts_on <= day && day <= c.ends_on;
                let runs = meets
                    && cals
                        .iter()
                        .find(|(t, _)| *t == c.term_id)
                        .is_some_and(|(_, cal)| crate::enrollment::staff::session_runs(cal, day));
                if !runs || at(day, c.ends_at) > now {
                    continue;
                }
                for (_, staff, name) in teachers.iter().filter(|t| t.0 == c.id) {
                    let row = by_staff.entry(*staff).or_insert_with(|| TeacherMonth {
                        staff_id: *staff,
                        teacher_name: name.clone(),
                        planned: 0,
                        taught: 0,
                        late: 0,
                        missed: 0,
                    });
                    row.planned += 1;
                    match checkins
                        .iter()
                        .find(|k| k.0 == c.id && k.1 == day && k.2 == *staff)
                    {
                        Some(k) => {
                            row.taught += 1;
                            row.late += i64::from(k.3);
                        }
                        None => row.missed += 1,
                    }
                }
            }
            day += Duration::days(1);
        }
    }
    let mut teachers: Vec<TeacherMonth> = by_staff.into_values().collect();
    teachers.sort_by(|a, b| (&a.teacher_name, a.staff_id).cmp(&(&b.teacher_name, b.staff_id)));
    Ok(TeacherReport {
        month: first.format("%Y-%m").to_string(),
        through: through.max(first),
        teachers,
    })
}

/// The report as an .xlsx workbook.
pub async fn teacher_report_file(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    month: &str,
) -> Result<(TeacherReport, Vec<u8>), AttendanceError> {
    use crate::tabular::{self, ColumnKind, SheetOut};
    let r = teacher_report(tx, who, month).await?;
    let sheet = SheetOut {
        name: "教师签到".into(),
        headers: ["教师", "应上课节数", "已签到", "其中迟到", "未签到"]
            .map(String::from)
            .to_vec(),
        rows: r
            .teachers
            .iter()
            .map(|t| {
                vec![
                    t.teacher_name.clone(),
                    t.planned.to_string(),
                    t.taught.to_string(),
                    t.late.to_string(),
                    t.missed.to_string(),
                ]
            })
            .collect(),
        widths: vec![14.0, 12.0, 10.0, 10.0, 10.0],
        kinds: vec![
            ColumnKind::Text,
            ColumnKind::Count,
            ColumnKind::Count,
            ColumnKind::Count,
            ColumnKind::Count,
        ],
    };
    let notes = vec![format!(
        "{} {} 教师签到考核（统计至 {}）",
        tx.tenant().name,
        r.month,
        r.through
    )];
    let bytes =
        tabular::xlsx(&[sheet], &notes).map_err(|e| AttendanceError::Workbook(e.to_string()))?;
    Ok((r, bytes))
}

fn check_rules(r: &AttendanceRules) -> Result<RulesRow, AttendanceError> {
    if !(0..=120).contains(&r.opens_before_min) {
        return Err(AttendanceError::RulesInvalid {
            field: "opens_before_min",
        });
    }
    if !(0..=60).contains(&r.late_after_min) {
        return Err(AttendanceError::RulesInvalid {
            field: "late_after_min",
        });
    }
    match (r.latitude, r.longitude, r.radius_m) {
        (None, None, None) => {}
        (Some(la), Some(lo), Some(radius)) => {
            if !(la.is_finite() && lo.is_finite() && la.abs() <= 90.0 && lo.abs() <= 180.0) {
                return Err(AttendanceError::RulesInvalid { field: "location" });
            }
            if !(50..=5000).contains(&radius) {
                return Err(AttendanceError::RulesInvalid { field: "radius_m" });
            }
        }
        _ => return Err(AttendanceError::RulesInvalid { field: "location" }),
    }
    Ok(RulesRow {
        opens_before_min: r.opens_before_min,
        late_after_min: r.late_after_min,
        latitude: r.latitude,
        longitude: r.longitude,
        radius_m: r.radius_m,
    })
}

fn rules_view(r: RulesRow) -> AttendanceRules {
    AttendanceRules {
        opens_before_min: r.opens_before_min,
        late_after_min: r.late_after_min,
        latitude: r.latitude,
        longitude: r.longitude,
        radius_m: r.radius_m,
    }
}

pub async fn rules(tx: &mut TenantTx) -> Result<AttendanceRules, AttendanceError> {
    Ok(rules_view(repo::rules(tx.conn()).await?))
}

pub async fn set_rules(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    r: &AttendanceRules,
) -> Result<AttendanceRules, AttendanceError> {
    let row = check_rules(r)?;
    repo::set_rules(tx.conn(), &row).await?;
    let ev = AuditEvent::new("attendance.rules", "attendance_rules", Outcome::Success).details(
        json!({ "opens_before_min": row.opens_before_min, "late_after_min": row.late_after_min,
                "geofence": row.radius_m.is_some() }),
    );
    tx.audit(who.st, who.auth, ev).await?;
    Ok(rules_view(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_metres_on_the_earth() {
        // 石岐 to about 1.1 km north: 0.01° of latitude.
        let d = distance_m((22.5200, 113.3800), (22.5300, 113.3800));
        assert!((1100.0..1125.0).contains(&d), "{d}");
        assert!(distance_m((22.52, 113.38), (22.52, 113.38)) < 0.001);
    }

    #[test]
    fn a_location_needs_both_coordinates_in_range() {
        let ok = CheckinRequest {
            latitude: Some(22.5),
            longitude: Some(113.4),
        };
        assert_eq!(location(&ok).unwrap(), Some((22.5, 113.4)));
        assert_eq!(location(&CheckinRequest::default()).unwrap(), None);
        for bad in [
            (Some(22.5), None),
            (Some(91.0), Some(1.0)),
            (Some(f64::NAN), Some(1.0)),
        ] {
            let r = CheckinRequest {
                latitude: bad.0,
                longitude: bad.1,
            };
            assert!(matches!(
                location(&r),
                Err(AttendanceError::LocationInvalid)
            ));
        }
    }
}
