//! The teachers' mobile pages: the week of the courses a teacher teaches (R-T02) and, for a
//! homeroom teacher, the enrollment status of the children in their classes (R-T03) and a
//! way into the withdrawal and transfer requests waiting for them (the review pages are in
//! [`crate::web::requests`]).
//!
//! Every member of staff also sees the school's published courses with what runs today (the
//! inspector's patrol list, issue 13 item 6), and a plain line on what is coming (attendance,
//! leave, notices), so no staff role starts on an empty page.
//!
//! Read-only, through the same service calls and permissions as the API
//! (`/school/my-timetable`, `/school/enrollment-status`, `/school/courses`), so the class
//! scope holds: a homeroom teacher sees only the children of the classes they lead. Must
//! never show another class's children or decide scope here.

use chrono::{Datelike, Duration, NaiveDate};
use maud::{html, Markup};
use poem::{get, handler, Route};

use crate::auth::model::{Access, Domain, Permission, Role};
use crate::courses::model::{CourseStatus, CourseView};
use crate::courses::perms as course_perms;
use crate::courses::service::{self as courses, CourseQuery};
use crate::enrollment::model::{
    CourseEnrollmentStatus, EnrollmentStatus, RequestStatus, TeachingDay,
};
use crate::enrollment::perms as enroll_perms;
use crate::enrollment::requests;
use crate::enrollment::staff;
use crate::kernel::actor::Actor;
use crate::web::frame::{page, PageResult};
use crate::web::layout::{self, notice, when, Tone};
use crate::web::session::Web;

pub fn mount(r: Route) -> Route {
    r.at("/m/teacher", get(home))
        .at("/m/teacher/classes", get(classes))
}

/// Whether the caller's roles here hold `perm`: decides which parts of a page to offer.
/// Access itself is still checked (and refusals audited) when a part is loaded.
fn may(web: &Web, perm: &Permission) -> bool {
    match perm.access {
        Access::Tenant { obj, act } => {
            web.app
                .authz
                .any_allows(&web.roles(), Domain::School, obj, act)
        }
        _ => false,
    }
}

fn class_type_label(t: &str) -> &'static str {
    if t == "custody" {
        "托管"
    } else {
        "课程"
    }
}

/// The week's grid: one column per day with its date, the courses taught that day.
fn week(days: &[TeachingDay], monday: NaiveDate) -> Markup {
    html! {
        div.week #teacher-timetable {
            @for d in days {
                @let date = monday + Duration::days(i64::from(d.weekday) - 1);
                div.day {
                    h3 { (d.label) " " small.muted { (date.format("%m-%d")) } }
                    @for s in &d.slots {
                        // A course whose dates do not cover this day (the term has not
                        // begun, or it has ended) is shown greyed with its dates.
                        @let runs = s.starts_on <= date && date <= s.ends_on;
                        div class={ "slot" @if !runs { " off" } } data-course=(s.course_id) {
                            strong { (s.name) } br;
                            (s.starts_at) "–" (s.ends_at)
                            @if let Some(v) = &s.venue { br; small { (v) } }
                            br; small { (class_type_label(&s.class_type)) " · " (s.headcount) " 人" }
                            @if !runs { br; small.muted { (s.starts_on.format("%m-%d")) " 至 " (s.ends_on.format("%m-%d")) } }
                        }
                    }
                }
            }
        }
    }
}

/// Whether `c` has a class on `date`: its weekday, within its dates.
fn runs_on(c: &CourseView, date: NaiveDate) -> bool {
    let wd = date.weekday().number_from_monday() as i16;
    c.weekdays.contains(&wd) && c.starts_on <= date && date <= c.ends_on
}

/// The school's published courses, today's first: what an inspector patrols and what a
/// teacher's colleagues run.
fn school_courses(list: &[CourseView], today: NaiveDate) -> Markup {
    let mut list: Vec<&CourseView> = list.iter().collect();
    list.sort_by_key(|c| (!runs_on(c, today), c.starts_at.clone()));
    let days = |c: &CourseView| {
        c.weekdays
            .iter()
            .map(|d| layout::weekday(*d))
            .collect::<Vec<_>>()
            .join("、")
    };
    html! {
        h2 { "全校课后服务" }
        @if list.is_empty() { p.muted #no-school-courses { "学校还没有发布课后服务课程" } }
        @else {
            ul.list.card #school-courses {
                @for c in list {
                    li data-course=(c.id) {
                        div.row {
                            strong { (c.name) }
                            @if runs_on(c, today) { span.tag { "今日上课" } } @else { span.tag.grey { (c.class_type_label) } }
                        }
                        small.muted {
                            (days(c)) " " (c.starts_at) "–" (c.ends_at)
                            @if let Some(v) = &c.venue_name { " · " (v) }
                            @if !c.teachers.is_empty() {
                                " · " (c.teachers.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join("、"))
                            }
                            " · " (c.taken) "/" (c.capacity) " 人"
                        }
                    }
                }
            }
        }
    }
}

#[handler]
async fn home(web: Web) -> PageResult {
    let today = web.app.clock.today();
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let timetable = if may(&web, &enroll_perms::MY_TIMETABLE) {
        let mut tx = web.school_tx(&enroll_perms::MY_TIMETABLE).await?;
        let t = staff::my_timetable(&web.app, &web.auth, &mut tx).await?;
        tx.commit().await?;
        Some(t)
    } else {
        None
    };
    let reviews = may(&web, &enroll_perms::REQUESTS);
    let pending = if reviews {
        let mut tx = web.school_tx(&enroll_perms::REQUESTS).await?;
        let list =
            requests::list(&web.app, &web.auth, &mut tx, Some(RequestStatus::Pending)).await?;
        tx.commit().await?;
        list.len()
    } else {
        0
    };
    let status = may(&web, &enroll_perms::STATUS);
    let meal_stops = may(&web, &crate::meals::perms::STOPS);
    let notices = may(&web, &crate::notices::perms::SENT);
    let sessions = may(&web, &crate::attendance::perms::MY_SESSIONS);
    let whereabouts = may(&web, &crate::attendance::perms::WHEREABOUTS);
    let inspects = may(&web, &crate::attendance::perms::INSPECTION_CREATE);
    let published = if may(&web, &course_perms::LIST) {
        let mut tx = web.school_tx(&course_perms::LIST).await?;
        let q = CourseQuery {
            status: Some(CourseStatus::Published),
            ..Default::default()
        };
        let actor = Actor {
            st: &web.app,
            auth: &web.auth,
        };
        let list = courses::list(&mut tx, &actor, &q).await?;
        tx.commit().await?;
        Some(list)
    } else {
        None
    };
    let inspector = web.has_role(Role::Inspector);
    let name = timetable
        .as_ref()
        .and_then(|t| t.teacher_name.clone())
        .unwrap_or_else(|| web.auth.display_name.clone());
    let teaches = timetable
        .as_ref()
        .is_some_and(|t| t.days.iter().any(|d| !d.slots.is_empty()));
    page(layout::mobile(
        &web,
        "教师",
        "/m/teacher",
        html! {
            div.card {
                h2 { (name) " 老师" }
                p.muted { (today.format("%Y-%m-%d")) " " (layout::weekday(today.weekday().number_from_monday() as i16)) }
            }
            @if reviews || status || meal_stops || notices || sessions || whereabouts || inspects {
                div.card {
                    ul.list #teacher-links {
                        @if sessions {
                            li { a href=(web.link("/m/teacher/sessions")) #sessions-link { "今天的课：签到与点名 ›" } }
                        }
                        @if inspects {
                            li { a href=(web.link("/m/teacher/inspections")) #inspections-link { "巡课记录：今天的课与所见情况 ›" } }
                        }
                        @if whereabouts {
                            li { a href=(web.link("/m/teacher/whereabouts")) #whereabouts-link { "本班学生今天在哪 ›" } }
                        }
                        @if reviews {
                            li { a href=(web.link("/m/teacher/requests")) #pending-requests {
                                "待审核的退课与调班申请"
                                @if pending > 0 { " " span.tag.warn { (pending) } }
                                " ›"
                            } }
                        }
                        @if meal_stops {
                            li { a href=(web.link("/m/teacher/meal-stops")) #meal-stops-link { "停餐审批与登记 ›" } }
                        }
                        @if notices {
                            li { a href=(web.link("/m/teacher/notices")) #notices-link { "发通知与阅读情况 ›" } }
                        }
                        @if status {
                            li { a href=(web.link("/m/teacher/classes")) { "本班学生报名情况 ›" } }
                        }
                    }
                }
            }
            @if let Some(t) = &timetable {
                h2 { "本周课表" }
                @if t.teacher_name.is_none() {
                    (notice(Tone::Warn, "学校教职工名单中没有与您登录手机号一致的记录，因此没有任教课程。如有疑问请联系学校管理员。"))
                } @else if !teaches {
                    p.muted { "您目前没有任教的课后服务课程" }
                }
                @if teaches { (week(&t.days, monday)) }
            }
            @if let Some(list) = &published { (school_courses(list, today)) }
            p.muted #coming-soon {
                @if inspector && timetable.is_none() {
                    "下方是全校课后服务的上课安排，今日上课的排在最前；巡课时在“巡课记录”里逐节登记所见情况和照片。"
                } @else {
                    "学生请假将在后续版本开放，届时会出现在本页。"
                }
            }
        },
    ))
}

fn course_card(c: &CourseEnrollmentStatus) -> Markup {
    html! {
        div.card.course data-course=(c.course_id) {
            div.row {
                h3 { (c.name) }
                span.tag { (class_type_label(&c.class_type)) }
            }
            p.muted { (c.schedule) @if let Some(v) = &c.venue { " · " (v) } }
            p {
                "本班已报名 " strong { (c.confirmed) } " 人"
                @if c.held > 0 { "，待支付 " strong { (c.held) } " 人" }
                small.muted { " · 全校名额 " (c.taken) "/" (c.capacity) }
            }
            ul.list {
                @for s in &c.students {
                    li.row data-status=(s.status) {
                        span { (s.name) " " small.muted { (s.class_name) @if let Some(a) = &s.class_alias { "（" (a) "）" } } }
                        span {
                            @if s.status == EnrollmentStatus::Held.as_str() {
                                span.tag.warn { (s.status_label) }
                                @if let Some(t) = s.hold_expires_at { br; small.muted { "保留至 " (when(t)) } }
                            } @else {
                                span.tag { (s.status_label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[handler]
async fn classes(web: Web) -> PageResult {
    let mut tx = web.school_tx(&enroll_perms::STATUS).await?;
    let view = staff::enrollment_status(&web.app, &web.auth, &mut tx, None, None).await?;
    tx.commit().await?;
    page(layout::mobile(
        &web,
        "本班报名情况",
        "/m/teacher",
        html! {
            p { a href=(web.link("/m/teacher")) { "‹ 教师首页" } }
            div.card #status-summary {
                div.row {
                    span { "已报名 " strong { (view.confirmed) } " 人次" }
                    span { "待支付 " strong { (view.held) } " 人次" }
                }
                small.muted { "只统计您所带班级的学生；待支付的名额在保留时间过后自动释放" }
            }
            @if view.courses.is_empty() {
                p.muted #no-enrollments { "您所带班级的学生还没有报名课后服务" }
            }
            @for c in &view.courses { (course_card(c)) }
        },
    ))
}
