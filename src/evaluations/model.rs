//! Evaluations' requests and views.

use chrono::{DateTime, Utc};
use poem_openapi::Object;

pub const CONTENT_MAX: usize = 500;

/// 评价（1–5 分和文字）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EvaluationInput {
    /// 课程（新评价时必填）
    pub course_id: Option<i64>,
    /// 1 到 5 分
    pub score: i32,
    /// 评价内容，不超过 500 字，可不填
    #[oai(default)]
    pub content: String,
}

/// 一条评价
#[derive(Debug, Clone, Object)]
pub struct EvaluationView {
    pub id: i64,
    pub course_id: i64,
    pub student_id: i64,
    pub score: i32,
    pub content: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// 孩子在上的一门课和对它的评价
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ChildCourseEvaluation {
    pub course_id: i64,
    pub course_name: String,
    pub teachers: Vec<String>,
    pub term_name: String,
    pub evaluation: Option<EvaluationView>,
}

/// 一门课的评价汇总
#[derive(Debug, Clone, Object)]
pub struct CourseScore {
    pub course_id: i64,
    pub course_name: String,
    pub teachers: Vec<String>,
    pub count: i64,
    /// 平均分，保留一位小数；没有评价时为空
    pub average: Option<f64>,
    /// 最近的评价内容（不含家长和学生姓名）
    pub comments: Vec<CourseComment>,
}

#[derive(Debug, Clone, Object)]
pub struct CourseComment {
    pub score: i32,
    pub content: String,
    pub at: DateTime<Utc>,
}

/// 一位教师所教课程的评价
#[derive(Debug, Clone, Object)]
pub struct TeacherScore {
    pub teacher_name: String,
    pub courses: i64,
    pub count: i64,
    pub average: Option<f64>,
}

/// 评价汇总（管理员）
#[derive(Debug, Clone, Object)]
pub struct EvaluationSummary {
    pub courses: Vec<CourseScore>,
    pub teachers: Vec<TeacherScore>,
}
