//! What school staff see of enrollment: the enrollment status of the children in their
//! classes (R-T03), the after-school sessions of a day with their headcounts (R-T04), and
//! a teacher's own teaching timetable (R-T02).
//!
//! Read-only. Must never show a child outside the caller's class scope
//! ([`crate::people::service::scope`]): a homeroom teacher sees and counts the children of
//! the classes they lead, a school admin the whole school.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use poem_openapi::Object;
use sqlx::PgConnection;

use super::requests::scope_classes;
use super::service::WEEKDAY_ZH;
use crate::auth::model::AuthContext;
use crate::error::ApiError;
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::people::service::{self as people, Scope};
use crate::school::calendar::{DayKind, TermCalendar};

// ---- views -------------------------------------------------------------------------------

/// A child's live place in a course.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EnrolledStudent {
    pub enrollment_id: i64,
    pub student_id: i64,
    pub name: String,
    pub class_id: i64,
    pub class_name: String,
    /// 班级别名，如“雏鹰班”
    pub class_alias: Option<String>,
    /// held 待支付 | confirmed 已报名
    pub status: String,
    pub status_label: String,
    /// 名额保留截止时间（待支付时）
    pub hold_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CourseEnrollmentStatus {
    pub course_id: i64,
    pub code: String,
    pub name: String,
    /// custody 托管 | training 培训
    pub class_type: String,
    /// draft | published | closed
    pub course_status: String,
    /// 如“周一、周三 16:30–18:00”
    pub schedule: String,
    pub venue: Option<String>,
    /// 全校名额与已占名额（含待支付的保留）
    pub capacity: i32,
    pub taken: i32,
    /// 范围内待支付人数
    pub held: i64,
    /// 范围内已报名人数
    pub confirmed: i64,
    pub students: Vec<EnrolledStudent>,
}

/// R-T03: live enrollments of the children in scope, by course.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EnrollmentStatusView {
    pub held: i64,
    pub confirmed: i64,
    pub courses: Vec<CourseEnrollmentStatus>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SessionView {
    pub course_id: i64,
    pub code: String,
    pub name: String,
    /// custody 托管 | training 培训
    pub class_type: String,
    pub category: String,
    pub starts_at: String,
    pub ends_at: String,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
    pub capacity: i32,
    /// 已报名（已确认）人数；班主任只计本班学生
    pub headcount: i64,
}

/// R-T04: the after-school sessions running on one day.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SessionsView {
    pub date: NaiveDate,
    /// 1 = 周一 … 7 = 周日
    pub weekday: i16,
    /// teaching | makeup | holiday | closure | weekend | outside_term
    pub day_kind: String,
    /// 如“上课日”“国庆节”
    pub day_label: String,
    /// 开课节数
    pub sessions: i64,
    /// 参加的学生人数（一人多课只计一次）
    pub children: i64,
    /// 各课程人数之和
    pub enrollments: i64,
    pub items: Vec<SessionView>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TeachingSlot {
    pub course_id: i64,
    pub code: String,
    pub name: String,
    pub class_type: String,
    pub starts_at: String,
    pub ends_at: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub venue: Option<String>,
    /// 已报名（已确认）人数
    pub headcount: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TeachingDay {
    /// 1 = 周一 … 7 = 周日
    pub weekday: i16,
    pub label: String,
    pub slots: Vec<TeachingSlot>,
}

/// R-T02: the signed-in teacher's courses by weekday.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TeachingTimetableView {
    /// 与登录手机号匹配的教职工姓名；未登记为教职工时为空
    pub teacher_name: Option<String>,
    pub days: Vec<TeachingDay>,
}

fn hm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn schedule(days: &[i16], from: NaiveTime, to: NaiveTime) -> String {
    let names = super::service::weekdays_zh(days);
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
) -> Result<EnrollmentStatusView, ApiError> {
    let now = st.clock.now();
    let scope = people::scope(st, auth, tx).await?;
    let rows = live_enrollments(tx.conn(), scope_classes(&scope), course_id, class_id, now).await?;
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
                status_label: if r.status == "held" {
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
                status: r.status,
                hold_expires_at: r.hold_expires_at,
            });
    }
    let mut out = EnrollmentStatusView {
        held: 0,
        confirmed: 0,
        courses: Vec::new(),
    };
    for c in courses_by_id(tx.conn(), &ids).await? {
        let students = by_course.remove(&c.id).unwrap_or_default();
        let held = students.iter().filter(|s| s.status == "held").count() as i64;
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
pub(crate) async fn calendars(tx: &mut TenantTx) -> Result<Vec<(i64, TermCalendar)>, ApiError> {
    let mut out = Vec::new();
    for t in crate::school::repo::terms(tx.conn()).await? {
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
) -> Result<SessionsView, ApiError> {
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
    let courses: Vec<SessionRow> = sessions_on(tx.conn(), d, weekday)
        .await?
        .into_iter()
        .filter(|c| runs.contains(&c.term_id))
        .collect();
    let ids: Vec<i64> = courses.iter().map(|c| c.id).collect();
    let seats = confirmed_in(tx.conn(), &ids, scope_classes(&scope)).await?;
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
) -> Result<TeachingTimetableView, ApiError> {
    let hash = crate::people::service::caller_phone_hash(tx, auth.account_id).await?;
    let teacher_name = staff_name(tx.conn(), &hash).await?;
    let rows = taught(tx.conn(), &hash, st.clock.today()).await?;
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
                    label: WEEKDAY_ZH
                        .get(weekday as usize)
                        .copied()
                        .unwrap_or_default()
                        .into(),
                    slots,
                }
            })
            .collect(),
    })
}

// ---- SQL ---------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
struct LiveRow {
    enrollment_id: i64,
    course_id: i64,
    student_id: i64,
    student_name: String,
    class_id: i64,
    class_name: String,
    class_alias: Option<String>,
    status: String,
    hold_expires_at: Option<DateTime<Utc>>,
}

/// Live places (confirmed, or held and not run out at `now`) of children in `classes`
/// (all when `None`), by class and name.
async fn live_enrollments(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    course: Option<i64>,
    class: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<LiveRow>> {
    sqlx::query_as(
        "select e.id as enrollment_id, e.course_id, e.student_id, s.name as student_name,
                s.class_id, cl.name as class_name, cl.alias as class_alias, e.status,
                e.hold_expires_at
         from enrollments e
         join students s on s.id = e.student_id
         join classes cl on cl.id = s.class_id
         join grades g on g.id = cl.grade_id
         where (e.status = 'confirmed' or (e.status = 'held' and e.hold_expires_at > $4))
           and ($1::int8[] is null or s.class_id = any($1))
           and ($2::int8 is null or e.course_id = $2)
           and ($3::int8 is null or s.class_id = $3)
         order by e.course_id, g.level, cl.code, s.name, s.id",
    )
    .bind(classes)
    .bind(course)
    .bind(class)
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct CourseRow {
    id: i64,
    code: String,
    name: String,
    class_type: String,
    status: String,
    weekdays: Vec<i16>,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    venue: Option<String>,
    capacity: i32,
    taken: i32,
}

async fn courses_by_id(c: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<CourseRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.status, c.weekdays, c.starts_at, c.ends_at,
                v.name as venue, coalesce(s.capacity, c.capacity) as capacity,
                coalesce(s.taken, 0) as taken
         from courses c
         left join course_seats s on s.course_id = c.id
         left join venues v on v.id = c.venue_id
         where c.id = any($1)
         order by c.class_type, c.starts_at, c.code",
    )
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct SessionRow {
    id: i64,
    code: String,
    name: String,
    class_type: String,
    category: String,
    term_id: i64,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    venue: Option<String>,
    teachers: Vec<String>,
    capacity: i32,
}

/// Published courses meeting on `weekday` whose dates contain `d`. A series heading is
/// left out: its sub-items are what meets and what children book.
async fn sessions_on(
    c: &mut PgConnection,
    d: NaiveDate,
    weekday: i16,
) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.category, c.term_id, c.starts_at,
                c.ends_at, v.name as venue,
                coalesce((select array_agg(st.name order by st.name) from course_teachers ct
                          join staff st on st.id = ct.staff_id where ct.course_id = c.id),
                         '{}') as teachers,
                coalesce(s.capacity, c.capacity) as capacity
         from courses c
         left join course_seats s on s.course_id = c.id
         left join venues v on v.id = c.venue_id
         where c.status in ('published', 'closed') and $2 = any(c.weekdays)
           and c.starts_on <= $1 and $1 <= c.ends_on
           and not exists (select 1 from courses sub where sub.parent_id = c.id)
         order by c.starts_at, c.name, c.id",
    )
    .bind(d)
    .bind(weekday)
    .fetch_all(&mut *c)
    .await
}

/// (course, student) of the confirmed places in `courses` held by children in `classes`
/// (all when `None`).
async fn confirmed_in(
    c: &mut PgConnection,
    courses: &[i64],
    classes: Option<&[i64]>,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "select e.course_id, e.student_id from enrollments e
           join students s on s.id = e.student_id
         where e.status = 'confirmed' and e.course_id = any($1)
           and ($2::int8[] is null or s.class_id = any($2))",
    )
    .bind(courses)
    .bind(classes)
    .fetch_all(&mut *c)
    .await
}

async fn staff_name(c: &mut PgConnection, phone_hash: &[u8]) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select name from staff where phone_hash = $1 and status = 'active' order by id limit 1",
    )
    .bind(phone_hash)
    .fetch_optional(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct TaughtRow {
    id: i64,
    code: String,
    name: String,
    class_type: String,
    weekdays: Vec<i16>,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    venue: Option<String>,
    headcount: i64,
}

/// Published courses not ended by `today` that an active staff member with this phone
/// teaches.
async fn taught(
    c: &mut PgConnection,
    phone_hash: &[u8],
    today: NaiveDate,
) -> sqlx::Result<Vec<TaughtRow>> {
    sqlx::query_as(
        "select c.id, c.code, c.name, c.class_type, c.weekdays, c.starts_at, c.ends_at,
                c.starts_on, c.ends_on, v.name as venue,
                (select count(*) from enrollments e
                  where e.course_id = c.id and e.status = 'confirmed') as headcount
         from courses c
         left join venues v on v.id = c.venue_id
         where c.status in ('published', 'closed') and c.ends_on >= $2
           and exists (select 1 from course_teachers ct join staff st on st.id = ct.staff_id
                       where ct.course_id = c.id and st.phone_hash = $1 and st.status = 'active')
         order by c.starts_at, c.name, c.id",
    )
    .bind(phone_hash)
    .bind(today)
    .fetch_all(&mut *c)
    .await
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
