//! What the meals API takes and answers, the status columns' enums and the value types that
//! validate input. Types only: must never hold a rule that needs the database.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use poem_openapi::Object;
use rust_decimal::Decimal;

use super::error::MealError;
use crate::text_enum;

pub const NAME_MAX: usize = 30;
pub const DESCRIPTION_MAX: usize = 500;
pub const MAX_PRICE_YUAN: i64 = 200;
pub const DISHES_MAX: usize = 200;
pub const NOTE_MAX: usize = 200;
/// The most stops one page of `GET /school/meals/stops` lists.
pub const STOPS_PAGE_MAX: i64 = 500;

text_enum! {
    /// 餐别.
    pub enum MealKind {
        Breakfast = "breakfast" => "早餐",
        Lunch = "lunch" => "午餐",
        AfternoonTea = "afternoon_tea" => "下午茶",
        Dinner = "dinner" => "晚餐",
    }
}

text_enum! {
    /// The major allergen groups of GB 7718 (预包装食品标签通则).
    pub enum Allergen {
        Gluten = "gluten" => "含麸质的谷物",
        Crustacean = "crustacean" => "甲壳类",
        Fish = "fish" => "鱼类",
        Egg = "egg" => "蛋类",
        Peanut = "peanut" => "花生",
        Soy = "soy" => "大豆",
        Milk = "milk" => "乳制品",
        TreeNut = "tree_nut" => "坚果",
    }
}

text_enum! {
    /// An item's or package's state: only published ones can be ordered.
    pub enum OfferStatus {
        Draft = "draft" => "草稿",
        Published = "published" => "已发布",
        Withdrawn = "withdrawn" => "已下架",
    }
}

text_enum! {
    /// What one ordering covers.
    pub enum PeriodMode {
        Month = "month" => "按月订餐",
        Term = "term" => "按学期订餐",
    }
}

text_enum! {
    /// `meal_orders.status`.
    pub enum MealOrderStatus {
        Held = "held" => "待支付",
        Confirmed = "confirmed" => "已订餐",
        Expired = "expired" => "超时未支付",
        Cancelled = "cancelled" => "已取消",
    }
}

/// Labels of allergen codes, in GB 7718's order.
pub fn allergen_labels(codes: &[String]) -> Vec<&'static str> {
    Allergen::ALL
        .iter()
        .filter(|a| codes.iter().any(|c| c == a.as_str()))
        .map(|a| a.label())
        .collect()
}

/// A price per served day: 0.01..=200 yuan, at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayPrice(Decimal);

impl DayPrice {
    pub fn parse(s: &str) -> Result<Self, MealError> {
        let bad = || MealError::PriceInvalid { value: s.into() };
        let t = s.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(bad());
        }
        let d = Decimal::from_str(t).map_err(|_| bad())?.normalize();
        let ok = d.scale() <= 2 && d > Decimal::ZERO && d <= Decimal::from(MAX_PRICE_YUAN);
        ok.then_some(Self(d)).ok_or_else(bad)
    }

    pub fn get(self) -> Decimal {
        self.0
    }
}

/// "12.50"
pub fn yuan(d: Decimal) -> String {
    format!("{d:.2}")
}

/// Grade levels an item is for: 1..=9, at least one, none twice; kept sorted.
pub fn parse_levels(levels: &[i16]) -> Result<Vec<i16>, MealError> {
    let mut v = levels.to_vec();
    v.sort_unstable();
    v.dedup();
    let ok = !v.is_empty() && v.len() == levels.len() && v.iter().all(|l| (1..=9).contains(l));
    ok.then_some(v).ok_or_else(|| MealError::LevelsInvalid {
        value: levels.to_vec(),
    })
}

/// A code given, or a random one made with `prefix`.
pub fn parse_code(code: Option<&str>, prefix: &str) -> Result<String, MealError> {
    let Some(c) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        let random = uuid::Uuid::new_v4().simple().to_string();
        return Ok(format!("{prefix}-{}", &random[..10]));
    };
    let ok = c.len() <= 32
        && c.bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then(|| c.to_string())
        .ok_or_else(|| MealError::CodeInvalid { value: c.into() })
}

pub fn parse_name(s: &str) -> Result<String, MealError> {
    let t = s.trim();
    (!t.is_empty() && t.chars().count() <= NAME_MAX)
        .then(|| t.to_string())
        .ok_or(MealError::NameInvalid)
}

pub fn parse_date(field: &'static str, s: &str) -> Result<NaiveDate, MealError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| MealError::DateInvalid {
        field,
        value: s.into(),
    })
}

/// 新建餐品（R-S07）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewMealItem {
    /// 代码（小写字母、数字、_、-，最长 32 位）；不填由系统生成
    pub code: Option<String>,
    /// 餐别：breakfast 早餐 | lunch 午餐 | afternoon_tea 下午茶 | dinner 晚餐
    pub kind: MealKind,
    /// 名称，如“标准午餐”
    pub name: String,
    /// 介绍
    #[oai(default)]
    pub description: String,
    /// 每个供餐日的价格（元），如 "12.50"
    pub price: String,
    /// 适用年级序号（1..9）
    pub levels: Vec<i16>,
    /// 每日供应上限（份）；不填为不限量
    pub daily_capacity: Option<i32>,
    /// 含有的过敏原（GB 7718 的八类）
    #[oai(default)]
    pub allergens: Vec<Allergen>,
}

/// 修改餐品：只改给出的字段
#[derive(Debug, Clone, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct MealItemPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<String>,
    pub levels: Option<Vec<i16>>,
    /// 每日供应上限；0 表示改为不限量
    pub daily_capacity: Option<i32>,
    pub allergens: Option<Vec<Allergen>>,
}

/// 餐品
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealItemView {
    pub id: i64,
    pub code: String,
    pub kind: MealKind,
    pub kind_label: String,
    pub name: String,
    pub description: String,
    /// 每个供餐日的价格（元）
    pub price: String,
    pub levels: Vec<i16>,
    pub daily_capacity: Option<i32>,
    pub allergens: Vec<String>,
    /// 过敏原的中文名
    pub allergen_labels: Vec<String>,
    pub status: OfferStatus,
    pub status_label: String,
}

/// 新建套餐
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewMealPackage {
    pub code: Option<String>,
    pub name: String,
    /// 套餐每个供餐日的价格（元）
    pub price: String,
    /// 包含的餐品（各为不同餐别），至少一个
    pub item_ids: Vec<i64>,
}

/// 修改套餐：只改给出的字段
#[derive(Debug, Clone, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct MealPackagePatch {
    pub name: Option<String>,
    pub price: Option<String>,
    pub item_ids: Option<Vec<i64>>,
}

/// 套餐中的一个餐品
#[derive(Debug, Clone, Object)]
pub struct PackageItemView {
    pub id: i64,
    pub name: String,
    pub kind: MealKind,
    pub kind_label: String,
}

/// 套餐
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealPackageView {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub price: String,
    pub items: Vec<PackageItemView>,
    /// 可订的年级：每个餐品都适用的年级
    pub levels: Vec<i16>,
    /// 各餐品过敏原的合集（中文名）
    pub allergen_labels: Vec<String>,
    pub status: OfferStatus,
    pub status_label: String,
}

/// 订餐规则（R-S05）
#[derive(Debug, Clone, Object)]
pub struct MealRulesView {
    /// month 按月 | term 按学期
    pub period: PeriodMode,
    pub period_label: String,
    /// 周期开始前几天开放订餐
    pub opens_days_before: i32,
    /// 周期开始前几天截止订餐（那天结束时截止，1 为周期开始前一天）
    pub closes_days_before: i32,
    /// 每天几点前可以停次日的餐，如 "15:00"
    pub stop_cutoff: String,
    /// 未支付的订餐保留多少分钟
    pub hold_minutes: i32,
    /// 食堂不供餐的日期
    pub excluded_days: Vec<ExcludedDayView>,
}

/// 修改订餐规则：只改给出的字段
#[derive(Debug, Clone, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct MealRulesPatch {
    pub period: Option<PeriodMode>,
    pub opens_days_before: Option<i32>,
    pub closes_days_before: Option<i32>,
    /// "HH:MM"
    pub stop_cutoff: Option<String>,
    pub hold_minutes: Option<i32>,
}

/// 食堂不供餐的一天
#[derive(Debug, Clone, Object)]
pub struct ExcludedDayView {
    pub day: NaiveDate,
    pub reason: String,
}

/// 新增不供餐日
#[derive(Debug, Clone, Object)]
pub struct NewExcludedDay {
    /// YYYY-MM-DD
    pub day: String,
    pub reason: String,
}

/// 一天的菜单
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MenuDayInput {
    /// YYYY-MM-DD
    pub day: String,
    /// 菜式，如“番茄炒蛋、清蒸鲈鱼、米饭、紫菜汤”；留空表示删除当天菜单
    pub dishes: String,
}

/// 设置一个餐品若干天的菜单
#[derive(Debug, Clone, Object)]
pub struct MenuInput {
    pub days: Vec<MenuDayInput>,
}

/// 菜单中的一项
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MenuEntryView {
    pub item_id: i64,
    pub item_name: String,
    pub kind_label: String,
    pub dishes: String,
    /// 菜品图片地址
    pub picture: Option<String>,
}

/// 一周中的一天的菜单
#[derive(Debug, Clone, Object)]
pub struct MenuDayView {
    pub day: NaiveDate,
    /// 周一 … 周日
    pub weekday: String,
    /// 是否供餐
    pub served: bool,
    /// 不供餐时的原因，如“国庆节”“食堂检修”
    pub note: String,
    pub entries: Vec<MenuEntryView>,
}

/// 孩子的过敏信息
#[derive(Debug, Clone, Default, Object)]
pub struct Allergies {
    #[oai(default)]
    pub allergens: Vec<Allergen>,
    /// 其他说明，如“对芒果过敏”
    #[oai(default)]
    pub note: String,
}

/// 可订的一个餐品或套餐
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealChoice {
    pub item_id: Option<i64>,
    pub package_id: Option<i64>,
    pub name: String,
    /// 包含的餐别，如“午餐、下午茶”
    pub kinds: String,
    pub price: String,
    /// 本周期合计（元）：每天价格 × 供餐天数
    pub total: String,
    /// 含孩子过敏的过敏原（中文名）；非空时订餐须确认
    pub allergy_warnings: Vec<String>,
    pub sold_out: bool,
    /// 孩子本周期已订（或待支付）其中的餐别
    pub taken: bool,
}

/// 一个可订餐的周期
#[derive(Debug, Clone, Object)]
pub struct PeriodOffer {
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// 如“2026年11月”或“2026年秋季学期”
    pub label: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// 现在可以订
    pub open: bool,
    pub served_days: Vec<NaiveDate>,
    pub choices: Vec<MealChoice>,
}

/// 孩子可订的餐（R-P07）
#[derive(Debug, Clone, Object)]
pub struct MealOfferView {
    pub student_id: i64,
    pub student_name: String,
    pub level: i16,
    pub allergies: Allergies,
    pub periods: Vec<PeriodOffer>,
}

/// 订餐（下单后须在保留时间内支付）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewMealOrder {
    pub student_id: i64,
    /// 周期开始日期（可订餐周期中的 starts_on）
    pub period_start: NaiveDate,
    /// 餐品与套餐二选一
    pub item_id: Option<i64>,
    pub package_id: Option<i64>,
    /// 已知晓过敏提示（餐品含孩子过敏的过敏原时必须为 true）
    #[oai(default)]
    pub allergy_acknowledged: bool,
}

/// 订餐记录（R-P12）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealOrderView {
    pub id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub item_id: Option<i64>,
    pub package_id: Option<i64>,
    pub name: String,
    pub kinds: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub period_label: String,
    pub days: Vec<NaiveDate>,
    pub day_count: i32,
    pub price: String,
    pub amount: String,
    pub status: MealOrderStatus,
    pub status_label: String,
    /// 待支付：保留到此时
    pub hold_expires_at: Option<DateTime<Utc>>,
    /// 待支付且仍在保留期内
    pub payable: bool,
    pub created_at: DateTime<Utc>,
}

/// 孩子一周中的一天（R-P11）
#[derive(Debug, Clone, Object)]
pub struct WeekDayView {
    pub day: NaiveDate,
    pub weekday: String,
    /// 是否供餐日（上学且食堂供餐）
    pub school_day: bool,
    /// 如“上课日”“国庆节”“食堂不供餐：检修”
    pub note: String,
    /// 在校就餐
    pub eats_at_school: bool,
    /// 当天吃的餐：餐别与菜单
    pub meals: Vec<MenuEntryView>,
}

/// 孩子一周的就餐（R-P11）
#[derive(Debug, Clone, Object)]
pub struct WeekView {
    pub student_id: i64,
    pub student_name: String,
    pub monday: NaiveDate,
    pub days: Vec<WeekDayView>,
}

/// 一个有过敏登记的孩子（供食堂备餐）
#[derive(Debug, Clone, Object)]
pub struct AllergyFlag {
    /// 姓名（脱敏）
    pub student: String,
    /// 过敏原（中文名）
    pub allergens: Vec<String>,
    pub note: String,
    /// 所订餐品含有其过敏原
    pub conflict: bool,
}

/// 一个班某餐品的份数
#[derive(Debug, Clone, Object)]
pub struct CanteenClass {
    pub class_id: i64,
    pub class_name: String,
    pub count: i32,
    pub allergies: Vec<AllergyFlag>,
}

/// 一个餐品当天的份数
#[derive(Debug, Clone, Object)]
pub struct CanteenItem {
    pub item_id: i64,
    pub name: String,
    pub kind_label: String,
    pub total: i32,
    pub classes: Vec<CanteenClass>,
}

/// 食堂备餐数（某供餐日，按餐品、按班级，含过敏提示）
#[derive(Debug, Clone, Object)]
pub struct CanteenView {
    pub day: NaiveDate,
    pub served: bool,
    /// 不供餐的原因，或当天的名称
    pub note: String,
    /// 停餐截止时间：此后数字不再变化
    pub final_at: DateTime<Utc>,
    /// 现在已过截止时间，数字为最终数
    pub is_final: bool,
    pub total: i32,
    pub items: Vec<CanteenItem>,
}

text_enum! {
    /// `meal_stops.status`.
    pub enum StopStatus {
        Pending = "pending" => "申请中",
        Approved = "approved" => "已批准",
        Rejected = "rejected" => "已驳回",
        Withdrawn = "withdrawn" => "已撤销",
    }
}

/// 停餐申请（R-P08）或登记（R-T10）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewMealStop {
    pub student_id: i64,
    /// 第一天
    pub first_day: NaiveDate,
    /// 最后一天；只停一天可不填
    pub last_day: Option<NaiveDate>,
    /// 原因，如“请假外出”
    pub reason: String,
}

/// 审批意见
#[derive(Debug, Clone, Object, Default)]
#[oai(skip_serializing_if_is_none)]
pub struct StopReview {
    /// 驳回时必填
    pub comment: Option<String>,
}

/// Which stops a list shows: of these states (all when empty), of one class, one page.
#[derive(Debug, Clone, Default)]
pub struct StopFilter {
    pub statuses: Vec<StopStatus>,
    pub class_id: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// 一页停餐记录
#[derive(Debug, Clone, Object)]
pub struct MealStopPage {
    /// 符合条件的总条数
    pub total: i64,
    /// 本页（最近有变动的在前）
    pub items: Vec<MealStopView>,
}

/// 停餐
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealStopView {
    pub id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// 停掉的供餐日
    pub days: Vec<NaiveDate>,
    pub day_count: i32,
    pub reason: String,
    pub status: StopStatus,
    pub status_label: String,
    /// 给家长看的进度：申请中 | 已批准 | 退款中 | 已到账 | 异常 | 已驳回 | 已撤销
    pub progress_label: String,
    /// 应退金额（元）：停掉的供餐日按订餐价格计
    pub refund_amount: String,
    /// 班主任或管理员直接登记
    pub by_staff: bool,
    pub requested_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
}

/// 一个孩子本周期的订餐缴费情况
#[derive(Debug, Clone, Object)]
pub struct PaymentStudent {
    pub student_id: i64,
    pub student_name: String,
    /// paid 已缴费 | held 待缴费（已订未付） | none 未订餐
    pub state: String,
    pub state_label: String,
    /// 已缴金额（元）
    pub paid: String,
    /// 待缴金额（元）
    pub unpaid: String,
}

/// 一个班的订餐缴费统计
#[derive(Debug, Clone, Object)]
pub struct PaymentClass {
    pub class_id: i64,
    pub class_name: String,
    pub students: i32,
    /// 已订（已缴费或待缴费）
    pub ordered: i32,
    pub paid: i32,
    /// 已订未付
    pub unpaid: i32,
    pub not_ordered: i32,
    pub rows: Vec<PaymentStudent>,
}

/// 订餐缴费统计（R-T09）
#[derive(Debug, Clone, Object)]
pub struct PaymentStats {
    pub period_start: NaiveDate,
    pub period_label: String,
    pub classes: Vec<PaymentClass>,
}

/// 一键催缴
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewReminder {
    /// 周期开始日期
    pub period_start: NaiveDate,
    /// 只催某个班；不填为自己能看到的全部班级
    pub class_id: Option<i64>,
}

/// 催缴结果
#[derive(Debug, Clone, Object)]
pub struct ReminderView {
    /// 未缴费的孩子数
    pub unpaid_students: i32,
    /// 这次发出提醒的家长数
    pub sent: i32,
    /// 今天已经提醒过、这次没有再发的家长数
    pub already_today: i32,
}

/// 发起停餐退款批次（R-T13）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewRefundBatch {
    /// 只退这个订餐周期（周期开始日期）；不填为全部周期
    pub period_start: Option<NaiveDate>,
}

/// 停餐退款批次
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MealRefundBatchView {
    pub id: i64,
    /// 订餐周期开始日期；为空表示全部周期
    pub period_start: Option<NaiveDate>,
    /// “2026年11月” 或 “全部周期”
    pub period_label: String,
    /// 发起的微信退款笔数（每笔原支付一笔）
    pub refunds: i32,
    /// 退回的供餐日数
    pub days: i32,
    /// 退款总额（元）
    pub amount: String,
    /// 仍在退款中、已到账、异常的供餐日数
    pub processing_days: i32,
    pub refunded_days: i32,
    pub failed_days: i32,
    /// 退款中 / 已到账 / 有异常 / 无需退款
    pub progress_label: String,
    pub created_at: DateTime<Utc>,
}

/// 待退款：已批准的停餐和停供日中还没有退的
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RefundDueView {
    /// 订餐周期开始日期；为空表示全部周期
    pub period_start: Option<NaiveDate>,
    /// 涉及的停餐条数
    pub stops: i32,
    /// 停餐的供餐日数
    pub stop_days: i32,
    /// 学校停供（放假、停课或食堂不供餐）的已订供餐日数
    pub unserved_days: i32,
    /// 应退总额（元）
    pub amount: String,
    /// 最近的退款批次，最新的在前
    pub batches: Vec<MealRefundBatchView>,
}

/// "15:00"
pub fn parse_cutoff(s: &str) -> Result<NaiveTime, MealError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| MealError::RulesInvalid {
        field: "stop_cutoff",
        reason: format!("截止时间“{s}”格式不正确，应为 HH:MM，如 15:00"),
    })
}

pub const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_positive_and_bounded() {
        assert_eq!(DayPrice::parse("12.5").unwrap().get().to_string(), "12.5");
        for bad in ["0", "-1", "0.001", "200.01", "1e3", "", "abc", "10,5"] {
            assert!(DayPrice::parse(bad).is_err(), "{bad}");
        }
        assert!(DayPrice::parse("200").is_ok());
    }

    #[test]
    fn levels_are_grades_of_compulsory_education() {
        assert_eq!(parse_levels(&[3, 1, 2]).unwrap(), vec![1, 2, 3]);
        assert!(parse_levels(&[]).is_err());
        assert!(parse_levels(&[1, 1]).is_err());
        assert!(parse_levels(&[10]).is_err());
    }

    #[test]
    fn allergen_labels_follow_the_standard_order() {
        let codes = vec!["milk".to_string(), "gluten".to_string(), "nope".to_string()];
        assert_eq!(allergen_labels(&codes), vec!["含麸质的谷物", "乳制品"]);
    }
}
