//! Attendance's requests and views.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::Object;

crate::text_enum! {
    /// `attendance_marks.mark`.
    pub enum Mark {
        Present = "present" => "已到",
        Late = "late" => "迟到",
        Absent = "absent" => "缺勤",
        LeftEarly = "left_early" => "早退",
        Leave = "leave" => "请假",
    }
}

/// 签到（可带手机定位）
#[derive(Debug, Clone, Default, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CheckinRequest {
    /// 纬度
    pub latitude: Option<f64>,
    /// 经度
    pub longitude: Option<f64>,
}

/// 教师签到记录
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CheckinView {
    pub course_id: i64,
    pub day: NaiveDate,
    pub teacher_name: String,
    pub checked_in_at: DateTime<Utc>,
    /// 超过开始时间的宽限后签到，记为迟到
    pub late: bool,
    /// 距学校的距离（米），手机提供了定位且学校设置了位置时
    pub distance_m: Option<i32>,
}

/// 一节课（某课程某一天）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AttendanceSession {
    pub course_id: i64,
    pub day: NaiveDate,
    pub name: String,
    pub class_type: String,
    pub venue: Option<String>,
    /// 上课时间，如“16:30–18:00”
    pub time: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// 可以签到的时间段
    pub checkin_opens_at: DateTime<Utc>,
    /// 此后签到记为迟到
    pub late_after: DateTime<Utc>,
    pub teachers: Vec<String>,
    pub checkins: Vec<CheckinView>,
    /// 签到窗口已过仍无人签到
    pub missed: bool,
    /// 应到人数（已确认报名）
    pub expected: i64,
    pub present: i64,
    pub absent: i64,
    /// 已点名人数
    pub marked: i64,
}

/// 点名单上的一个孩子
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RollEntry {
    pub student_id: i64,
    pub name: String,
    pub class_name: String,
    pub mark: Option<Mark>,
    pub mark_label: Option<String>,
    /// 未请假缺勤
    pub abnormal: bool,
}

/// 点名单
#[derive(Debug, Clone, Object)]
pub struct RollView {
    pub session: AttendanceSession,
    pub students: Vec<RollEntry>,
}

/// 一个孩子的考勤
#[derive(Debug, Clone, Object)]
pub struct MarkInput {
    pub student_id: i64,
    /// present 已到 | late 迟到 | absent 缺勤 | left_early 早退 | leave 请假
    pub mark: String,
}

/// 提交点名
#[derive(Debug, Clone, Object)]
pub struct RollInput {
    pub marks: Vec<MarkInput>,
}

/// 某日的课后服务考勤（管理员）
#[derive(Debug, Clone, Object)]
pub struct AttendanceDay {
    pub day: NaiveDate,
    pub sessions: Vec<AttendanceSession>,
    /// 无人签到的课节数
    pub missed: i64,
}

/// 签到规则
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AttendanceRules {
    /// 开始前多少分钟可以签到（0–120）
    pub opens_before_min: i32,
    /// 开始后多少分钟内签到不算迟到（0–60）
    pub late_after_min: i32,
    /// 学校位置（纬度、经度）与签到半径（米）；不设置则不检查位置
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_m: Option<i32>,
}

/// 一位教师一个月的签到考核
#[derive(Debug, Clone, Object)]
pub struct TeacherMonth {
    pub staff_id: i64,
    pub teacher_name: String,
    /// 应上课节数（已结束的课节）
    pub planned: i64,
    /// 已签到（已上课）节数
    pub taught: i64,
    /// 其中迟到签到
    pub late: i64,
    /// 未签到节数
    pub missed: i64,
}

/// 教师签到月报（考勤考核）
#[derive(Debug, Clone, Object)]
pub struct TeacherReport {
    /// 月份，如“2026-10”
    pub month: String,
    /// 统计到的最后一天
    pub through: NaiveDate,
    pub teachers: Vec<TeacherMonth>,
}

/// 孩子今天的一节课
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChildSession {
    pub course_id: i64,
    pub name: String,
    /// 如“16:30–18:00”
    pub time: String,
    pub venue: Option<String>,
    pub teachers: Vec<String>,
    pub mark: Option<Mark>,
    /// 考勤：已到、迟到、缺勤、早退、请假；还没点名为“未点名”
    pub mark_label: String,
}

/// 一个孩子今天在哪里（R-T08）
#[derive(Debug, Clone, Object)]
pub struct ChildWhereabouts {
    pub student_id: i64,
    pub name: String,
    pub class_id: i64,
    pub class_name: String,
    /// 今天的课后服务，按时间；为空表示今天没有安排
    pub sessions: Vec<ChildSession>,
}

/// 学生去向
#[derive(Debug, Clone, Object)]
pub struct Whereabouts {
    pub day: NaiveDate,
    pub children: Vec<ChildWhereabouts>,
    /// 今天有课后服务的孩子数
    pub with_sessions: i64,
    /// 缺勤（未请假）的孩子数
    pub absent: i64,
}

/// 巡课记录（新增）
#[derive(Debug, Clone, Object)]
pub struct NewInspection {
    pub course_id: i64,
    pub day: NaiveDate,
    /// 所见情况，1 到 500 字
    pub notes: String,
}

/// 一条巡课记录
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct InspectionView {
    pub id: i64,
    pub course_id: i64,
    pub course_name: String,
    pub day: NaiveDate,
    pub inspector_name: String,
    pub observed_at: DateTime<Utc>,
    pub notes: String,
    /// 照片地址
    pub picture: Option<String>,
}

/// 课堂记录（本节课的内容）
#[derive(Debug, Clone, Object)]
pub struct LessonRecordInput {
    /// 本节课的内容，1 到 2000 字
    pub content: String,
}

/// 对一个孩子的点评
#[derive(Debug, Clone, Object)]
pub struct CommentInput {
    /// 标签，最多 5 个，每个不超过 10 个字，如“专注”“进步明显”
    #[oai(default)]
    pub tags: Vec<String>,
    /// 点评内容，不超过 500 字
    #[oai(default)]
    pub content: String,
}

/// 课堂记录
#[derive(Debug, Clone, Object)]
pub struct LessonRecordView {
    pub course_id: i64,
    pub course_name: String,
    pub day: NaiveDate,
    pub content: String,
    pub written_at: DateTime<Utc>,
    /// 照片地址
    pub pictures: Vec<String>,
}

/// 老师对孩子的点评
#[derive(Debug, Clone, Object)]
pub struct CommentView {
    pub course_id: i64,
    pub day: NaiveDate,
    pub student_id: i64,
    pub tags: Vec<String>,
    pub content: String,
    pub written_at: DateTime<Utc>,
}

/// 孩子的一节课：课堂记录、考勤和老师的点评（家长看）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChildLesson {
    pub course_id: i64,
    pub course_name: String,
    pub day: NaiveDate,
    pub mark_label: Option<String>,
    pub record: Option<LessonRecordView>,
    pub comment: Option<CommentView>,
}

/// 一节课的课堂记录和点评（教师看）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LessonSession {
    pub record: Option<LessonRecordView>,
    pub comments: Vec<CommentView>,
}
