//! Views of bookings: what a parent sees on the phone.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::Object;

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EnrollmentView {
    pub id: i64,
    pub course_id: i64,
    pub course_name: String,
    /// custody 托管 | training 培训
    pub class_type: String,
    pub student_id: i64,
    /// held 待支付 | confirmed 已报名 | expired 已过期 | cancelled 已取消 | withdrawn 已退课
    pub status: String,
    pub status_label: String,
    /// 名额保留截止时间（待支付时）
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
    /// 1 = 周一 … 7 = 周日
    pub weekdays: Vec<i16>,
    pub starts_at: String,
    pub ends_at: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub venue: Option<String>,
}

/// A course the child may book (R-P02).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OfferView {
    pub id: i64,
    pub code: String,
    /// 系列课程的子项目所属课程
    pub parent_id: Option<i64>,
    pub class_type: String,
    pub name: String,
    pub category: String,
    pub intro: String,
    /// 如“周一、周三 16:30–18:00”
    pub schedule: String,
    pub weekdays: Vec<i16>,
    pub starts_at: String,
    pub ends_at: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 元
    pub price: String,
    /// per_day 按托管天数计费 | per_course 按课程计费
    pub pricing: String,
    /// 按天计费时：本学期实际托管天数（按校历扣除节假日、停课）
    pub served_days: Option<u32>,
    /// 应付总额（元）：按天计费为 单价 × 托管天数
    pub total: String,
    pub reg_opens_at: DateTime<Utc>,
    pub reg_closes_at: DateTime<Utc>,
    /// 当前是否在报名时间内
    pub open: bool,
    /// 剩余名额
    pub remaining: i32,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
    /// 孩子已有的报名状态：held / confirmed；未报名为空。系列课程：全部单元都已报名时为其中最靠前的状态（有待支付即 held）
    pub booked: Option<String>,
    /// 系列课程：孩子已报名（或待支付）的单元数，与 `units` 相同即整套已报
    pub units_booked: i32,
    /// 系列课程的单元数；单独课程为 0
    pub units: i32,
    /// 课程图片地址（学校上传，按上传顺序）
    pub pictures: Vec<String>,
}

/// Why a course cannot be booked beside one the child already has (R-P03): shown before
/// booking, and the same words the refusal of a booking carries.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ClashView {
    /// 想报名的课程（系列课程时为其中的单元）
    pub course_id: i64,
    pub course_name: String,
    /// 冲突的已报名（或待支付）课程
    pub with_course_id: i64,
    pub with_course_name: String,
    /// 两者共同的上课日，1 = 周一 … 7 = 周日
    pub weekdays: Vec<i16>,
    /// 重叠的时段
    pub starts_at: String,
    pub ends_at: String,
    /// 如“时间冲突：“篮球队”与已报名的“足球兴趣班”都在周三 17:00–18:00”
    pub message: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TimetableSlot {
    pub enrollment_id: i64,
    pub course_name: String,
    pub class_type: String,
    pub starts_at: String,
    pub ends_at: String,
    pub venue: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TimetableDay {
    pub date: NaiveDate,
    pub weekday: i16,
    /// 周一 … 周日
    pub label: String,
    pub slots: Vec<TimetableSlot>,
}

/// The child's week (R-P11).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TimetableView {
    pub student_id: i64,
    pub student_name: String,
    /// 本周一
    pub week_of: NaiveDate,
    pub days: Vec<TimetableDay>,
}

/// A place in a course's line, or a lottery application.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct WaitlistView {
    pub id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub student_id: i64,
    /// applied 已申请抽签 | waiting 候补中 | offered 已获名额（待支付）| accepted 已报名 |
    /// expired 名额过期 | left 已退出 | lost 未中签
    pub status: String,
    /// 排在前面的人数（候补中时）
    pub ahead: Option<i64>,
    /// 获得名额时的报名记录
    pub enrollment_id: Option<i64>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DrawEntry {
    /// 抽签顺位
    pub position: i64,
    pub student_id: i64,
    pub status: String,
}

/// The published result of a lottery: seed, counts and every place.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DrawView {
    pub course_id: i64,
    /// 随机种子：任何人可用它复现抽签结果
    pub seed: i64,
    pub drawn_at: DateTime<Utc>,
    pub applicants: i32,
    pub winners: i32,
    pub order: Vec<DrawEntry>,
}
