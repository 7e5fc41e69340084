//! What the payments API takes and answers, and the status columns' enums. Types only:
//! must never hold a rule that needs the database or WeChat.

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::{Enum, Object};
use rust_decimal::Decimal;

use crate::enrollment::model::RefundRequestStatus;
use crate::kernel::ids::{CourseId, EnrollmentId, LineId, OrderId, StudentId};
use crate::wechatpay::JsapiPayParams;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum PayChannel {
    /// 微信内支付（JSAPI，需已绑定 openid）
    Jsapi,
    /// 微信外的手机浏览器（H5）
    H5,
}

crate::text_column!(PayChannel { Jsapi => "jsapi", H5 => "h5" });

/// `payment_orders.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// 待支付
    Created,
    /// 已支付
    Paid,
    /// 已关闭（未支付）
    Closed,
}

crate::text_column!(OrderStatus { Created => "created", Paid => "paid", Closed => "closed" });

impl OrderStatus {
    /// What an order is to a person: its status, and for a paid one how far its money went
    /// back (`refunded` reached the payer, `refunding` is on its way). Parents' and admins'
    /// pages and the API all read it from here.
    pub fn label(self, amount: Decimal, refunded: Decimal, refunding: bool) -> &'static str {
        match self {
            OrderStatus::Created => "待支付",
            OrderStatus::Paid if refunded > Decimal::ZERO && refunded >= amount => "已退款",
            OrderStatus::Paid if refunding => "退款中",
            OrderStatus::Paid if refunded > Decimal::ZERO => "部分退款",
            OrderStatus::Paid => "已支付",
            OrderStatus::Closed => "已关闭",
        }
    }
}

/// `refunds.status`: 申请中 → 退款中 → 已到账 / 异常 / 已关闭.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundStatus {
    /// Reserved here, not yet accepted by WeChat.
    Requested,
    Processing,
    Succeeded,
    /// WeChat could not pay it out; kept reserved for the school to resolve.
    Abnormal,
    /// Given up; the money went back to the line.
    Closed,
}

crate::text_column!(RefundStatus { Requested => "requested", Processing => "processing", Succeeded => "succeeded", Abnormal => "abnormal", Closed => "closed" });

impl RefundStatus {
    pub fn label(self) -> &'static str {
        match self {
            RefundStatus::Requested => "申请中",
            RefundStatus::Processing => "退款中",
            RefundStatus::Succeeded => "已到账",
            RefundStatus::Abnormal => "异常",
            RefundStatus::Closed => "已关闭",
        }
    }

    /// Nothing moves it any more.
    pub fn is_final(self) -> bool {
        matches!(self, RefundStatus::Succeeded | RefundStatus::Closed)
    }

    /// On its way to the payer.
    pub fn is_pending(self) -> bool {
        matches!(self, RefundStatus::Requested | RefundStatus::Processing)
    }

    /// The status WeChat reports, as ours.
    pub fn from_wechat(s: crate::wechatpay::RefundStatus) -> Self {
        use crate::wechatpay::RefundStatus as Wx;
        match s {
            Wx::Processing => RefundStatus::Processing,
            Wx::Success => RefundStatus::Succeeded,
            Wx::Closed => RefundStatus::Closed,
            Wx::Abnormal => RefundStatus::Abnormal,
        }
    }

    /// The status of the withdrawal request (enrollment's `refund_requests`) a refund in this
    /// status gives; `None` leaves the request as it is.
    pub fn request_status(self) -> Option<RefundRequestStatus> {
        match self {
            RefundStatus::Succeeded => Some(RefundRequestStatus::Refunded),
            RefundStatus::Processing => Some(RefundRequestStatus::Processing),
            RefundStatus::Abnormal | RefundStatus::Closed => Some(RefundRequestStatus::Failed),
            RefundStatus::Requested => None,
        }
    }
}

/// `order_lines.release_rule`: how the escrow releases a line to the school.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseRule {
    /// One lesson at a time (一课一消).
    PerLesson,
    /// One served custody day at a time.
    PerDay,
}

crate::text_column!(ReleaseRule { PerLesson => "per_lesson", PerDay => "per_day" });

/// 下单：为孩子已保留名额的报名付款
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewOrder {
    /// 要支付的报名（须为自己孩子的、名额保留中的报名）
    #[oai(default)]
    pub enrollment_ids: Vec<i64>,
    /// 要支付的订餐（须为自己孩子的、待支付的订餐）；与报名合计 1..10 项
    #[oai(default)]
    pub meal_order_ids: Vec<i64>,
    pub channel: PayChannel,
    /// 客户端生成的幂等键（8..64 位字母、数字、_ 或 -）：网络重试时用同一个键，返回同一订单
    pub idempotency_key: String,
}

/// What an order pays for: enrollments and meal orders, each list sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    pub enrollments: Vec<EnrollmentId>,
    pub meals: Vec<i64>,
}

impl Subjects {
    pub fn new(mut enrollments: Vec<EnrollmentId>, mut meals: Vec<i64>) -> Self {
        enrollments.sort_unstable();
        meals.sort_unstable();
        Subjects { enrollments, meals }
    }

    pub fn len(&self) -> usize {
        self.enrollments.len() + self.meals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// 继续支付：这次用的支付方式
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PayOrder {
    pub channel: PayChannel,
}

/// 订单明细行：一个孩子的一项服务
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LineView {
    pub id: LineId,
    /// 报名的明细行：报名与课程
    pub enrollment_id: Option<EnrollmentId>,
    pub student_id: StudentId,
    pub course_id: Option<CourseId>,
    /// 订餐的明细行：订餐记录
    pub meal_order_id: Option<i64>,
    pub description: String,
    /// 金额（元）
    pub amount: String,
    /// per_lesson 按课次结算给收款方（一课一消）| per_day 按服务天数结算
    pub release_rule: String,
    /// 课次数或服务天数
    pub units: i32,
    /// 还可退款的金额（元）：已付减去已结算、退款中和已退款的部分；未支付为 0.00
    pub refundable: String,
}

/// 退款
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RefundView {
    pub id: i64,
    pub out_refund_no: String,
    pub order_id: OrderId,
    pub line_id: LineId,
    /// 金额（元）
    pub amount: String,
    pub reason: String,
    /// withdrawal 退课审批通过 | admin 学校发起 | auto 系统自动 | meal 停餐退款批次
    pub source: String,
    /// requested | processing | succeeded | abnormal | closed
    pub status: String,
    /// 申请中 | 退款中 | 已到账 | 异常 | 已关闭
    pub status_label: String,
    pub created_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
}

impl RefundView {
    /// The status as the enum (the view carries it as the API sends it).
    pub fn refund_status(&self) -> Option<RefundStatus> {
        RefundStatus::parse(&self.status)
    }
}

/// 拉起支付所需的参数（三者之一）
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PayView {
    /// JSAPI：交给 WeixinJSBridge 的 getBrandWCPayRequest 参数
    pub jsapi: Option<JsapiParamsView>,
    /// H5：跳转到该地址完成支付
    pub h5_url: Option<String>,
    /// 演示环境：模拟收银台页面
    pub cashier_url: Option<String>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct JsapiParamsView {
    #[oai(rename = "appId")]
    pub app_id: String,
    #[oai(rename = "timeStamp")]
    pub time_stamp: String,
    #[oai(rename = "nonceStr")]
    pub nonce_str: String,
    pub package: String,
    #[oai(rename = "signType")]
    pub sign_type: String,
    #[oai(rename = "paySign")]
    pub pay_sign: String,
}

impl From<JsapiPayParams> for JsapiParamsView {
    fn from(p: JsapiPayParams) -> Self {
        Self {
            app_id: p.app_id,
            time_stamp: p.time_stamp,
            nonce_str: p.nonce_str,
            package: p.package,
            sign_type: p.sign_type,
            pay_sign: p.pay_sign,
        }
    }
}

impl OrderView {
    /// The status as the enum (the view carries it as the API sends it).
    pub fn order_status(&self) -> Option<OrderStatus> {
        OrderStatus::parse(&self.status)
    }
}

/// 支付订单
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct OrderView {
    pub id: OrderId,
    /// 商户订单号
    pub out_trade_no: String,
    /// created 待支付 | paid 已支付 | closed 已关闭
    pub status: String,
    /// 给人看的状态：待支付 | 已支付 | 退款中 | 部分退款 | 已退款 | 已关闭
    pub status_label: String,
    /// 待支付且名额仍在保留期内：可继续支付或取消
    pub payable: bool,
    /// 已退到账的金额（元）
    pub refunded: String,
    pub channel: String,
    pub description: String,
    /// 金额（元）
    pub amount: String,
    /// 未支付则在此时关闭（与名额保留同时到期）
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub transaction_id: Option<String>,
    pub lines: Vec<LineView>,
    pub refunds: Vec<RefundView>,
    /// 待支付订单的支付参数
    pub pay: Option<PayView>,
}

/// 学校发起退款
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NewRefund {
    /// 订单明细行
    pub line_id: LineId,
    /// 退款金额（元），省略时为该项尚未结算的全部金额
    pub amount: Option<String>,
    /// 退款原因，1..80 字
    pub reason: String,
}

// --- day close and settlement statement ----------------------------------------------------

/// 日终处理结果
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DayCloseView {
    pub date: NaiveDate,
    /// 本日结算给学校的明细数（一课一消 / 按服务天数）
    pub released_lines: u32,
    /// 本日结算给学校的金额（元）
    pub released: String,
    /// 微信支付结算入存管账户的净额（元，负数表示存管账户垫付退款）
    pub settled_to_bank: String,
    /// 对账：匹配的流水数
    pub matched: u32,
    /// 对账差异（银行有账本无、账本有银行无、金额不符）
    pub differences: Vec<DifferenceView>,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DifferenceView {
    /// missing_in_ledger | missing_in_bank | amount_mismatch
    pub kind: String,
    pub reference: String,
    pub bank_amount: Option<String>,
    pub ledger_amount: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum Grouping {
    /// 按课程
    Course,
    /// 按明细（每个孩子的每项服务）
    Item,
    /// 按日
    Day,
}

/// One row of the statement (金额单位：元).
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SettlementRow {
    /// 课程代码、明细编号或日期
    pub key: String,
    /// 课程名称、明细说明或日期
    pub name: String,
    /// 涉及的订单数
    pub orders: u32,
    pub paid: String,
    pub released: String,
    pub refunded: String,
    /// 已申请、尚未到账的退款
    pub refund_pending: String,
    /// 期末仍在存管账户的金额
    pub held: String,
}

/// 结算报表
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SettlementView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub group: Grouping,
    pub rows: Vec<SettlementRow>,
    /// 合计（与存管账本一致）
    pub total: SettlementRow,
    /// 期末应付学校（已结算未划付）
    pub payable_at_end: String,
    /// 期内已划付学校
    pub paid_out: String,
}

impl Grouping {
    /// Whether a row's key means something to a reader: an item's number names a line of
    /// an order, where a course code or a date only repeats the row's name in code form.
    pub fn shows_key(self) -> bool {
        matches!(self, Grouping::Item)
    }

    /// The heading of the key column, when it is shown.
    pub fn key_header(self) -> &'static str {
        "明细编号"
    }

    /// The heading of the name column.
    pub fn name_header(self) -> &'static str {
        match self {
            Grouping::Course => "课程",
            Grouping::Item => "明细",
            Grouping::Day => "日期",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn a_paid_order_reads_as_far_as_its_money_went_back() {
        let full = d("300.00");
        assert_eq!(
            OrderStatus::Paid.label(full, Decimal::ZERO, false),
            "已支付"
        );
        assert_eq!(OrderStatus::Paid.label(full, Decimal::ZERO, true), "退款中");
        assert_eq!(
            OrderStatus::Paid.label(full, d("100.00"), false),
            "部分退款"
        );
        assert_eq!(OrderStatus::Paid.label(full, d("100.00"), true), "退款中");
        assert_eq!(OrderStatus::Paid.label(full, full, false), "已退款");
        assert_eq!(
            OrderStatus::Created.label(full, Decimal::ZERO, false),
            "待支付"
        );
        assert_eq!(
            OrderStatus::Closed.label(full, Decimal::ZERO, false),
            "已关闭"
        );
    }

    #[test]
    fn stored_values_read_back_into_their_enums() {
        for s in [OrderStatus::Created, OrderStatus::Paid, OrderStatus::Closed] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        for s in ["requested", "processing", "succeeded", "abnormal", "closed"] {
            assert_eq!(RefundStatus::parse(s).map(RefundStatus::as_str), Some(s));
        }
        assert_eq!(ReleaseRule::parse("per_day"), Some(ReleaseRule::PerDay));
        assert_eq!(PayChannel::parse("jsapi"), Some(PayChannel::Jsapi));
        assert_eq!(OrderStatus::parse("refunded"), None);
    }
}
