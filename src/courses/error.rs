//! The courses' refusals: one variant per kind of refusal, each with its stable code, HTTP
//! class, Chinese message and details, shared by the validation path, the model's parsers
//! and the service. A refused request has changed nothing.
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Map, Value};

use super::model::{
    Capacity, CourseClassType, CoursePricing, CourseStatus, Price, CATEGORY_MAX, INTRO_MAX,
    NAME_MAX, PICTURES_MAX,
};
use crate::audit::AuditError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::storage::StorageError;

/// Why a course cannot join the series it names (`SERIES_INVALID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeriesProblem {
    /// No course has the code.
    NotFound,
    /// The course names itself.
    Itself,
    /// The named course is a sub-item itself (series are one level deep).
    ParentIsSubItem { name: String },
    /// The named series is in another term.
    OtherTerm { name: String },
    /// The named series is closed.
    Closed { name: String },
    /// The course has sub-items of its own.
    HasSubItems,
}

#[derive(Debug, thiserror::Error)]
pub enum CourseError {
    #[error("course {id} not found")]
    NotFound { id: i64 },
    #[error("course code {value:?} invalid")]
    CodeInvalid { value: String },
    #[error("course code {code} taken")]
    CodeTaken { code: String },
    #[error("course name invalid")]
    NameInvalid,
    #[error("course category invalid")]
    CategoryInvalid,
    #[error("course intro too long")]
    IntroInvalid,
    #[error("weekdays {value:?} invalid")]
    WeekdaysInvalid { value: Vec<i16> },
    #[error("{field} {value:?} is not a time")]
    TimeInvalid { field: &'static str, value: String },
    #[error("{field} {value:?} is not a date")]
    DateInvalid { field: &'static str, value: String },
    #[error("class ends at {ends_at}, not after it starts at {starts_at}")]
    EndsBeforeStart {
        starts_at: NaiveTime,
        ends_at: NaiveTime,
    },
    #[error("course ends on {ends_on}, before it starts on {starts_on}")]
    DatesReversed {
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    },
    #[error("course dates {starts_on}..{ends_on} outside term {term_starts_on}..{term_ends_on}")]
    OutsideTerm {
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        term_name: String,
        term_starts_on: NaiveDate,
        term_ends_on: NaiveDate,
    },
    #[error("{field} {value:?} is not an RFC 3339 instant")]
    RegInstantInvalid { field: &'static str, value: String },
    #[error("registration closes at {closes}, not after it opens at {opens}")]
    RegWindowReversed {
        opens: DateTime<Utc>,
        closes: DateTime<Utc>,
    },
    #[error("registration closes at {reg_closes_at}, after the course ends at {course_ends_at}")]
    RegClosesAfterCourse {
        reg_closes_at: DateTime<Utc>,
        course_ends_at: DateTime<Utc>,
        ends_on: NaiveDate,
        ends_at: NaiveTime,
    },
    #[error("capacity {value} out of range")]
    CapacityInvalid { value: i32 },
    #[error("price {value:?} invalid")]
    PriceInvalid { value: String },
    #[error("pricing {pricing:?} does not fit class type {class_type:?}")]
    PricingMismatch {
        class_type: CourseClassType,
        pricing: CoursePricing,
    },
    #[error("eligible levels {value:?} invalid")]
    LevelsInvalid { value: Vec<i16> },
    #[error("the school has no grade of level {missing:?}")]
    LevelsMissing { missing: Vec<i16> },
    #[error("hold minutes {value} out of range")]
    HoldInvalid { value: i32 },
    #[error("term {code:?} not found")]
    TermNotFound { code: String },
    #[error("period {id} not found")]
    PeriodNotFound { id: i64 },
    #[error("venue {id} not found")]
    VenueNotFound { id: i64 },
    #[error("teachers {missing:?} not active staff")]
    TeacherNotFound { missing: Vec<i64> },
    #[error("series {parent_code:?} refused: {problem:?}")]
    SeriesInvalid {
        parent_code: String,
        problem: SeriesProblem,
    },
    #[error("capacity {capacity} below the {taken} places taken")]
    CapacityBelowTaken { capacity: i32, taken: i32 },
    #[error("course is {status:?}, {required:?} required to become {to:?}")]
    StatusInvalid {
        status: CourseStatus,
        required: CourseStatus,
        to: CourseStatus,
    },
    #[error("course has {} pictures already", PICTURES_MAX)]
    PicturesFull,
    #[error("picture not found")]
    PictureNotFound,
    /// The object store's refusal or failure (see [`CourseError::from`]).
    #[error(transparent)]
    Storage(StorageError),
    /// Every refusal found while checking one request, reported together (issue 13 item
    /// 9): the first one's code, message and details, with `details.errors` listing all.
    #[error("{} refusals, first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Several(Vec<CourseError>),
    /// A rule of this module broken by its own data or code: a logged 500.
    #[error("course invariant broken: {0}")]
    Invariant(String),
    /// Another feature's refusal (the audit append of `TenantTx::audit`), answered
    /// exactly as its owner words it.
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The store's errors as the user sees them: a backend failure is logged here, where it is
/// met, as it always was.
impl From<StorageError> for CourseError {
    fn from(e: StorageError) -> Self {
        if let StorageError::Backend(_) = e {
            tracing::error!(error = %e, "object store failed");
        }
        CourseError::Storage(e)
    }
}

crate::refusals_into!(CourseError::Upstream: AuditError);

impl CourseError {
    fn series(parent_code: &str, problem: SeriesProblem) -> Self {
        CourseError::SeriesInvalid {
            parent_code: parent_code.into(),
            problem,
        }
    }

    pub fn series_not_found(parent_code: &str) -> Self {
        Self::series(parent_code, SeriesProblem::NotFound)
    }

    pub fn series_itself(parent_code: &str) -> Self {
        Self::series(parent_code, SeriesProblem::Itself)
    }

    pub fn series_parent_is_sub_item(parent_code: &str, name: &str) -> Self {
        Self::series(
            parent_code,
            SeriesProblem::ParentIsSubItem { name: name.into() },
        )
    }

    pub fn series_other_term(parent_code: &str, name: &str) -> Self {
        Self::series(parent_code, SeriesProblem::OtherTerm { name: name.into() })
    }

    pub fn series_closed(parent_code: &str, name: &str) -> Self {
        Self::series(parent_code, SeriesProblem::Closed { name: name.into() })
    }

    pub fn series_has_sub_items(parent_code: &str) -> Self {
        Self::series(parent_code, SeriesProblem::HasSubItems)
    }
}

fn field_value(field: &str, value: impl serde::Serialize) -> Value {
    json!({ "field": field, "value": value })
}

impl DomainError for CourseError {
    fn kind(&self) -> ErrorKind {
        use CourseError::*;
        match self {
            NotFound { .. } | PictureNotFound => ErrorKind::NotFound,
            CodeTaken { .. } | CapacityBelowTaken { .. } | StatusInvalid { .. } | PicturesFull => {
                ErrorKind::Conflict
            }
            Storage(e) => e.kind(),
            Several(all) => match all.first().map(DomainError::kind) {
                Some(ErrorKind::Conflict) => ErrorKind::Conflict,
                Some(ErrorKind::NotFound) => ErrorKind::NotFound,
                _ => ErrorKind::Unprocessable,
            },
            Invariant(_) => ErrorKind::Internal,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn code(&self) -> &'static str {
        use CourseError::*;
        match self {
            NotFound { .. } => "COURSE_NOT_FOUND",
            CodeInvalid { .. } => "COURSE_CODE_INVALID",
            CodeTaken { .. } => "COURSE_CODE_TAKEN",
            NameInvalid | CategoryInvalid => "NAME_INVALID",
            IntroInvalid => "INTRO_INVALID",
            WeekdaysInvalid { .. } => "WEEKDAYS_INVALID",
            TimeInvalid { .. }
            | DateInvalid { .. }
            | EndsBeforeStart { .. }
            | DatesReversed { .. }
            | OutsideTerm { .. } => "SCHEDULE_INVALID",
            RegInstantInvalid { .. } | RegWindowReversed { .. } | RegClosesAfterCourse { .. } => {
                "REG_WINDOW_INVALID"
            }
            CapacityInvalid { .. } => "CAPACITY_INVALID",
            PriceInvalid { .. } => "PRICE_INVALID",
            PricingMismatch { .. } => "PRICING_MISMATCH",
            LevelsInvalid { .. } | LevelsMissing { .. } => "LEVELS_INVALID",
            HoldInvalid { .. } => "HOLD_INVALID",
            TermNotFound { .. } => "TERM_NOT_FOUND",
            PeriodNotFound { .. } => "PERIOD_NOT_FOUND",
            VenueNotFound { .. } => "VENUE_NOT_FOUND",
            TeacherNotFound { .. } => "TEACHER_NOT_FOUND",
            SeriesInvalid { .. } => "SERIES_INVALID",
            CapacityBelowTaken { .. } => "CAPACITY_BELOW_TAKEN",
            StatusInvalid { .. } => "COURSE_STATUS_INVALID",
            PicturesFull => "PICTURES_FULL",
            PictureNotFound | Storage(StorageError::NotFound(_)) => "PICTURE_NOT_FOUND",
            Storage(StorageError::InvalidKey(_) | StorageError::Config(_)) => "INTERNAL",
            Storage(e) => e.code(),
            Several(all) => all.first().map_or("INTERNAL", DomainError::code),
            Invariant(_) => "INTERNAL",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use CourseError::*;
        match self {
            NotFound { .. } => "找不到该课程".into(),
            CodeInvalid { value } => format!(
                "课程代码“{value}”不合法：须以小写字母或数字开头，只含小写字母、数字、下划线和连字符，最长 32 个字符；也可以不填，由系统生成"
            ),
            CodeTaken { code } => format!("课程代码“{code}”已被使用"),
            NameInvalid => format!("班级名称不能为空，且不超过 {NAME_MAX} 个字"),
            CategoryInvalid => format!("培训类目不能为空，且不超过 {CATEGORY_MAX} 个字"),
            IntroInvalid => format!("简介不超过 {INTRO_MAX} 个字"),
            WeekdaysInvalid { .. } => {
                "上课星期应为 1（周一）到 7（周日）之间不重复的数字，且至少一天".into()
            }
            TimeInvalid { value, .. } => format!("时间“{value}”格式不正确，应为 HH:MM，如 16:30"),
            DateInvalid { value, .. } => format!("日期“{value}”格式不正确，应为 YYYY-MM-DD"),
            EndsBeforeStart { .. } => "下课时间必须晚于上课时间".into(),
            DatesReversed { .. } => "结课日期不能早于开课日期".into(),
            OutsideTerm {
                term_name,
                term_starts_on,
                term_ends_on,
                ..
            } => format!(
                "开课和结课日期须在学期“{term_name}”内（{term_starts_on} 至 {term_ends_on}）"
            ),
            RegInstantInvalid { value, .. } => format!(
                "报名时间“{value}”格式不正确，应为 RFC 3339，如 2026-08-20T09:00:00+08:00"
            ),
            RegWindowReversed { .. } => "报名截止时间必须晚于报名开始时间".into(),
            RegClosesAfterCourse {
                ends_on, ends_at, ..
            } => format!(
                "报名截止时间不能晚于课程结束时间（{ends_on} {}）",
                ends_at.format("%H:%M")
            ),
            CapacityInvalid { .. } => format!("开班规模应在 1 到 {} 人之间", Capacity::MAX),
            PriceInvalid { .. } => format!(
                "价格应为 0 到 {} 元之间的金额，最多两位小数，如 120.00",
                Price::MAX_YUAN
            ),
            PricingMismatch { .. } => {
                "托管班须按天计费（per_day），培训班须按课程计费（per_course）".into()
            }
            LevelsInvalid { .. } => {
                "可报名年级应为 1 到 9 之间不重复的年级序号，且至少一个".into()
            }
            LevelsMissing { missing } => format!(
                "本校没有序号为 {} 的年级",
                missing
                    .iter()
                    .map(i16::to_string)
                    .collect::<Vec<_>>()
                    .join("、")
            ),
            HoldInvalid { .. } => "名额保留时间应在 5 到 1440 分钟之间".into(),
            TermNotFound { code } => format!("找不到学期“{code}”"),
            PeriodNotFound { .. } => "所选开班时段不存在".into(),
            VenueNotFound { .. } => "所选场地不存在".into(),
            TeacherNotFound { .. } => "所选授课教师不存在或已离职".into(),
            SeriesInvalid {
                parent_code,
                problem,
            } => match problem {
                SeriesProblem::NotFound => format!("找不到系列课程“{parent_code}”"),
                SeriesProblem::Itself => "课程不能作为自己的子项目".into(),
                SeriesProblem::ParentIsSubItem { name } => {
                    format!("“{name}”本身是子项目，不能再包含子项目")
                }
                SeriesProblem::OtherTerm { name } => {
                    format!("子项目须与系列课程“{name}”在同一学期")
                }
                SeriesProblem::Closed { name } => {
                    format!("系列课程“{name}”已关闭，不能再添加子项目")
                }
                SeriesProblem::HasSubItems => {
                    "该课程本身是系列课程（已有子项目），不能作为其他课程的子项目".into()
                }
            },
            CapacityBelowTaken { taken, .. } => {
                format!("已有 {taken} 个名额被占用，开班规模不能少于 {taken}")
            }
            StatusInvalid {
                status,
                required,
                to,
            } => format!(
                "课程当前为“{}”，只有“{}”的课程可以改为“{}”",
                status.label(),
                required.label(),
                to.label()
            ),
            PicturesFull => format!("每门课程最多 {PICTURES_MAX} 张图片"),
            PictureNotFound | Storage(StorageError::NotFound(_)) => "找不到该图片".into(),
            Storage(StorageError::UnsupportedContent) => {
                "只能上传 JPEG、PNG 或 WebP 格式的图片".into()
            }
            Storage(StorageError::InvalidKey(_) | StorageError::Config(_))
            | Invariant(_) => "服务器内部错误，请稍后重试".into(),
            Storage(e) => e.user_message(),
            Several(all) => match all.first() {
                Some(first) => format!(
                    "{}（共 {} 处需要修改）",
                    first.user_message(),
                    all.len()
                ),
                None => "服务器内部错误，请稍后重试".into(),
            },
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use CourseError::*;
        match self {
            NotFound { id } => json!({ "id": id }),
            CodeInvalid { value } => field_value("code", value),
            CodeTaken { code } => json!({ "code": code }),
            NameInvalid => json!({ "field": "name", "max": NAME_MAX }),
            CategoryInvalid => json!({ "field": "category", "max": CATEGORY_MAX }),
            IntroInvalid => json!({ "field": "intro", "max": INTRO_MAX }),
            WeekdaysInvalid { value } => field_value("weekdays", value),
            TimeInvalid { field, value }
            | DateInvalid { field, value }
            | RegInstantInvalid { field, value } => field_value(field, value),
            EndsBeforeStart { starts_at, ends_at } => json!({
                "starts_at": starts_at.format("%H:%M").to_string(),
                "ends_at": ends_at.format("%H:%M").to_string(),
            }),
            DatesReversed { starts_on, ends_on } => {
                json!({ "starts_on": starts_on, "ends_on": ends_on })
            }
            OutsideTerm {
                starts_on,
                ends_on,
                term_starts_on,
                term_ends_on,
                ..
            } => json!({
                "starts_on": starts_on, "ends_on": ends_on,
                "term_starts_on": term_starts_on, "term_ends_on": term_ends_on,
            }),
            RegWindowReversed { opens, closes } => {
                json!({ "reg_opens_at": opens, "reg_closes_at": closes })
            }
            RegClosesAfterCourse {
                reg_closes_at,
                course_ends_at,
                ..
            } => json!({ "reg_closes_at": reg_closes_at, "course_ends_at": course_ends_at }),
            CapacityInvalid { value } => json!({
                "field": "capacity", "value": value, "min": 1, "max": Capacity::MAX,
            }),
            PriceInvalid { value } => {
                json!({ "field": "price", "value": value, "max": Price::MAX_YUAN })
            }
            PricingMismatch {
                class_type,
                pricing,
            } => json!({
                "class_type": class_type.as_str(),
                "pricing": pricing.as_str(),
                "expected": class_type.pricing().as_str(),
            }),
            LevelsInvalid { value } => field_value("eligible_levels", value),
            LevelsMissing { missing } => {
                json!({ "field": "eligible_levels", "missing": missing })
            }
            HoldInvalid { value } => json!({
                "field": "hold_minutes", "value": value, "min": 5, "max": 1440,
            }),
            TermNotFound { code } => field_value("term_code", code),
            PeriodNotFound { id } => json!({ "field": "period_id", "id": id }),
            VenueNotFound { id } => json!({ "field": "venue_id", "id": id }),
            TeacherNotFound { missing } => json!({ "field": "teacher_ids", "missing": missing }),
            SeriesInvalid { parent_code, .. } => field_value("parent_code", parent_code),
            CapacityBelowTaken { capacity, taken } => {
                json!({ "field": "capacity", "value": capacity, "taken": taken })
            }
            StatusInvalid {
                status,
                required,
                to,
            } => json!({
                "status": status.as_str(), "required": required.as_str(), "to": to.as_str(),
            }),
            PicturesFull => json!({ "max": PICTURES_MAX }),
            Storage(StorageError::UnsupportedContent) => {
                json!({ "allowed": ["image/jpeg", "image/png", "image/webp"] })
            }
            Storage(StorageError::TooLarge { max_bytes, .. }) => {
                json!({ "max_bytes": max_bytes })
            }
            PictureNotFound | Storage(_) | Invariant(_) => json!({}),
            Several(all) => several_details(all),
            Upstream(e) => e.details(),
            Db(e) => e.details(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            CourseError::Upstream(e) => e.retry_after(),
            _ => None,
        }
    }
}

/// The first refusal's details, with `errors` listing every refusal as `{code, message,
/// field, details}`.
fn several_details(all: &[CourseError]) -> Value {
    let mut details = match all.first().map(DomainError::details) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let errors: Vec<Value> = all
        .iter()
        .map(|e| {
            let d = e.details();
            json!({ "code": e.code(), "message": e.user_message(), "field": d.get("field"), "details": d })
        })
        .collect();
    details.insert("errors".into(), Value::Array(errors));
    Value::Object(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_refusals_answer_with_the_first_and_list_them_all() {
        let e = CourseError::Several(vec![
            CourseError::NameInvalid,
            CourseError::CapacityInvalid { value: 0 },
        ]);
        assert_eq!(e.code(), "NAME_INVALID");
        assert_eq!(e.kind(), ErrorKind::Unprocessable);
        assert!(e.user_message().ends_with("（共 2 处需要修改）"));
        let d = e.details();
        assert_eq!(d["field"], "name");
        assert_eq!(d["errors"][1]["code"], "CAPACITY_INVALID");
        assert_eq!(d["errors"][1]["field"], "capacity");
    }

    #[test]
    fn the_store_refusals_keep_their_codes_and_a_missing_object_is_a_missing_picture() {
        let e = CourseError::from(StorageError::UnsupportedContent);
        assert_eq!(e.code(), "UPLOAD_UNSUPPORTED_TYPE");
        assert_eq!(e.kind(), ErrorKind::Unprocessable);
        let e = CourseError::from(StorageError::NotFound("k".into()));
        assert_eq!(
            (e.code(), e.kind()),
            ("PICTURE_NOT_FOUND", ErrorKind::NotFound)
        );
        let e = CourseError::from(StorageError::Config("x".into()));
        assert_eq!(e.kind(), ErrorKind::Internal);
    }

    #[test]
    fn an_upstream_refusal_answers_as_it_was() {
        let e = CourseError::from(AuditError::InvalidEvent("action".into()));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.code(), "AUDIT_INVALID_EVENT");
        assert!(e.to_string().contains("action"));
    }
}
