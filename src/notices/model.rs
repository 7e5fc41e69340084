//! The notices' requests and views.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

pub const TITLE_MAX: usize = 60;
pub const BODY_MAX: usize = 5000;
/// Pictures per notice.
pub const PICTURES_MAX: usize = 9;
pub const PICTURE_MAX_BYTES: usize = 5 * 1024 * 1024;

crate::text_enum! {
    /// `notices.status`.
    pub enum NoticeStatus {
        Draft = "draft" => "草稿",
        Published = "published" => "已发布",
        Withdrawn = "withdrawn" => "已撤回",
    }
}

crate::text_enum! {
    /// `notices.audience`: whom a notice is for.
    pub enum Audience {
        School = "school" => "全校",
        Grades = "grades" => "年级",
        Classes = "classes" => "班级",
    }
}

/// 新通知（草稿），或修改：草稿可改全部；已发布的只能改标题和正文（读者会看到“已编辑”）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewNotice {
    /// 标题，1 到 60 个字
    pub title: String,
    /// 正文，1 到 5000 个字
    pub body: String,
    /// school 全校 | grades 年级 | classes 班级；班主任只能发给自己带的班
    pub audience: String,
    /// audience 为 grades 时的年级
    #[oai(default)]
    pub grade_ids: Vec<i64>,
    /// audience 为 classes 时的班级
    #[oai(default)]
    pub class_ids: Vec<i64>,
}

/// 通知
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NoticeView {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub audience: Audience,
    /// 发送范围，如“全校”“一年级、二年级”“一年级1班”
    pub audience_label: String,
    pub grade_ids: Vec<i64>,
    pub class_ids: Vec<i64>,
    pub status: NoticeStatus,
    pub status_label: String,
    /// 发布人，如“学校”“一年级1班 班主任 王老师”
    pub sender: String,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    /// 发布后最后一次编辑的时间
    pub edited_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// 图片地址，按顺序
    pub pictures: Vec<String>,
    /// 发布时通知到的家长数
    pub messaged: i32,
    /// 已读家长数（发送人看）
    pub read: Option<i64>,
    /// 应读家长数：范围内孩子的已注册家长（发送人看）
    pub audience_size: Option<i64>,
    /// 本人是否已读（家长看）
    pub read_by_me: Option<bool>,
}

/// 一位未读的家长
#[derive(Debug, Clone, Object)]
pub struct UnreadParent {
    pub account_id: i64,
    /// 家长姓名
    pub guardian_name: String,
    /// 范围内的孩子，如“张小明（一年级1班）”
    pub children: Vec<String>,
}

/// 阅读情况
#[derive(Debug, Clone, Object)]
pub struct NoticeReadsView {
    pub notice_id: i64,
    pub audience_size: i64,
    pub read: i64,
    pub unread: Vec<UnreadParent>,
}
