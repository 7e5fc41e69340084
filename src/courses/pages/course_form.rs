//! The course form (F2): what it is made of (the school's terms, venues, periods, grades,
//! staff and open series), the values as typed, and how they become the API's `NewCourse`
//! or `CoursePatch`. Never checks a course rule itself: what is typed goes to the service
//! as typed (a number that is not one as 0) and the service's refusal names the field.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use maud::{html, Markup};
use poem_openapi::types::MaybeUndefined;

use super::{err_at, FormError};
use crate::clock::cst;
use crate::courses::error::CourseError;
use crate::courses::model::{
    CourseAllocation, CourseClassType, CoursePatch, CoursePricing, CourseStatus, CourseView,
    NewCourse,
};
use crate::courses::service::{self, CourseQuery};
use crate::error::DomainError;
use crate::kernel::tx::TenantTx;
use crate::people::lookup as people_lookup;
use crate::school::lookup as school_lookup;
use crate::school::model::{GradeRow, PeriodView, TermRow, VenueView};
use crate::web::forms::form_urlencoded;
use crate::web::frame::WebError;
use crate::web::layout::{field, input, notice, weekday, Tone};
use crate::web::session::Web;

pub(super) use crate::web::forms::actor;

/// What the form's choices are made of, read in the same transaction as the page. The
/// lists are the school's own configuration, which the course API refers to by id.
pub(super) struct Options {
    pub terms: Vec<TermRow>,
    venues: Vec<VenueView>,
    periods: Vec<PeriodView>,
    grades: Vec<GradeRow>,
    /// Active staff (id, name): the teachers a course may have.
    staff: Vec<(i64, String)>,
    /// Series a course may join (code, name): open top-level courses but itself.
    series: Vec<(String, String)>,
}

pub(super) async fn options(
    web: &Web,
    tx: &mut TenantTx,
    except: Option<i64>,
) -> Result<Options, WebError> {
    let terms = school_lookup::terms(tx.conn()).await?;
    let venues = school_lookup::venues(tx.conn()).await?;
    let periods = school_lookup::periods(tx.conn()).await?;
    let grades = school_lookup::grades(tx.conn()).await?;
    let staff = people_lookup::staff(tx.conn(), None, None)
        .await?
        .into_iter()
        .filter(|s| s.status == people_lookup::StaffStatus::Active)
        .map(|s| (s.id, s.name))
        .collect();
    let series = service::list(tx, &actor(web), &CourseQuery::default())
        .await?
        .into_iter()
        .filter(|c| c.status != CourseStatus::Closed && Some(c.id) != except)
        .map(|c| (c.code, c.name))
        .collect();
    Ok(Options {
        terms,
        venues,
        periods,
        grades,
        staff,
        series,
    })
}

/// The course form as typed (every value a string, as the browser sent it).
#[derive(Debug, Default, Clone)]
pub(super) struct CourseForm {
    code: String,
    class_type: String,
    name: String,
    category: String,
    intro: String,
    term_code: String,
    period_id: String,
    venue_id: String,
    weekdays: Vec<i16>,
    starts_at: String,
    ends_at: String,
    starts_on: String,
    ends_on: String,
    capacity: String,
    price: String,
    pricing: String,
    eligible_levels: Vec<i16>,
    reg_opens_at: String,
    reg_closes_at: String,
    allocation: String,
    hold_minutes: String,
    teacher_ids: Vec<i64>,
    parent_code: String,
}

/// A `datetime-local` value (Beijing wall-clock time) for an instant.
pub(super) fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%dT%H:%M").to_string()
}

/// The RFC 3339 instant the API takes for a `datetime-local` value, read in Beijing time.
/// Anything else is passed on as typed for the service to refuse.
pub(super) fn instant(s: &str) -> String {
    let t = s.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
        .and_then(|d| d.and_local_timezone(cst()).single())
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| t.to_string())
}

/// A whole number as typed; what is not one becomes 0, which the service refuses with the
/// field's own range message.
fn number(s: &str) -> i32 {
    s.trim().parse().unwrap_or(0)
}

fn id_of(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

pub(super) fn text_opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

fn changed<T: PartialEq>(new: T, old: &T) -> Option<T> {
    (new != *old).then_some(new)
}

fn maybe<T: PartialEq>(new: Option<T>, old: Option<T>) -> MaybeUndefined<T> {
    if new == old {
        return MaybeUndefined::Undefined;
    }
    match new {
        Some(v) => MaybeUndefined::Value(v),
        None => MaybeUndefined::Null,
    }
}

impl CourseForm {
    pub(super) fn parse(body: &str) -> Self {
        let mut f = CourseForm::default();
        for (k, v) in form_urlencoded(body) {
            match k.as_str() {
                "code" => f.code = v,
                "class_type" => f.class_type = v,
                "name" => f.name = v,
                "category" => f.category = v,
                // Browsers send a textarea's line breaks as CRLF; stored text uses LF.
                "intro" => f.intro = v.replace("\r\n", "\n"),
                "term_code" => f.term_code = v,
                "period_id" => f.period_id = v,
                "venue_id" => f.venue_id = v,
                "weekdays" => f.weekdays.extend(v.parse::<i16>().ok()),
                "starts_at" => f.starts_at = v,
                "ends_at" => f.ends_at = v,
                "starts_on" => f.starts_on = v,
                "ends_on" => f.ends_on = v,
                "capacity" => f.capacity = v,
                "price" => f.price = v,
                "pricing" => f.pricing = v,
                "eligible_levels" => f.eligible_levels.extend(v.parse::<i16>().ok()),
                "reg_opens_at" => f.reg_opens_at = v,
                "reg_closes_at" => f.reg_closes_at = v,
                "allocation" => f.allocation = v,
                "hold_minutes" => f.hold_minutes = v,
                "teacher_ids" => f.teacher_ids.extend(v.parse::<i64>().ok()),
                "parent_code" => f.parent_code = v,
                _ => {}
            }
        }
        f
    }

    /// A new course's starting values: the current term, registration open from today for
    /// two weeks, the API's defaults for the rest.
    pub(super) fn defaults(web: &Web, terms: &[TermRow]) -> Self {
        let today = web.app.clock.today();
        let term = terms
            .iter()
            .find(|t| t.starts_on <= today && today <= t.ends_on)
            .or_else(|| terms.last());
        CourseForm {
            class_type: "training".into(),
            pricing: "per_course".into(),
            allocation: "fcfs".into(),
            term_code: term.map(|t| t.code.clone()).unwrap_or_default(),
            capacity: "30".into(),
            hold_minutes: "30".into(),
            reg_opens_at: format!("{today}T08:00"),
            reg_closes_at: format!("{}T20:00", today + Duration::days(14)),
            ..CourseForm::default()
        }
    }

    pub(super) fn from_view(v: &CourseView) -> Self {
        CourseForm {
            code: v.code.clone(),
            class_type: v.class_type.as_str().into(),
            name: v.name.clone(),
            category: v.category.clone(),
            intro: v.intro.clone(),
            term_code: v.term_code.clone(),
            period_id: v.period_id.map(|i| i.to_string()).unwrap_or_default(),
            venue_id: v.venue_id.map(|i| i.to_string()).unwrap_or_default(),
            weekdays: v.weekdays.clone(),
            starts_at: v.starts_at.clone(),
            ends_at: v.ends_at.clone(),
            starts_on: v.starts_on.to_string(),
            ends_on: v.ends_on.to_string(),
            capacity: v.capacity.to_string(),
            price: v.price.clone(),
            pricing: v.pricing.as_str().into(),
            eligible_levels: v.eligible_levels.clone(),
            reg_opens_at: local(v.reg_opens_at),
            reg_closes_at: local(v.reg_closes_at),
            allocation: v.allocation.as_str().into(),
            hold_minutes: v.hold_minutes.to_string(),
            teacher_ids: v.teachers.iter().map(|t| t.id).collect(),
            parent_code: v.parent_code.clone().unwrap_or_default(),
        }
    }

    pub(super) fn new_course(&self) -> NewCourse {
        NewCourse {
            code: self.code.trim().to_string(),
            class_type: CourseClassType::from_db(&self.class_type),
            name: self.name.clone(),
            category: self.category.clone(),
            intro: self.intro.clone(),
            term_code: self.term_code.clone(),
            period_id: id_of(&self.period_id),
            venue_id: id_of(&self.venue_id),
            weekdays: self.weekdays.clone(),
            starts_at: self.starts_at.clone(),
            ends_at: self.ends_at.clone(),
            starts_on: text_opt(&self.starts_on),
            ends_on: text_opt(&self.ends_on),
            capacity: number(&self.capacity),
            price: self.price.clone(),
            pricing: CoursePricing::from_db(&self.pricing),
            eligible_levels: self.eligible_levels.clone(),
            reg_opens_at: instant(&self.reg_opens_at),
            reg_closes_at: instant(&self.reg_closes_at),
            allocation: Some(CourseAllocation::from_db(&self.allocation)),
            hold_minutes: text_opt(&self.hold_minutes).map(|h| number(&h)),
            teacher_ids: self.teacher_ids.clone(),
            parent_code: text_opt(&self.parent_code),
        }
    }

    /// The changes against the stored course, as the API's `PATCH` body.
    pub(super) fn patch(&self, cur: &CourseView) -> CoursePatch {
        let cur_teachers: Vec<i64> = cur.teachers.iter().map(|t| t.id).collect();
        let when_changed = |typed: &str, stored: DateTime<Utc>| {
            (typed.trim() != local(stored)).then(|| instant(typed))
        };
        CoursePatch {
            class_type: changed(CourseClassType::from_db(&self.class_type), &cur.class_type),
            name: changed(self.name.clone(), &cur.name),
            category: changed(self.category.clone(), &cur.category),
            intro: changed(self.intro.clone(), &cur.intro),
            period_id: maybe(id_of(&self.period_id), cur.period_id),
            venue_id: maybe(id_of(&self.venue_id), cur.venue_id),
            weekdays: changed(sorted(&self.weekdays), &sorted(&cur.weekdays)),
            starts_at: changed(self.starts_at.trim().to_string(), &cur.starts_at),
            ends_at: changed(self.ends_at.trim().to_string(), &cur.ends_at),
            starts_on: changed(
                self.starts_on.trim().to_string(),
                &cur.starts_on.to_string(),
            ),
            ends_on: changed(self.ends_on.trim().to_string(), &cur.ends_on.to_string()),
            capacity: changed(number(&self.capacity), &cur.capacity),
            price: changed(self.price.trim().to_string(), &cur.price),
            pricing: changed(CoursePricing::from_db(&self.pricing), &cur.pricing),
            eligible_levels: changed(sorted(&self.eligible_levels), &sorted(&cur.eligible_levels)),
            reg_opens_at: when_changed(&self.reg_opens_at, cur.reg_opens_at),
            reg_closes_at: when_changed(&self.reg_closes_at, cur.reg_closes_at),
            allocation: changed(CourseAllocation::from_db(&self.allocation), &cur.allocation),
            hold_minutes: changed(number(&self.hold_minutes), &cur.hold_minutes),
            teacher_ids: changed(sorted(&self.teacher_ids), &sorted(&cur_teachers)),
            parent_code: maybe(text_opt(&self.parent_code), cur.parent_code.clone()),
        }
    }
}

/// Fields of the form, for telling a refusal about one of them from one about the whole.
pub(super) const FIELDS: [&str; 23] = [
    "code",
    "class_type",
    "name",
    "category",
    "intro",
    "term_code",
    "period_id",
    "venue_id",
    "weekdays",
    "starts_at",
    "ends_at",
    "starts_on",
    "ends_on",
    "capacity",
    "price",
    "pricing",
    "eligible_levels",
    "reg_opens_at",
    "reg_closes_at",
    "allocation",
    "hold_minutes",
    "teacher_ids",
    "parent_code",
];

/// The field of the course form a refusal is about: the one it names, or, for a refusal
/// that compares two fields, the later one.
fn course_field(e: &CourseError) -> &'static str {
    use CourseError as E;
    match e {
        E::CodeInvalid { .. } | E::CodeTaken { .. } => "code",
        E::NameInvalid => "name",
        E::CategoryInvalid => "category",
        E::IntroInvalid => "intro",
        E::WeekdaysInvalid { .. } => "weekdays",
        E::TimeInvalid { field, .. }
        | E::DateInvalid { field, .. }
        | E::RegInstantInvalid { field, .. } => field,
        E::EndsBeforeStart { .. } => "ends_at",
        E::DatesReversed { .. } => "ends_on",
        E::OutsideTerm { .. } => "starts_on",
        E::RegWindowReversed { .. } | E::RegClosesAfterCourse { .. } => "reg_closes_at",
        E::CapacityInvalid { .. } | E::CapacityBelowTaken { .. } => "capacity",
        E::PriceInvalid { .. } => "price",
        E::PricingMismatch { .. } => "pricing",
        E::LevelsInvalid { .. } | E::LevelsMissing { .. } => "eligible_levels",
        E::HoldInvalid { .. } => "hold_minutes",
        E::TermNotFound { .. } => "term_code",
        E::PeriodNotFound { .. } => "period_id",
        E::VenueNotFound { .. } => "venue_id",
        E::TeacherNotFound { .. } => "teacher_ids",
        E::SeriesInvalid { .. } => "parent_code",
        E::Several(all) => all.first().map_or("", course_field),
        _ => "",
    }
}

/// The refusal's message, reworded where it is written for API clients (an RFC 3339
/// example means nothing to someone using a date picker).
fn course_message(e: &CourseError) -> String {
    const PICK: &str = "请选择完整的报名日期和时间";
    match e {
        CourseError::RegInstantInvalid { .. } => PICK.into(),
        CourseError::Several(all)
            if matches!(all.first(), Some(CourseError::RegInstantInvalid { .. })) =>
        {
            PICK.into()
        }
        e => e.user_message(),
    }
}

/// The service's refusal of a course form, with every field it refused.
pub(super) fn form_error(e: &CourseError) -> FormError {
    let all = match e {
        CourseError::Several(all) => all
            .iter()
            .map(|x| (course_field(x).to_string(), course_message(x)))
            .collect(),
        _ => Vec::new(),
    };
    FormError {
        field: course_field(e).into(),
        message: course_message(e),
        all,
        ..FormError::from_domain(e)
    }
}

fn select(name: &str, items: &[(String, String)], chosen: &str, disabled: bool) -> Markup {
    html! {
        select id=(name) name=(name) disabled[disabled] {
            @for (v, label) in items {
                option value=(v) selected[v == chosen] { (label) }
            }
        }
    }
}

fn checks<T: std::fmt::Display + PartialEq>(
    name: &str,
    items: &[(T, String)],
    chosen: &[T],
) -> Markup {
    html! {
        div.checks id=(name) {
            @for (v, label) in items {
                label.check {
                    input type="checkbox" name=(name) id={ (name) "-" (v) } value=(v) checked[chosen.contains(v)];
                    " " (label)
                }
            }
        }
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(v, l)| ((*v).to_string(), (*l).to_string()))
        .collect()
}

pub(super) fn course_form(
    action: &str,
    f: &CourseForm,
    o: &Options,
    err: Option<&FormError>,
    editing: bool,
) -> Markup {
    let e = |n: &str| err_at(err, n);
    let none = |label: &str| vec![(String::new(), label.to_string())];
    let mut terms: Vec<(String, String)> = o
        .terms
        .iter()
        .map(|t| (t.code.clone(), t.name.clone()))
        .collect();
    if terms.is_empty() {
        terms = none("学校尚未设置学期");
    }
    let mut periods = none("不指定");
    periods.extend(o.periods.iter().map(|p| {
        (
            p.id.to_string(),
            format!(
                "{}（{}–{}）",
                p.name,
                p.starts_at.format("%H:%M"),
                p.ends_at.format("%H:%M")
            ),
        )
    }));
    let mut venues = none("不指定");
    venues.extend(o.venues.iter().map(|v| (v.id.to_string(), v.name.clone())));
    let mut series = none("无（单独课程，或本身是系列课程）");
    series.extend(o.series.iter().map(|(c, n)| (c.clone(), n.clone())));
    let days: Vec<(i16, String)> = (1..=7).map(|d| (d, weekday(d).to_string())).collect();
    let levels: Vec<(i16, String)> = o.grades.iter().map(|g| (g.level, g.name.clone())).collect();
    let staff: Vec<(i64, String)> = o.staff.clone();
    html! {
        form.stack method="post" action=(action) id="course-form" novalidate {
            div.form-grid {
                @if !editing {
                    (field("课程代码（选填）", "code", html! {
                        input type="text" id="code" name="code" value=(f.code) maxlength="32" placeholder="不填则由系统自动生成";
                    }, e("code")))
                }
                (field("班级名称", "name", input("text", "name", &f.name), e("name")))
                (field("班级类型", "class_type", select("class_type", &pairs(&[("training", "培训"), ("custody", "托管")]), &f.class_type, false), e("class_type")))
                (field("培训类目", "category", html! {
                    input type="text" id="category" name="category" value=(f.category) placeholder="如 美术、体育、托管";
                }, e("category")))
                (field("学期", "term_code", select("term_code", &terms, &f.term_code, editing), e("term_code")))
                (field("开班时段", "period_id", select("period_id", &periods, &f.period_id, false), e("period_id")))
                (field("上课场地", "venue_id", select("venue_id", &venues, &f.venue_id, false), e("venue_id")))
                (field("上课时间", "starts_at", html! {
                    input type="text" id="starts_at" name="starts_at" value=(f.starts_at) placeholder="16:30" inputmode="numeric" maxlength="8";
                }, e("starts_at")))
                (field("下课时间", "ends_at", html! {
                    input type="text" id="ends_at" name="ends_at" value=(f.ends_at) placeholder="18:00" inputmode="numeric" maxlength="8";
                }, e("ends_at")))
                (field("开课日期（留空为学期开始日）", "starts_on", input("date", "starts_on", &f.starts_on), e("starts_on")))
                (field("结课日期（留空为学期结束日）", "ends_on", input("date", "ends_on", &f.ends_on), e("ends_on")))
                (field("开班规模（人）", "capacity", html! {
                    input type="number" id="capacity" name="capacity" value=(f.capacity) min="1" max="2000" step="1";
                }, e("capacity")))
                (field("价格（元）", "price", html! {
                    input type="text" id="price" name="price" value=(f.price) placeholder="如 450.00" inputmode="decimal";
                }, e("price")))
                (field("计费方式", "pricing", select("pricing", &pairs(&[("per_course", "按课程计费（培训）"), ("per_day", "按天计费（托管）")]), &f.pricing, false), e("pricing")))
                (field("报名开始", "reg_opens_at", input("datetime-local", "reg_opens_at", &f.reg_opens_at), e("reg_opens_at")))
                (field("报名截止", "reg_closes_at", input("datetime-local", "reg_closes_at", &f.reg_closes_at), e("reg_closes_at")))
                (field("名额分配", "allocation", select("allocation", &pairs(&[("fcfs", "先到先得"), ("lottery", "报名截止后抽签")]), &f.allocation, false), e("allocation")))
                (field("待支付名额保留（分钟）", "hold_minutes", html! {
                    input type="number" id="hold_minutes" name="hold_minutes" value=(f.hold_minutes) min="5" max="1440" step="1";
                }, e("hold_minutes")))
                (field("所属系列课程（家长可只报其中的子项目，也可整套报名）", "parent_code", select("parent_code", &series, &f.parent_code, false), e("parent_code")))
            }
            (field("上课星期", "weekdays", checks("weekdays", &days, &f.weekdays), e("weekdays")))
            (field("可报名年级", "eligible_levels", checks("eligible_levels", &levels, &f.eligible_levels), e("eligible_levels")))
            (field("授课教师", "teacher_ids", html! {
                @if staff.is_empty() { p.muted { "本校尚未登记在职教职工" } }
                @else { (checks("teacher_ids", &staff, &f.teacher_ids)) }
            }, e("teacher_ids")))
            (field("简介", "intro", html! {
                textarea id="intro" name="intro" maxlength="2000" { (f.intro) }
            }, e("intro")))
            button type="submit" id="course-submit" { @if editing { "保存修改" } @else { "保存为草稿" } }
        }
    }
}

/// The notice above a form that was refused: the message itself when no field shows it.
pub(super) fn form_notice(err: Option<&FormError>, fields: &[&str]) -> Markup {
    match err {
        Some(e) if !e.field.is_empty() && fields.contains(&e.field.as_str()) => {
            notice(Tone::Error, "未保存：请按标红的提示修改后再提交")
        }
        Some(e) => html! {
            div.notice.error role="alert" id="form-error" data-code=(e.code) { (e.message) }
        },
        None => html! {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_picker_value_is_read_in_beijing_time_and_anything_else_kept_as_typed() {
        assert_eq!(instant("2026-08-20T09:00"), "2026-08-20T09:00:00+08:00");
        assert_eq!(
            instant(" 2026-08-20T09:00:30 "),
            "2026-08-20T09:00:30+08:00"
        );
        assert_eq!(instant("明天"), "明天");
        assert_eq!(instant(""), "");
    }

    #[test]
    fn a_refusal_lands_on_the_field_it_names_or_the_later_of_the_two_it_compares() {
        let t = |h: u32| chrono::NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let d = |n: u32| chrono::NaiveDate::from_ymd_opt(2026, 9, n).unwrap();
        let e = CourseError::EndsBeforeStart {
            starts_at: t(17),
            ends_at: t(16),
        };
        assert_eq!(form_error(&e).field, "ends_at");
        let e = CourseError::OutsideTerm {
            starts_on: d(1),
            ends_on: d(2),
            term_name: "秋季".into(),
            term_starts_on: d(3),
            term_ends_on: d(4),
        };
        assert_eq!(form_error(&e).field, "starts_on");
        let e = CourseError::Several(vec![
            CourseError::RegInstantInvalid {
                field: "reg_opens_at",
                value: "x".into(),
            },
            CourseError::CapacityInvalid { value: 0 },
        ]);
        let fe = form_error(&e);
        assert_eq!(fe.field, "reg_opens_at");
        assert_eq!(fe.message, "请选择完整的报名日期和时间");
        assert_eq!(fe.all[1].0, "capacity");
        assert_eq!(form_error(&CourseError::PicturesFull).field, "");
    }

    #[test]
    fn repeated_checkboxes_are_all_kept_and_numbers_that_are_not_become_zero() {
        let f = CourseForm::parse(
            "weekdays=1&weekdays=3&eligible_levels=2&capacity=abc&name=%E7%BE%8E+%E6%9C%AF",
        );
        assert_eq!(f.weekdays, vec![1, 3]);
        assert_eq!(f.eligible_levels, vec![2]);
        assert_eq!(f.name, "美 术");
        assert_eq!(f.new_course().capacity, 0);
        assert_eq!(f.new_course().hold_minutes, None);
    }
}
