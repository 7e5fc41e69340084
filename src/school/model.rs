//! Response types of the school organisation views.

use chrono::{NaiveDate, NaiveTime};
use poem_openapi::Object;

#[derive(Debug, Clone, Object, sqlx::FromRow)]
pub struct ClassView {
    pub id: i64,
    pub code: String,
    /// 系统名称，如“三年级2班”
    pub name: String,
    /// 班级别名，如“向日葵班”，教师和家长看到的名称
    pub alias: Option<String>,
    #[oai(skip)]
    #[allow(dead_code)]
    pub grade_id: i64,
}

#[derive(Debug, Clone, Object)]
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
pub struct VenueView {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// classroom 教室 | gym 体育馆 | canteen 食堂 | field 操场 | hall 礼堂 | other 其他
    pub kind: String,
    pub capacity: i32,
}

#[derive(Debug, Clone, Object, sqlx::FromRow)]
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
pub struct TermView {
    pub code: String,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 本学期上课日总数（含调休上课日）
    pub school_days: u32,
}

#[derive(Debug, Clone, Object)]
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
pub struct CalendarView {
    pub term: TermView,
    pub days: Vec<CalendarDay>,
}
