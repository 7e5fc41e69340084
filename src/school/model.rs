//! Request and response types of the school organisation and calendar, and the validated
//! values (codes, names, weekdays) the editing rules are written in.

use chrono::{NaiveDate, NaiveTime};
use once_cell::sync::Lazy;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::Object;
use regex::Regex;

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
    pub status: String,
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
    pub kind: String,
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
    pub kind: String,
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
    pub kind: String,
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

    pub fn as_slice(&self) -> &[i16] {
        &self.0
    }
}

pub const VENUE_KINDS: [&str; 6] = ["classroom", "gym", "canteen", "field", "hall", "other"];
pub const PERIOD_KINDS: [&str; 4] = ["noon", "after_school", "evening", "weekend"];

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

/// A new or changed row, as the repository writes it.
#[derive(Debug, Clone)]
pub struct VenueFields {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub capacity: i32,
}

#[derive(Debug, Clone)]
pub struct PeriodFields {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub weekdays: Vec<i16>,
}

#[derive(Debug, Clone)]
pub struct TermFields {
    pub code: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub teaching_weekdays: Vec<i16>,
}

/// The class columns promotion works on.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClassRow {
    pub id: i64,
    pub grade_id: i64,
    pub code: String,
    pub name: String,
    pub alias: Option<String>,
    pub status: String,
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
    fn weekdays_are_one_to_seven_without_repeats() {
        assert_eq!(Weekdays::parse(&[5, 1, 3]).unwrap().as_slice(), &[1, 3, 5]);
        assert!(Weekdays::parse(&[]).is_none());
        assert!(Weekdays::parse(&[0, 1]).is_none());
        assert!(Weekdays::parse(&[1, 8]).is_none());
        assert!(Weekdays::parse(&[1, 1]).is_none());
    }
}
