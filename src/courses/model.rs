//! Request and response types of after-school courses (F2), and the validated values the
//! rules are written in: each newtype's only constructor checks it, so a `Price` or a
//! `Capacity` in hand is known to fit the table's constraints.

use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{Enum, Object};
use rust_decimal::Decimal;

use super::error::CourseError;
use crate::school::model::Code;

/// Most pictures one course may carry.
pub const PICTURES_MAX: usize = 6;
/// Largest picture accepted, in bytes (5 MiB).
pub const PICTURE_MAX_BYTES: usize = 5 * 1024 * 1024;
/// Store category of course pictures: keys are `<tenant>/course-pictures/<uuid>.<ext>`.
pub const PICTURE_CATEGORY: &str = "course-pictures";

/// F2 班级类型.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CourseClassType {
    /// 托管（按服务天数计费）
    Custody,
    /// 培训（按课程计费）
    Training,
}

impl CourseClassType {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseClassType::Custody => "custody",
            CourseClassType::Training => "training",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CourseClassType::Custody => "托管",
            CourseClassType::Training => "培训",
        }
    }

    /// The only pricing a class type may use: custody is charged per served day of the
    /// term calendar, a training course once.
    pub fn pricing(self) -> CoursePricing {
        match self {
            CourseClassType::Custody => CoursePricing::PerDay,
            CourseClassType::Training => CoursePricing::PerCourse,
        }
    }

    pub fn from_db(s: &str) -> Self {
        if s == "custody" {
            CourseClassType::Custody
        } else {
            CourseClassType::Training
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CoursePricing {
    /// 按天计费
    PerDay,
    /// 按课程计费
    PerCourse,
}

impl CoursePricing {
    pub const fn as_str(self) -> &'static str {
        match self {
            CoursePricing::PerDay => "per_day",
            CoursePricing::PerCourse => "per_course",
        }
    }

    pub fn from_db(s: &str) -> Self {
        if s == "per_day" {
            CoursePricing::PerDay
        } else {
            CoursePricing::PerCourse
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CourseAllocation {
    /// 先到先得
    Fcfs,
    /// 报名截止后抽签
    Lottery,
}

impl CourseAllocation {
    pub fn as_str(self) -> &'static str {
        match self {
            CourseAllocation::Fcfs => "fcfs",
            CourseAllocation::Lottery => "lottery",
        }
    }

    pub fn from_db(s: &str) -> Self {
        if s == "lottery" {
            CourseAllocation::Lottery
        } else {
            CourseAllocation::Fcfs
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CourseStatus {
    /// 草稿（家长不可见）
    Draft,
    /// 已发布
    Published,
    /// 已关闭
    Closed,
}

impl CourseStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            CourseStatus::Draft => "draft",
            CourseStatus::Published => "published",
            CourseStatus::Closed => "closed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CourseStatus::Draft => "草稿",
            CourseStatus::Published => "已发布",
            CourseStatus::Closed => "已关闭",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CourseStatus::Draft,
            CourseStatus::Published,
            CourseStatus::Closed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// The stored status; the table's check constraint allows only the three.
    pub fn from_db(s: &str) -> Self {
        Self::parse(s).unwrap_or(CourseStatus::Draft)
    }
}

/// A new course (F2), created as a draft.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewCourse {
    /// 课程代码，如 art-g3（小写字母、数字、下划线、连字符，最长 32）；不填则由系统生成
    #[oai(default)]
    pub code: String,
    /// custody 托管 | training 培训
    pub class_type: CourseClassType,
    /// 班级名称，1..50 字
    pub name: String,
    /// 培训类目，如“美术”“托管”，1..20 字
    pub category: String,
    /// 简介，最多 2000 字
    #[oai(default)]
    pub intro: String,
    /// 学期代码，如 2026-autumn
    pub term_code: String,
    /// 开班时段（时段 id）
    pub period_id: Option<i64>,
    /// 上课场地（场地 id）
    pub venue_id: Option<i64>,
    /// 每周上课的日子，1 = 周一 … 7 = 周日
    pub weekdays: Vec<i16>,
    /// 上课时间 HH:MM，如 "16:30"
    pub starts_at: String,
    /// 下课时间 HH:MM，须晚于上课时间
    pub ends_at: String,
    /// 开课日期 YYYY-MM-DD，默认学期开始日，须在学期内
    pub starts_on: Option<String>,
    /// 结课日期 YYYY-MM-DD，默认学期结束日，须在学期内
    pub ends_on: Option<String>,
    /// 开班规模（人数）1..2000
    pub capacity: i32,
    /// 价格（元），如 "120.00"，0..100000，最多两位小数
    pub price: String,
    /// per_day 按天（托管）| per_course 按课程（培训）
    pub pricing: CoursePricing,
    /// 可报名的年级序号（1..9），须为本校已有年级
    pub eligible_levels: Vec<i16>,
    /// 报名开始时间（RFC 3339），如 "2026-08-20T09:00:00+08:00"
    pub reg_opens_at: String,
    /// 报名截止时间（RFC 3339），须晚于开始时间且不晚于课程结束
    pub reg_closes_at: String,
    /// fcfs 先到先得（默认）| lottery 抽签
    pub allocation: Option<CourseAllocation>,
    /// 名额保留分钟数（待支付），5..1440，默认 30
    pub hold_minutes: Option<i32>,
    /// 授课教师（教职工 id，须在职）
    #[oai(default)]
    pub teacher_ids: Vec<i64>,
    /// 所属系列课程的代码：本课程作为其子项目，与之同一学期
    pub parent_code: Option<String>,
}

/// Only the fields sent change; `null` clears `period_id`, `venue_id` and `parent_code`.
/// Code and term cannot change.
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CoursePatch {
    pub class_type: Option<CourseClassType>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub intro: Option<String>,
    pub period_id: MaybeUndefined<i64>,
    pub venue_id: MaybeUndefined<i64>,
    pub weekdays: Option<Vec<i16>>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    /// 不能少于已报名人数
    pub capacity: Option<i32>,
    pub price: Option<String>,
    pub pricing: Option<CoursePricing>,
    pub eligible_levels: Option<Vec<i16>>,
    pub reg_opens_at: Option<String>,
    pub reg_closes_at: Option<String>,
    pub allocation: Option<CourseAllocation>,
    pub hold_minutes: Option<i32>,
    /// 替换全部授课教师
    pub teacher_ids: Option<Vec<i64>>,
    pub parent_code: MaybeUndefined<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CourseTeacherView {
    /// 教职工 id
    pub id: i64,
    pub name: String,
}

/// One course with every F2 field, its names resolved and its remaining places.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CourseView {
    pub id: i64,
    pub code: String,
    /// custody 托管 | training 培训
    pub class_type: CourseClassType,
    /// 班级类型中文名
    pub class_type_label: String,
    pub name: String,
    /// 培训类目
    pub category: String,
    /// 简介
    pub intro: String,
    pub term_code: String,
    pub term_name: String,
    /// 开班时段
    pub period_id: Option<i64>,
    pub period_name: Option<String>,
    pub venue_id: Option<i64>,
    pub venue_name: Option<String>,
    /// 1 = 周一 … 7 = 周日
    pub weekdays: Vec<i16>,
    /// HH:MM
    pub starts_at: String,
    /// HH:MM
    pub ends_at: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 开班规模
    pub capacity: i32,
    /// 已占名额（待支付与已确认）
    pub taken: i32,
    /// 剩余名额
    pub remaining: i32,
    /// 价格（元），两位小数
    pub price: String,
    pub pricing: CoursePricing,
    /// 可报名的年级序号
    pub eligible_levels: Vec<i16>,
    pub reg_opens_at: DateTime<Utc>,
    pub reg_closes_at: DateTime<Utc>,
    pub allocation: CourseAllocation,
    /// 名额保留分钟数
    pub hold_minutes: i32,
    /// 图片地址（相对 API 根路径），序号从 0 开始
    pub pictures: Vec<String>,
    pub status: CourseStatus,
    /// 状态中文名
    pub status_label: String,
    pub teachers: Vec<CourseTeacherView>,
    /// 所属系列课程
    pub parent_id: Option<i64>,
    pub parent_code: Option<String>,
    /// 系列课程的子项目
    pub sub_items: Vec<CourseView>,
}

// --- validated values -------------------------------------------------------------------

/// A course code: the same shape as every other code of the school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseCode(Code);

impl CourseCode {
    /// `s` trimmed, if it is a code; the refusal names `s` as typed.
    pub fn parse(s: &str) -> Result<Self, CourseError> {
        Code::parse(s.trim())
            .map(Self)
            .ok_or_else(|| CourseError::CodeInvalid { value: s.into() })
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// Trimmed text of `min..=max` characters.
fn bounded_text(s: &str, min: usize, max: usize) -> Option<String> {
    let t = s.trim();
    (min..=max)
        .contains(&t.chars().count())
        .then(|| t.to_string())
}

pub const NAME_MAX: usize = 50;
pub const CATEGORY_MAX: usize = 20;
pub const INTRO_MAX: usize = 2000;

/// 班级名称: 1..=50 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseName(String);

impl CourseName {
    pub fn parse(s: &str) -> Result<Self, CourseError> {
        bounded_text(s, 1, NAME_MAX)
            .map(Self)
            .ok_or(CourseError::NameInvalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 培训类目: 1..=20 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    pub fn parse(s: &str) -> Result<Self, CourseError> {
        bounded_text(s, 1, CATEGORY_MAX)
            .map(Self)
            .ok_or(CourseError::CategoryInvalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 简介: up to 2000 characters, may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intro(String);

impl Intro {
    pub fn parse(s: &str) -> Result<Self, CourseError> {
        bounded_text(s, 0, INTRO_MAX)
            .map(Self)
            .ok_or(CourseError::IntroInvalid)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 开班规模: 1..=2000 places. More is a typing error, not a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity(i32);

impl Capacity {
    pub const MAX: i32 = 2000;

    pub fn parse(n: i32) -> Result<Self, CourseError> {
        (1..=Self::MAX)
            .contains(&n)
            .then_some(Self(n))
            .ok_or(CourseError::CapacityInvalid { value: n })
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// A price in yuan: 0..=100000 with at most two decimals, written as digits and one dot
/// ("120", "120.5", "120.00"); no sign, exponent or thousands separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price(Decimal);

impl Price {
    pub const MAX_YUAN: i64 = 100_000;

    pub fn parse(s: &str) -> Result<Self, CourseError> {
        Self::amount(s).ok_or_else(|| CourseError::PriceInvalid { value: s.into() })
    }

    fn amount(s: &str) -> Option<Self> {
        let t = s.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return None;
        }
        let d = Decimal::from_str(t).ok()?.normalize();
        (d.scale() <= 2 && d <= Decimal::from(Self::MAX_YUAN)).then_some(Self(d))
    }

    pub fn get(self) -> Decimal {
        self.0
    }

    /// "120.00"
    pub fn display(d: Decimal) -> String {
        format!("{d:.2}")
    }
}

/// Grade levels that may book: 1..=9 (compulsory education), at least one, none twice;
/// kept sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibleLevels(Vec<i16>);

impl EligibleLevels {
    pub fn parse(levels: &[i16]) -> Result<Self, CourseError> {
        let mut v = levels.to_vec();
        v.sort_unstable();
        v.dedup();
        let ok =
            !levels.is_empty() && v.len() == levels.len() && v.iter().all(|l| (1..=9).contains(l));
        ok.then_some(Self(v))
            .ok_or_else(|| CourseError::LevelsInvalid {
                value: levels.to_vec(),
            })
    }

    pub fn as_slice(&self) -> &[i16] {
        &self.0
    }
}

/// Minutes a booked place is held for payment: 5..=1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HoldMinutes(i32);

impl HoldMinutes {
    pub const DEFAULT: i32 = 30;

    pub fn parse(n: i32) -> Result<Self, CourseError> {
        (5..=1440)
            .contains(&n)
            .then_some(Self(n))
            .ok_or(CourseError::HoldInvalid { value: n })
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// "16:30" or "16:30:00".
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let t = s.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .ok()
}

/// "2026-09-01".
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// An RFC 3339 instant with its offset, as UTC.
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The instant a wall-clock time on `day` happens in China Standard Time, where every
/// school of the platform is.
pub fn china_instant(day: NaiveDate, time: NaiveTime) -> Option<DateTime<Utc>> {
    let cst = FixedOffset::east_opt(8 * 3600)?;
    day.and_time(time)
        .and_local_timezone(cst)
        .single()
        .map(|d| d.with_timezone(&Utc))
}

/// A validated course as the repository writes it (all fields but code and term may
/// change later).
#[derive(Debug, Clone, PartialEq)]
pub struct CourseFields {
    pub code: String,
    pub parent_id: Option<i64>,
    pub class_type: CourseClassType,
    pub name: String,
    pub category: String,
    pub intro: String,
    pub term_id: i64,
    pub period_id: Option<i64>,
    pub venue_id: Option<i64>,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub capacity: i32,
    pub price: Decimal,
    pub pricing: CoursePricing,
    pub eligible_levels: Vec<i16>,
    pub reg_opens_at: DateTime<Utc>,
    pub reg_closes_at: DateTime<Utc>,
    pub allocation: CourseAllocation,
    pub hold_minutes: i32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_plain_amounts_up_to_one_hundred_thousand_with_two_decimals() {
        for (s, want) in [
            ("120.00", "120.00"),
            ("120", "120.00"),
            ("0", "0.00"),
            ("99.5", "99.50"),
            (" 100000 ", "100000.00"),
            ("120.000", "120.00"),
        ] {
            let p = Price::parse(s).unwrap_or_else(|_| panic!("{s}"));
            assert_eq!(Price::display(p.get()), want);
        }
        for bad in [
            "",
            "-1",
            "-0.01",
            "100000.01",
            "1e3",
            "+5",
            "12.345",
            "abc",
            "1,000",
            "1.2.3",
            ".",
        ] {
            assert!(Price::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn capacity_hold_and_levels_have_sane_bounds() {
        assert!(Capacity::parse(1).is_ok());
        assert!(Capacity::parse(2000).is_ok());
        assert!(Capacity::parse(0).is_err());
        assert!(Capacity::parse(2001).is_err());
        assert!(HoldMinutes::parse(5).is_ok());
        assert!(HoldMinutes::parse(1440).is_ok());
        assert!(HoldMinutes::parse(4).is_err());
        assert!(HoldMinutes::parse(1441).is_err());
        assert_eq!(EligibleLevels::parse(&[3, 1]).unwrap().as_slice(), &[1, 3]);
        assert!(EligibleLevels::parse(&[]).is_err());
        assert!(EligibleLevels::parse(&[0]).is_err());
        assert!(EligibleLevels::parse(&[10]).is_err());
        assert!(EligibleLevels::parse(&[2, 2]).is_err());
    }

    #[test]
    fn texts_are_trimmed_and_counted_in_characters() {
        assert_eq!(
            CourseName::parse(" 少儿美术 ").unwrap().as_str(),
            "少儿美术"
        );
        assert!(CourseName::parse("  ").is_err());
        assert!(Category::parse(&"类".repeat(21)).is_err());
        assert!(Intro::parse("").is_ok());
        assert!(Intro::parse(&"介".repeat(2001)).is_err());
        assert!(CourseCode::parse("art-g3").is_ok());
        assert!(CourseCode::parse("Art").is_err());
    }

    #[test]
    fn a_wall_clock_time_is_read_in_china_standard_time() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 22).unwrap();
        let t = NaiveTime::from_hms_opt(18, 0, 0).unwrap();
        assert_eq!(
            china_instant(d, t).unwrap().to_rfc3339(),
            "2027-01-22T10:00:00+00:00"
        );
    }
}
