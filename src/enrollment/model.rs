//! Enrollment's types: what a parent sees on the phone (bookings, offers, clashes, the
//! week, lines and draws), withdrawal and transfer requests, what staff see (enrollment
//! status, sessions, teaching timetables), the rows the repo reads for them, and the
//! status columns as enums.
//!
//! The views carry statuses as the strings the API has always answered with; the enums
//! here are what the rules compare. Must never change a view's JSON shape or a stored
//! value: the OpenAPI document and the tables' check constraints name them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use poem_openapi::{Enum, Object};

// ---- weekdays ----------------------------------------------------------------------------

/// The Chinese name of a weekday number (1 = 周一 … 7 = 周日); empty for anything else.
pub fn weekday_label(n: i16) -> &'static str {
    const NAMES: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or_default()
}

/// "周一、周三" for `[1, 3]`.
pub fn weekdays_zh(days: &[i16]) -> String {
    days.iter()
        .map(|d| weekday_label(*d))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("、")
}

// ---- status columns ----------------------------------------------------------------------

/// `enrollments.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrollmentStatus {
    /// A place reserved until `hold_expires_at`, waiting for payment.
    Held,
    Confirmed,
    Expired,
    Cancelled,
    Withdrawn,
}

crate::text_column!(EnrollmentStatus {
    Held => "held",
    Confirmed => "confirmed",
    Expired => "expired",
    Cancelled => "cancelled",
    Withdrawn => "withdrawn",
});

impl EnrollmentStatus {
    /// What parents read.
    pub fn label(self) -> &'static str {
        match self {
            EnrollmentStatus::Held => "待支付（名额保留中）",
            EnrollmentStatus::Confirmed => "已报名",
            EnrollmentStatus::Expired => "已过期（未支付）",
            EnrollmentStatus::Cancelled => "已取消",
            EnrollmentStatus::Withdrawn => "已退课",
        }
    }

    /// Held or confirmed: the child has the place.
    pub fn is_live(self) -> bool {
        matches!(self, EnrollmentStatus::Held | EnrollmentStatus::Confirmed)
    }
}

/// `waitlist.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitlistStatus {
    /// A lottery application before the draw.
    Applied,
    /// In line.
    Waiting,
    /// A hold was made for them.
    Offered,
    Accepted,
    Expired,
    Left,
    Lost,
}

crate::text_column!(WaitlistStatus {
    Applied => "applied",
    Waiting => "waiting",
    Offered => "offered",
    Accepted => "accepted",
    Expired => "expired",
    Left => "left",
    Lost => "lost",
});

/// `refund_requests.status`: what an ended paid enrollment owes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRequestStatus {
    Requested,
    Processing,
    Refunded,
    Failed,
}

crate::text_column!(RefundRequestStatus {
    Requested => "requested",
    Processing => "processing",
    Refunded => "refunded",
    Failed => "failed",
});

impl RefundRequestStatus {
    pub fn label(self) -> &'static str {
        match self {
            RefundRequestStatus::Requested => "待退费",
            RefundRequestStatus::Processing => "退费中",
            RefundRequestStatus::Refunded => "已退费",
            RefundRequestStatus::Failed => "退费失败",
        }
    }
}

// ---- parents ------------------------------------------------------------------------------

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

// ---- requests ------------------------------------------------------------------------------

/// Longest reason or review comment, as the table allows.
pub const TEXT_MAX: usize = 500;

/// End reason of the enrollment a transfer moves away from.
pub const TRANSFER_END_REASON: &str = "调班";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RequestKind {
    /// 退课（R-P05）
    Withdraw,
    /// 调班（R-P14）
    Transfer,
}

crate::text_column!(RequestKind {
    Withdraw => "withdraw",
    Transfer => "transfer",
});

impl RequestKind {
    pub fn label(self) -> &'static str {
        match self {
            RequestKind::Withdraw => "退课",
            RequestKind::Transfer => "调班",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RequestStatus {
    /// 待审核
    Pending,
    /// 已同意
    Approved,
    /// 已驳回
    Rejected,
    /// 已撤回
    Cancelled,
}

crate::text_column!(RequestStatus {
    Pending => "pending",
    Approved => "approved",
    Rejected => "rejected",
    Cancelled => "cancelled",
});

impl RequestStatus {
    pub fn label(self) -> &'static str {
        match self {
            RequestStatus::Pending => "待审核",
            RequestStatus::Approved => "已同意",
            RequestStatus::Rejected => "已驳回",
            RequestStatus::Cancelled => "已撤回",
        }
    }
}

/// A withdrawal or transfer request as parents and reviewers see it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RequestView {
    pub id: i64,
    /// withdraw 退课 | transfer 调班
    pub kind: String,
    pub kind_label: String,
    /// pending 待审核 | approved 已同意 | rejected 已驳回 | cancelled 已撤回
    pub status: String,
    pub status_label: String,
    pub enrollment_id: i64,
    pub course_id: i64,
    pub course_name: String,
    /// 调班的目标课程
    pub target_course_id: Option<i64>,
    pub target_course_name: Option<String>,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    /// 班级别名，如“雏鹰班”
    pub class_alias: Option<String>,
    /// 家长填写的原因
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// 审核意见
    pub review_comment: Option<String>,
    /// 退课的退费进度：requested 待退费 | processing 退费中 | refunded 已退费 | failed 退费失败
    pub refund_status: Option<String>,
    pub refund_status_label: Option<String>,
}

// ---- staff ---------------------------------------------------------------------------------

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

// ---- rows of staff views ---------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
/// A live place of a child, with the class it is counted in.
pub struct LiveRow {
    pub enrollment_id: i64,
    pub course_id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    pub class_alias: Option<String>,
    pub status: EnrollmentStatus,
    pub hold_expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
/// A course as the enrollment status shows it, with its seats.
pub struct StatusCourseRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub class_type: String,
    pub status: String,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub venue: Option<String>,
    pub capacity: i32,
    pub taken: i32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
/// A course that meets on a day.
pub struct SessionRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub class_type: String,
    pub category: String,
    pub term_id: i64,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
    pub capacity: i32,
}

#[derive(Debug, Clone, sqlx::FromRow)]
/// A course a teacher teaches, with its confirmed headcount.
pub struct TaughtRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub class_type: String,
    pub weekdays: Vec<i16>,
    pub starts_at: NaiveTime,
    pub ends_at: NaiveTime,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    pub venue: Option<String>,
    pub headcount: i64,
}
