//! The meals' refusals: one variant per kind of refusal, each with its stable code, HTTP
//! class, Chinese message and details. A refused request has changed nothing.
//!
//! Must never rename a code or change what a refusal says: clients and pages read them.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

use super::model::{MAX_PRICE_YUAN, NAME_MAX, STOPS_PAGE_MAX};
use crate::audit::AuditError;
use crate::clock::cst;
use crate::enrollment::error::EnrollmentError;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::people::error::PeopleError;
use crate::school::error::SchoolError;
use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum MealError {
    #[error("meal item {id} not found")]
    ItemNotFound { id: i64 },
    #[error("meal package {id} not found")]
    PackageNotFound { id: i64 },
    #[error("meal order {id} not found")]
    OrderNotFound { id: i64 },
    #[error("child {student_id} not found or not the caller's")]
    ChildNotFound { student_id: i64 },
    #[error("code {value:?} invalid")]
    CodeInvalid { value: String },
    #[error("code {code} taken")]
    CodeTaken { code: String },
    #[error("name invalid")]
    NameInvalid,
    #[error("description too long")]
    DescriptionInvalid,
    #[error("price {value:?} invalid")]
    PriceInvalid { value: String },
    #[error("levels {value:?} invalid")]
    LevelsInvalid { value: Vec<i16> },
    #[error("daily capacity {value} invalid")]
    CapacityInvalid { value: i32 },
    #[error("package has no items")]
    PackageEmpty,
    #[error("package items invalid: {reason}")]
    PackageItemsInvalid { reason: String },
    #[error("{what} is {status}, cannot {action}")]
    StatusInvalid {
        what: &'static str,
        status: &'static str,
        action: &'static str,
    },
    #[error("rule {field} invalid")]
    RulesInvalid { field: &'static str, reason: String },
    #[error("list filter {field} = {value:?} invalid")]
    FilterInvalid { field: &'static str, value: String },
    #[error("date {value:?} invalid")]
    DateInvalid { field: &'static str, value: String },
    #[error("menu text invalid")]
    DishesInvalid { day: NaiveDate },
    #[error("reason invalid")]
    ReasonInvalid { max: usize },
    #[error("allergy note too long")]
    AllergiesInvalid,
    #[error("choose exactly one item or package")]
    ChoiceInvalid,
    #[error("period starting {period_start} is not an ordering period")]
    PeriodInvalid { period_start: NaiveDate },
    #[error("ordering for {label} open {opens_at}..{closes_at}")]
    WindowClosed {
        label: String,
        opens_at: DateTime<Utc>,
        closes_at: DateTime<Utc>,
    },
    #[error("no served day in {label}")]
    NoServedDays { label: String },
    #[error("{name} not offered")]
    NotOffered { name: String },
    #[error("{name} is not for grade level {level}")]
    GradeNotEligible { name: String, level: i16 },
    #[error("{kind} already ordered for {label}")]
    AlreadyOrdered { kind: &'static str, label: String },
    #[error("{name} sold out for {label}")]
    SoldOut { name: String, label: String },
    #[error("allergens {allergens:?} not acknowledged")]
    AllergenWarning { allergens: Vec<&'static str> },
    #[error("meal order {id} is {status}, not held")]
    OrderNotHeld { id: i64, status: &'static str },
    #[error("class {id} not found or not the caller's")]
    ClassNotFound { id: i64 },
    #[error("meal stop {id} not found")]
    StopNotFound { id: i64 },
    #[error("stop range {first_day}..{last_day} invalid")]
    StopRangeInvalid {
        first_day: NaiveDate,
        last_day: NaiveDate,
    },
    #[error("stop from {day}: in the past")]
    StopPast { day: NaiveDate },
    #[error("stop of {day} after its cut-off {deadline}")]
    StopAfterCutoff {
        day: NaiveDate,
        deadline: DateTime<Utc>,
    },
    #[error("no ordered meal between {first_day} and {last_day}")]
    StopNotOrdered {
        first_day: NaiveDate,
        last_day: NaiveDate,
    },
    #[error("{day} stopped already")]
    StopOverlap { day: NaiveDate },
    #[error("stop {id} is {status}")]
    StopNotPending { id: i64, status: &'static str },
    #[error("review comment invalid")]
    CommentInvalid,
    /// Another refund batch of the school is running (it holds the batch lock).
    #[error("a refund batch is running")]
    RefundBatchRunning,
    #[error(transparent)]
    Storage(StorageError),
    #[error("meal invariant broken: {0}")]
    Invariant(String),
    #[error(transparent)]
    Upstream(Refusal),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<StorageError> for MealError {
    fn from(e: StorageError) -> Self {
        if let StorageError::Backend(_) = e {
            tracing::error!(error = %e, "object store failed");
        }
        MealError::Storage(e)
    }
}

crate::refusals_into!(MealError::Upstream: AuditError, SchoolError, EnrollmentError, PeopleError);

fn beijing(t: &DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string()
}

impl DomainError for MealError {
    fn kind(&self) -> ErrorKind {
        use MealError::*;
        match self {
            ItemNotFound { .. }
            | PackageNotFound { .. }
            | OrderNotFound { .. }
            | ChildNotFound { .. }
            | StopNotFound { .. }
            | ClassNotFound { .. } => ErrorKind::NotFound,
            CodeTaken { .. }
            | StatusInvalid { .. }
            | AlreadyOrdered { .. }
            | SoldOut { .. }
            | AllergenWarning { .. }
            | OrderNotHeld { .. }
            | StopOverlap { .. }
            | StopNotPending { .. }
            | StopAfterCutoff { .. }
            | RefundBatchRunning
            | WindowClosed { .. } => ErrorKind::Conflict,
            Storage(e) => e.kind(),
            Invariant(_) => ErrorKind::Internal,
            Upstream(e) => e.kind(),
            Db(e) => e.kind(),
            _ => ErrorKind::Unprocessable,
        }
    }

    fn code(&self) -> &'static str {
        use MealError::*;
        match self {
            ItemNotFound { .. } => "MEAL_ITEM_NOT_FOUND",
            PackageNotFound { .. } => "MEAL_PACKAGE_NOT_FOUND",
            OrderNotFound { .. } => "MEAL_ORDER_NOT_FOUND",
            ChildNotFound { .. } => "CHILD_NOT_FOUND",
            CodeInvalid { .. } => "MEAL_CODE_INVALID",
            CodeTaken { .. } => "MEAL_CODE_TAKEN",
            NameInvalid => "NAME_INVALID",
            DescriptionInvalid => "MEAL_DESCRIPTION_INVALID",
            PriceInvalid { .. } => "MEAL_PRICE_INVALID",
            LevelsInvalid { .. } => "LEVELS_INVALID",
            CapacityInvalid { .. } => "CAPACITY_INVALID",
            PackageEmpty => "MEAL_PACKAGE_EMPTY",
            PackageItemsInvalid { .. } => "MEAL_PACKAGE_ITEMS_INVALID",
            StatusInvalid { .. } => "MEAL_STATUS_INVALID",
            RulesInvalid { .. } => "MEAL_RULES_INVALID",
            DateInvalid { .. } => "DATE_INVALID",
            FilterInvalid { .. } => "MEAL_FILTER_INVALID",
            DishesInvalid { .. } => "MEAL_MENU_INVALID",
            ReasonInvalid { .. } => "REASON_INVALID",
            AllergiesInvalid => "ALLERGIES_INVALID",
            ChoiceInvalid => "MEAL_CHOICE_INVALID",
            PeriodInvalid { .. } => "MEAL_PERIOD_INVALID",
            WindowClosed { .. } => "MEAL_WINDOW_CLOSED",
            NoServedDays { .. } => "MEAL_NO_SERVED_DAYS",
            NotOffered { .. } => "MEAL_NOT_OFFERED",
            GradeNotEligible { .. } => "MEAL_GRADE_NOT_ELIGIBLE",
            AlreadyOrdered { .. } => "MEAL_ALREADY_ORDERED",
            SoldOut { .. } => "MEAL_SOLD_OUT",
            AllergenWarning { .. } => "MEAL_ALLERGEN_WARNING",
            OrderNotHeld { .. } => "MEAL_ORDER_NOT_HELD",
            StopNotFound { .. } => "MEAL_STOP_NOT_FOUND",
            ClassNotFound { .. } => "CLASS_NOT_FOUND",
            StopRangeInvalid { .. } => "MEAL_STOP_RANGE_INVALID",
            StopPast { .. } => "MEAL_STOP_PAST",
            StopAfterCutoff { .. } => "MEAL_STOP_AFTER_CUTOFF",
            StopNotOrdered { .. } => "MEAL_STOP_NOT_ORDERED",
            StopOverlap { .. } => "MEAL_STOP_OVERLAP",
            StopNotPending { .. } => "MEAL_STOP_NOT_PENDING",
            RefundBatchRunning => "MEAL_REFUND_BATCH_RUNNING",
            CommentInvalid => "COMMENT_INVALID",
            Storage(StorageError::NotFound(_)) => "PICTURE_NOT_FOUND",
            Storage(StorageError::InvalidKey(_) | StorageError::Config(_)) => "INTERNAL",
            Storage(e) => e.code(),
            Invariant(_) => "INTERNAL",
            Upstream(e) => e.code(),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use MealError::*;
        match self {
            ItemNotFound { .. } => "找不到该餐品".into(),
            PackageNotFound { .. } => "找不到该套餐".into(),
            OrderNotFound { .. } => "找不到该订餐记录".into(),
            ChildNotFound { .. } => "找不到该孩子，或不是您绑定的孩子".into(),
            CodeInvalid { value } => format!(
                "代码“{value}”不合法：须以小写字母或数字开头，只含小写字母、数字、下划线和连字符，最长 32 个字符；也可以不填，由系统生成"
            ),
            CodeTaken { code } => format!("代码“{code}”已被使用"),
            FilterInvalid { field, value } => match *field {
                "status" => format!("审批状态“{value}”不正确：可选 申请中、已批准、已驳回、已撤销，或不填看全部"),
                "offset" => format!("跳过的条数“{value}”不正确：应为 0 或正整数"),
                _ => format!("每页条数“{value}”不正确：应为 1 到 {STOPS_PAGE_MAX} 之间的整数"),
            },
            NameInvalid => format!("名称不能为空，且不超过 {NAME_MAX} 个字"),
            DescriptionInvalid => "介绍不超过 500 个字".into(),
            PriceInvalid { value } => format!(
                "每天的价格“{value}”不合理：应为 0.01 到 {MAX_PRICE_YUAN} 元之间的金额，最多两位小数，如 12.50"
            ),
            LevelsInvalid { .. } => "适用年级应为 1 到 9 之间不重复的年级序号，且至少一个".into(),
            CapacityInvalid { .. } => "每日供应上限应在 1 到 20000 份之间，不限量请留空".into(),
            PackageEmpty => "套餐至少要包含一个餐品".into(),
            PackageItemsInvalid { reason } => format!("套餐的餐品不合适：{reason}"),
            StatusInvalid {
                what,
                status,
                action,
            } => format!("该{what}当前为“{status}”，不能{action}"),
            RulesInvalid { reason, .. } => format!("订餐规则不合适：{reason}"),
            DateInvalid { value, .. } => format!("日期“{value}”格式不正确，应为 YYYY-MM-DD"),
            DishesInvalid { day } => format!("{day} 的菜单不能为空，且不超过 200 个字"),
            ReasonInvalid { max } => format!("原因不能为空，且不超过 {max} 个字"),
            AllergiesInvalid => "过敏说明不超过 200 个字".into(),
            ChoiceInvalid => "请选择一个餐品或一个套餐".into(),
            PeriodInvalid { period_start } => {
                format!("{period_start} 开始的不是可订餐的周期，请按页面上列出的周期订餐")
            }
            WindowClosed {
                label,
                opens_at,
                closes_at,
            } => format!(
                "{label}的订餐时间为 {} 至 {}，现在不在订餐时间内",
                beijing(opens_at),
                beijing(closes_at)
            ),
            NoServedDays { label } => format!("{label}没有供餐日，无需订餐"),
            NotOffered { name } => format!("“{name}”未发布或已下架，暂不能订"),
            GradeNotEligible { name, level } => format!("“{name}”不供应 {level} 年级"),
            AlreadyOrdered { kind, label } => {
                format!("孩子{label}已经订了{kind}，不能重复订餐")
            }
            SoldOut { name, label } => format!("“{name}”{label}的供应名额已满"),
            AllergenWarning { allergens } => format!(
                "该餐品含有孩子过敏的{}，确认仍要订餐请勾选“已知晓过敏提示”",
                allergens.join("、")
            ),
            OrderNotHeld { status, .. } => format!("该订餐当前为“{status}”，不能再支付或取消"),
            StopNotFound { .. } => "找不到该停餐记录".into(),
            ClassNotFound { .. } => "找不到该班级，或不是您负责的班级".into(),
            StopRangeInvalid { .. } => "停餐的最后一天不能早于第一天，且一次最多停 62 天".into(),
            StopPast { day } => format!("{day} 已经过去或就是今天，不能再停餐"),
            StopAfterCutoff { day, deadline } => format!(
                "{day} 的餐须在 {} 前申请停餐，已过截止时间",
                beijing(deadline)
            ),
            StopNotOrdered {
                first_day,
                last_day,
            } => format!("孩子在 {first_day} 至 {last_day} 没有已支付的订餐，无需停餐"),
            StopOverlap { day } => format!("{day} 已经申请过停餐，不能重复申请"),
            StopNotPending { status, .. } => format!("该停餐当前为“{status}”，不能再处理"),
            RefundBatchRunning => {
                "另一批停餐退款正在处理，请稍后刷新查看结果，不会重复退款".into()
            }
            CommentInvalid => "审批意见不超过 200 个字；驳回时须填写原因".into(),
            Storage(e) => e.picture_message(),
            Invariant(_) => "服务器内部错误，请稍后重试".into(),
            Upstream(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use MealError::*;
        match self {
            ItemNotFound { id } | PackageNotFound { id } | OrderNotFound { id } => {
                json!({ "id": id })
            }
            ChildNotFound { student_id } => json!({ "student_id": student_id }),
            CodeInvalid { value } => json!({ "field": "code", "value": value }),
            CodeTaken { code } => json!({ "code": code }),
            NameInvalid => json!({ "field": "name", "max": NAME_MAX }),
            PriceInvalid { value } => {
                json!({ "field": "price", "value": value, "max": MAX_PRICE_YUAN })
            }
            LevelsInvalid { value } => json!({ "field": "levels", "value": value }),
            CapacityInvalid { value } => json!({ "field": "daily_capacity", "value": value }),
            RulesInvalid { field, .. } => json!({ "field": field }),
            DateInvalid { field, value } | FilterInvalid { field, value } => {
                json!({ "field": field, "value": value })
            }
            DishesInvalid { day } => json!({ "day": day }),
            PeriodInvalid { period_start } => json!({ "period_start": period_start }),
            WindowClosed {
                opens_at,
                closes_at,
                ..
            } => json!({ "opens_at": opens_at, "closes_at": closes_at }),
            GradeNotEligible { level, .. } => json!({ "level": level }),
            AllergenWarning { allergens } => json!({ "allergens": allergens }),
            OrderNotHeld { id, status } | StopNotPending { id, status } => {
                json!({ "id": id, "status": status })
            }
            StopNotFound { id } | ClassNotFound { id } => json!({ "id": id }),
            StopPast { day } | StopOverlap { day } => json!({ "day": day }),
            StopAfterCutoff { day, deadline } => json!({ "day": day, "deadline": deadline }),
            StopRangeInvalid {
                first_day,
                last_day,
            }
            | StopNotOrdered {
                first_day,
                last_day,
            } => json!({ "first_day": first_day, "last_day": last_day }),
            Upstream(e) => e.details(),
            _ => json!({}),
        }
    }
}
