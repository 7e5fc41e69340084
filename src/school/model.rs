//! Request and response types of the school organisation and calendar, the validated
//! values (codes, names, weekdays, dates) the editing rules are written in, and the kinds
//! and statuses its columns hold as enums. A value that fails its check becomes the
//! [`SchoolError`] naming the field it came in. Must never touch the database or HTTP.

use std::ops::RangeInclusive;

use chrono::{NaiveDate, NaiveTime};
use once_cell::sync::Lazy;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::Object;
use regex::Regex;

use super::calendar::DayKind;
use super::error::SchoolError;
use crate::text_enum;

#[derive(Debug, Clone, Object, sqlx::FromRow)]
#[oai(skip_serializing_if_is_none)]
pub struct ClassView {
    pub id: i64,
    pub code: String,
    /// 系统名称，如“三年级2班”
    pub name: String,
    /// 班级别名，如“向日葵班”，教师和家长看到的名称
    pub alias: Option<String>,
    #[oai(skip)]
    pub grade_id: i64,
    /// active 在读 | graduated 已毕业
    pub status: ClassStatus,
    /// 班级教室（场地）
    pub venue_id: Option<i64>,
    /// 班级教室名称
    pub venue_name: Option<String>,
    /// 班主任姓名
    pub homeroom_teacher: Option<String>,
    /// 毕业日期（仅已毕业班级）
    pub graduated_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GradeView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: i16,
    pub classes: Vec<ClassView>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GradeRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: i16,
}

#[derive(Debug, Clone, Object, sqlx::FromRow)]
#[oai(skip_serializing_if_is_none)]
pub struct VenueView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// classroom 教室 | gym 体育馆 | canteen 食堂 | field 操场 | hall 礼堂 | other 其他
    pub kind: VenueKind,
    pub capacity: i32,
}

#[derive(Debug, Clone, Object, sqlx::FromRow)]
#[oai(skip_serializing_if_is_none)]
pub struct PeriodView {
    pub id: i64,
    pub code: String,
    /// 如“午托”“课后”“周六日”
    pub name: String,
    /// noon | after_school | evening | weekend
    pub kind: PeriodKind,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    /// 1 = 周一 … 7 = 周日
    pub weekdays: Vec<i16>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TermRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub teaching_weekdays: Vec<i16>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TermView {
    pub code: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 本学期上课日总数（含调休上课日）
    pub school_days: u32,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// 1 = 周一 … 7 = 周日
    pub weekday: u8,
    /// teaching | makeup | holiday | closure | weekend | outside_term
    pub kind: DayKind,
    /// 中文说明，如“上课日”“国庆节”
    pub label: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CalendarView {
    pub term: TermView,
    pub days: Vec<CalendarDay>,
}

static CODE_RE: Lazy<Regex> = Lazy::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern
    Regex::new(r"^[a-z0-9][a-z0-9_-]{0,31}$").unwrap()
});

/// A code of a grade, class, venue, period or term: `^[a-z0-9][a-z0-9_-]{0,31}$`. Graduated
/// classes get `<code>@<year>`, which no valid code can equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code(String);

impl Code {
    pub fn parse(s: &str) -> Option<Self> {
        CODE_RE.is_match(s).then(|| Self(s.to_string()))
    }

    /// `s` as the code sent in `field`, or the refusal naming that field.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, SchoolError> {
        Self::parse(s).ok_or_else(|| SchoolError::CodeInvalid {
            field,
            value: s.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest name of anything in the organisation (grade, class, alias, venue, period, term,
/// calendar day), in characters.
pub const NAME_MAX: usize = 50;

/// A display name: trimmed, 1..=50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        let n = t.chars().count();
        (1..=NAME_MAX).contains(&n).then(|| Self(t.to_string()))
    }

    /// `s` as the name sent in `field`, or the refusal naming that field.
    pub fn parse_field(field: &'static str, s: &str) -> Result<Self, SchoolError> {
        Self::parse(s).ok_or(SchoolError::NameInvalid { field })
    }

    /// A class alias: blank means none.
    pub fn parse_alias(s: &str) -> Result<Option<Self>, SchoolError> {
        if s.trim().is_empty() {
            return Ok(None);
        }
        Self::parse_field("alias", s).map(Some)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO weekdays (1 = Monday .. 7 = Sunday): at least one, none twice; kept sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weekdays(Vec<i16>);

impl Weekdays {
    pub fn parse(days: &[i16]) -> Option<Self> {
        let mut v = days.to_vec();
        v.sort_unstable();
        v.dedup();
        let valid =
            !days.is_empty() && v.len() == days.len() && v.iter().all(|d| (1..=7).contains(d));
        valid.then_some(Self(v))
    }

    /// `days` as the weekdays sent in `field`, or the refusal naming that field.
    pub fn parse_field(field: &'static str, days: &[i16]) -> Result<Self, SchoolError> {
        Self::parse(days).ok_or_else(|| SchoolError::WeekdaysInvalid {
            field,
            value: days.to_vec(),
        })
    }

    pub fn as_slice(&self) -> &[i16] {
        &self.0
    }
}

/// `s` as the date (`YYYY-MM-DD`) sent in `field`.
pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, SchoolError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| SchoolError::DateInvalid {
        field,
        value: s.to_string(),
    })
}

/// `s` as the time of day (`HH:MM`, or `HH:MM:SS`) sent in `field`.
pub fn parse_time(field: &'static str, s: &str) -> Result<NaiveTime, SchoolError> {
    let t = s.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .map_err(|_| SchoolError::TimeInvalid {
            field,
            value: s.to_string(),
        })
}

/// A time of day as the API and the audit trail show it: `HH:MM`.
pub fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// Grade levels (年级序号): 一年级 is 1; promotion moves a class to the next higher level.
pub const LEVELS: RangeInclusive<i16> = 1..=12;
/// People a venue holds.
pub const CAPACITY: RangeInclusive<i32> = 1..=10_000;
/// School years a promotion may name (by the year they start in).
pub const SCHOOL_YEARS: RangeInclusive<i16> = 2000..=2100;
/// Longest term, in days (both ends included).
pub const TERM_MAX_DAYS: i64 = 200;

/// `s` as one of the kinds in `allowed`, or the refusal listing them (field `kind`).
fn parse_kind<T>(
    s: &str,
    parse: fn(&str) -> Option<T>,
    allowed: &'static [&'static str],
) -> Result<T, SchoolError> {
    parse(s).ok_or_else(|| SchoolError::KindInvalid {
        value: s.to_string(),
        allowed,
    })
}

text_enum! {
    /// What a venue is (`venues.kind`).
    pub enum VenueKind {
        Classroom = "classroom" => "教室",
        Gym = "gym" => "体育馆",
        Canteen = "canteen" => "食堂",
        Field = "field" => "操场",
        Hall = "hall" => "礼堂",
        Other = "other" => "其他",
    }
}

impl VenueKind {
    /// The kind sent in a request's `kind`.
    pub fn parse_field(s: &str) -> Result<Self, SchoolError> {
        parse_kind(s, Self::parse, Self::NAMES)
    }
}

text_enum! {
    /// When in the day a period runs (`periods.kind`).
    pub enum PeriodKind {
        Noon = "noon" => "午托",
        AfterSchool = "after_school" => "课后",
        Evening = "evening" => "晚托",
        Weekend = "weekend" => "周末",
    }
}

impl PeriodKind {
    /// The kind sent in a request's `kind`.
    pub fn parse_field(s: &str) -> Result<Self, SchoolError> {
        parse_kind(s, Self::parse, Self::NAMES)
    }
}

text_enum! {
    /// An exception to the term's weekly rule (`calendar_exceptions.kind`).
    pub enum ExceptionKind {
        Holiday = "holiday" => "放假",
        Makeup = "makeup" => "调休上课",
        Closure = "closure" => "停课",
    }
}

impl ExceptionKind {
    /// The kind sent in a request's `kind`.
    pub fn parse_field(s: &str) -> Result<Self, SchoolError> {
        parse_kind(s, Self::parse, Self::NAMES)
    }

    /// The kind the calendar gives a day carrying this exception.
    pub fn day_kind(self) -> DayKind {
        match self {
            ExceptionKind::Holiday => DayKind::Holiday,
            ExceptionKind::Makeup => DayKind::Makeup,
            ExceptionKind::Closure => DayKind::Closure,
        }
    }
}

text_enum! {
    /// Whether a class is taught this year or has graduated (`classes.status`).
    pub enum ClassStatus {
        Active = "active" => "在读",
        Graduated = "graduated" => "已毕业",
    }
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewGrade {
    /// 年级代码，如 g1（小写字母、数字、下划线、连字符，最长 32）
    pub code: String,
    /// 如“一年级”
    pub name: String,
    /// 年级序号 1..12（升级时升入序号更大的下一个年级）
    pub level: i16,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GradePatch {
    pub name: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewClass {
    pub grade_id: i64,
    /// 班级代码，如 g1c4
    pub code: String,
    /// 系统名称，如“一年级4班”
    pub name: String,
    /// 班级别名，如“向日葵班”
    pub alias: Option<String>,
    /// 班级教室（场地 id）
    pub venue_id: Option<i64>,
}

/// Only the fields sent change; `null` clears `alias` and `venue_id`.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClassPatch {
    pub name: Option<String>,
    pub alias: MaybeUndefined<String>,
    pub venue_id: MaybeUndefined<i64>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PromoteRequest {
    /// 新学年（以开始的年份命名），如 2027 表示 2027—2028 学年
    pub school_year: i16,
    /// 毕业日期 YYYY-MM-DD，默认今天
    pub graduation_date: Option<String>,
    /// 只返回升级计划，不做任何修改
    #[oai(default)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PromotionStep {
    pub class_id: i64,
    pub code: String,
    pub new_code: String,
    pub name: String,
    pub new_name: String,
    pub alias: Option<String>,
    pub from_grade: String,
    /// 升入的年级代码；毕业时为空
    pub to_grade: Option<String>,
    pub graduating: bool,
    /// 毕业班级的在读学生数
    pub graduating_students: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PromotionSummary {
    pub school_year: i16,
    /// 升入下一年级的班级数
    pub promoted: i64,
    pub graduated_classes: i64,
    pub graduated_students: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PromotionResult {
    pub dry_run: bool,
    pub summary: PromotionSummary,
    pub plan: Vec<PromotionStep>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewVenue {
    pub code: String,
    pub name: String,
    /// classroom 教室 | gym 体育馆 | canteen 食堂 | field 操场 | hall 礼堂 | other 其他
    pub kind: String,
    /// 容纳人数 1..10000
    pub capacity: i32,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct VenuePatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub capacity: Option<i32>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewPeriod {
    pub code: String,
    pub name: String,
    /// noon | after_school | evening | weekend
    pub kind: String,
    /// 开始时间 HH:MM，如 "12:00"
    pub starts_at: String,
    /// 结束时间 HH:MM，须晚于开始时间
    pub ends_at: String,
    /// 1 = 周一 … 7 = 周日，至少一天，不重复
    pub weekdays: Vec<i16>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PeriodPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub weekdays: Option<Vec<i16>>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewTerm {
    /// 学期代码，如 2027-spring
    pub code: String,
    pub name: String,
    /// 开学日期 YYYY-MM-DD
    pub starts_on: String,
    /// 结束日期 YYYY-MM-DD（含当天，学期最长 200 天）
    pub ends_on: String,
    /// 每周上课的日子，1 = 周一 … 7 = 周日
    pub teaching_weekdays: Vec<i16>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TermPatch {
    pub name: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub teaching_weekdays: Option<Vec<i16>>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TermDayRequest {
    /// holiday 放假 | makeup 调休上课 | closure 停课
    pub kind: String,
    /// 如“国庆节”“国庆节调休上课”
    pub name: String,
}

/// A new venue, as the repository writes it.
#[derive(Debug, Clone)]
pub struct VenueFields {
    pub code: Code,
    pub name: Name,
    pub kind: VenueKind,
    pub capacity: i32,
}

/// The fields of a venue a change sets; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct VenueChange {
    pub code: Option<Code>,
    pub name: Option<Name>,
    pub kind: Option<VenueKind>,
    pub capacity: Option<i32>,
}

/// A new period, as the repository writes it.
#[derive(Debug, Clone)]
pub struct PeriodFields {
    pub code: Code,
    pub name: Name,
    pub kind: PeriodKind,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub weekdays: Weekdays,
}

/// The fields of a period a change sets; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct PeriodChange {
    pub code: Option<Code>,
    pub name: Option<Name>,
    pub kind: Option<PeriodKind>,
    pub starts_at: Option<NaiveTime>,
    pub ends_at: Option<NaiveTime>,
    pub weekdays: Option<Weekdays>,
}

/// A new term, as the repository writes it.
#[derive(Debug, Clone)]
pub struct TermFields {
    pub code: Code,
    pub name: Name,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub teaching_weekdays: Weekdays,
}

/// The fields of a term a change sets (its code never changes); `None` keeps the stored
/// value.
#[derive(Debug, Clone, Default)]
pub struct TermChange {
    pub name: Option<Name>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub teaching_weekdays: Option<Weekdays>,
}

/// The class columns promotion works on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClassRow {
    pub id: i64,
    pub grade_id: i64,
    pub code: String,
    pub name: String,
    pub alias: Option<String>,
    pub status: ClassStatus,
    pub venue_id: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lower_case_ascii_up_to_32() {
        for ok in ["g1", "g1c2", "2026-autumn", "c_101", &"a".repeat(32)] {
            assert!(Code::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "G1",
            "-a",
            "_a",
            "a b",
            "g6c1@2027",
            "三年级",
            &"a".repeat(33),
        ] {
            assert!(Code::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_counted_in_characters() {
        assert_eq!(Name::parse("  三年级2班 ").unwrap().as_str(), "三年级2班");
        assert!(Name::parse("   ").is_none());
        assert!(Name::parse(&"班".repeat(50)).is_some());
        assert!(Name::parse(&"班".repeat(51)).is_none());
    }

    #[test]
    fn kinds_read_and_show_as_their_column_text() {
        use poem_openapi::types::{ParseFromJSON, ToJSON, Type};
        for k in VenueKind::ALL {
            assert_eq!(VenueKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(VenueKind::NAMES.len(), VenueKind::ALL.len());
        assert_eq!(
            PeriodKind::parse("after_school"),
            Some(PeriodKind::AfterSchool)
        );
        assert_eq!(ExceptionKind::parse("teaching"), None);
        assert_eq!(ExceptionKind::Makeup.day_kind(), DayKind::Makeup);
        assert_eq!(
            serde_json::to_value(PeriodKind::AfterSchool).unwrap(),
            serde_json::json!("after_school")
        );
        assert_eq!(VenueKind::Gym.to_json(), Some(serde_json::json!("gym")));
        assert_eq!(
            ClassStatus::parse_from_json(Some(serde_json::json!("graduated"))).ok(),
            Some(ClassStatus::Graduated)
        );
        assert!(ClassStatus::parse_from_json(Some(serde_json::json!("left"))).is_err());
        // The API document shows a kind as the plain string it was.
        assert_eq!(DayKind::name(), String::name());
    }

    #[test]
    fn a_refused_value_names_its_field() {
        assert!(matches!(
            Code::parse_field("code", "G1"),
            Err(SchoolError::CodeInvalid { field: "code", .. })
        ));
        assert!(matches!(Name::parse_alias("  "), Ok(None)));
        assert!(matches!(
            parse_time("ends_at", "25:00"),
            Err(SchoolError::TimeInvalid {
                field: "ends_at",
                ..
            })
        ));
        assert_eq!(
            parse_time("starts_at", " 12:00:00 ").ok(),
            NaiveTime::from_hms_opt(12, 0, 0)
        );
        assert!(matches!(
            VenueKind::parse_field("pool"),
            Err(SchoolError::KindInvalid { allowed, .. }) if allowed == VenueKind::NAMES
        ));
    }

    #[test]
    fn weekdays_are_one_to_seven_without_repeats() {
        assert_eq!(Weekdays::parse(&[5, 1, 3]).unwrap().as_slice(), &[1, 3, 5]);
        assert!(Weekdays::parse(&[]).is_none());
        assert!(Weekdays::parse(&[0, 1]).is_none());
        assert!(Weekdays::parse(&[1, 8]).is_none());
        assert!(Weekdays::parse(&[1, 1]).is_none());
    }
}
