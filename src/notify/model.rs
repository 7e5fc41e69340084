//! What a message is: its kind, the WeChat subscription-message template it is sent with
//! (field keys whose letter prefix is the value's type, as WeChat names them: `thing2`,
//! `amount3`), the SMS text it falls back to, and the settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The outbox event kind of a message.
pub const EVENT: &str = "notify.message";

/// A kind of message, with its template. Adding a kind: a variant here, its [`Template`]
/// in [`TEMPLATES`], and the call in the feature whose change sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 报名成功：a booking confirmed by its payment.
    BookingConfirmed,
    /// 退款到账：WeChat Pay reports a refund arrived.
    RefundArrived,
    /// 审核结果：a withdrawal, transfer or meal-stop request approved or rejected.
    RequestDecided,
    /// 缴费提醒：a homeroom teacher's or admin's 一键催缴 for a meal period not yet paid.
    PaymentReminder,
    /// 学校通知：a notice published to the parents of a school, some grades or classes.
    SchoolNotice,
    /// 出勤通知：a child marked present, late, absent or left early at a session.
    AttendanceMarked,
    /// 缺勤提醒：to the homeroom teacher, a child of their class absent without leave.
    AbsenceAlert,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::BookingConfirmed,
        Kind::RefundArrived,
        Kind::RequestDecided,
        Kind::PaymentReminder,
        Kind::SchoolNotice,
        Kind::AttendanceMarked,
        Kind::AbsenceAlert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::BookingConfirmed => "booking_confirmed",
            Kind::RefundArrived => "refund_arrived",
            Kind::RequestDecided => "request_decided",
            Kind::PaymentReminder => "payment_reminder",
            Kind::SchoolNotice => "school_notice",
            Kind::AttendanceMarked => "attendance_marked",
            Kind::AbsenceAlert => "absence_alert",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn template(self) -> &'static Template {
        // TEMPLATES lists the kinds in their declaration order (a unit test checks it).
        &TEMPLATES[self as usize]
    }

    /// The message's title, as WeChat shows it.
    pub fn label(self) -> &'static str {
        self.template().title
    }
}

/// The value types of subscription-message fields, named by the key's letter prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `thing`: ≤ 20 characters.
    Thing,
    /// `name`: ≤ 10 characters.
    Name,
    /// `phrase`: ≤ 5 Chinese characters.
    Phrase,
    /// `amount`: a currency sign (or 元) and ≤ 10 digits, two decimals.
    Amount,
    /// `time`: a date and time.
    Time,
    /// `character_string`: ≤ 32 letters, digits and symbols.
    CharacterString,
}

impl FieldType {
    /// The type of a field key (`thing2` → `Thing`); `None` for a key WeChat does not know.
    pub fn of_key(key: &str) -> Option<FieldType> {
        let prefix = key.trim_end_matches(|c: char| c.is_ascii_digit());
        Some(match prefix {
            "thing" => FieldType::Thing,
            "name" => FieldType::Name,
            "phrase" => FieldType::Phrase,
            "amount" => FieldType::Amount,
            "time" => FieldType::Time,
            "character_string" => FieldType::CharacterString,
            _ => return None,
        })
    }

    /// The most characters a value may have.
    pub fn limit(self) -> usize {
        match self {
            FieldType::Thing => 20,
            FieldType::Name => 10,
            FieldType::Phrase => 5,
            FieldType::Amount => 14,
            FieldType::Time => 30,
            FieldType::CharacterString => 32,
        }
    }

    /// Whether WeChat takes `value` for a field of this type (else it answers 47003).
    pub fn accepts(self, value: &str) -> bool {
        let n = value.chars().count();
        if n == 0 || n > self.limit() {
            return false;
        }
        match self {
            FieldType::Amount => {
                let digits = value.trim_start_matches(['¥', '￥']).trim_end_matches('元');
                let mut parts = digits.splitn(2, '.');
                let int = parts.next().unwrap_or_default();
                let frac = parts.next().unwrap_or("00");
                !int.is_empty()
                    && int.len() <= 10
                    && int.bytes().all(|b| b.is_ascii_digit())
                    && frac.len() <= 2
                    && frac.bytes().all(|b| b.is_ascii_digit())
            }
            FieldType::Time => value.chars().any(|c| c.is_ascii_digit()),
            FieldType::CharacterString => value.is_ascii(),
            FieldType::Phrase => value.chars().all(|c| !c.is_ascii()),
            FieldType::Thing | FieldType::Name => true,
        }
    }

    /// `value` made to fit: cut to the limit with an ellipsis (text types), or as given
    /// (amounts and times are built to fit and are never cut).
    pub fn fit(self, value: &str) -> String {
        let value = value.trim();
        match self {
            FieldType::Thing | FieldType::Name | FieldType::Phrase => {
                let n = value.chars().count();
                if n <= self.limit() {
                    value.to_string()
                } else {
                    let mut s: String = value.chars().take(self.limit() - 1).collect();
                    s.push('…');
                    s
                }
            }
            FieldType::CharacterString => value
                .chars()
                .filter(char::is_ascii)
                .take(self.limit())
                .collect(),
            FieldType::Amount | FieldType::Time => value.to_string(),
        }
    }
}

/// A subscription-message template: what WeChat shows and the SMS that replaces it.
pub struct Template {
    pub kind: Kind,
    /// The template id of the simulator (and the default until configured).
    pub sim_id: &'static str,
    pub title: &'static str,
    /// When it is sent, for the parent's settings page.
    pub when: &'static str,
    /// Field keys with their captions, in WeChat's order.
    pub fields: &'static [(&'static str, &'static str)],
    /// The SMS text: `{key}` is replaced by the field's value.
    pub sms: &'static str,
    /// The page of ours the message opens (below the tenant).
    pub page: &'static str,
}

pub static TEMPLATES: &[Template] = &[
    Template {
        kind: Kind::BookingConfirmed,
        sim_id: "SIM-TPL-BOOKING-CONFIRMED-0001",
        title: "报名成功通知",
        when: "孩子的课程报名缴费成功、名额确认时",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "课程名称"),
            ("amount3", "缴费金额"),
            ("time4", "确认时间"),
        ],
        sms: "{name1}已成功报名“{thing2}”，缴费{amount3}，名额已确认。",
        page: "/m/records",
    },
    Template {
        kind: Kind::RefundArrived,
        sim_id: "SIM-TPL-REFUND-ARRIVED-0002",
        title: "退款到账通知",
        when: "退课、停课等退款原路退回到账时",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "退款项目"),
            ("amount3", "退款金额"),
            ("time4", "到账时间"),
            ("thing5", "备注"),
        ],
        sms: "{name1}的“{thing2}”退款{amount3}已原路退回，{thing5}。",
        page: "/m/records",
    },
    Template {
        kind: Kind::RequestDecided,
        sim_id: "SIM-TPL-REQUEST-DECIDED-0003",
        title: "审核结果通知",
        when: "退课、调班、停餐申请审核通过或驳回时",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "申请事项"),
            ("phrase3", "审核结果"),
            ("thing4", "审核意见"),
            ("time5", "审核时间"),
        ],
        sms: "{name1}的{thing2}申请{phrase3}，审核意见：{thing4}。",
        page: "/m/records",
    },
    Template {
        kind: Kind::PaymentReminder,
        sim_id: "SIM-TPL-PAYMENT-REMINDER-0004",
        title: "缴费提醒",
        when: "班主任或学校对未缴费的订餐一键催缴时",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "缴费项目"),
            ("time3", "截止时间"),
            ("thing4", "温馨提示"),
        ],
        sms: "{name1}的“{thing2}”尚未缴费，请在{time3}前完成，{thing4}。",
        page: "/m/meals",
    },
    Template {
        kind: Kind::SchoolNotice,
        sim_id: "SIM-TPL-SCHOOL-NOTICE-0005",
        title: "学校通知",
        when: "学校或班主任发布与孩子有关的通知时",
        fields: &[
            ("thing1", "通知标题"),
            ("thing2", "发布人"),
            ("time3", "发布时间"),
        ],
        sms: "您有一条新的学校通知“{thing1}”（{thing2}），请进入课后服务查看。",
        page: "/m/notices",
    },
    Template {
        kind: Kind::AttendanceMarked,
        sim_id: "SIM-TPL-ATTENDANCE-MARKED-0006",
        title: "出勤通知",
        when: "老师为孩子的课后服务或课程点名时（已到、迟到、缺勤、早退）",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "课程名称"),
            ("phrase3", "出勤情况"),
            ("time4", "点名时间"),
        ],
        sms: "{name1}在“{thing2}”的出勤情况：{phrase3}（{time4}）。",
        page: "/m/timetable",
    },
    Template {
        kind: Kind::AbsenceAlert,
        sim_id: "SIM-TPL-ABSENCE-ALERT-0007",
        title: "缺勤提醒",
        when: "班上的孩子未请假缺勤时（发给班主任）",
        fields: &[
            ("name1", "学生姓名"),
            ("thing2", "课程名称"),
            ("time3", "上课时间"),
            ("thing4", "提示"),
        ],
        sms: "{name1}未请假缺勤“{thing2}”（{time3}），{thing4}。",
        page: "/m/teacher",
    },
];

/// The SMS signature every text starts with.
pub const SMS_SIGN: &str = "【石岐课后服务】";

/// A message a feature asks to send, in its own transaction ([`super::service::emit`]).
#[derive(Debug, Clone)]
pub struct Message {
    pub kind: Kind,
    /// The recipient.
    pub account_id: i64,
    pub tenant_id: Option<i64>,
    /// What caused it (`enrollment:12`, `refund:7`): with the kind and the recipient, the
    /// key that makes the message go out once.
    pub source: String,
    pub fields: BTreeMap<String, String>,
}

impl Message {
    pub fn new(kind: Kind, account_id: i64, source: impl Into<String>) -> Self {
        Message {
            kind,
            account_id,
            tenant_id: None,
            source: source.into(),
            fields: BTreeMap::new(),
        }
    }

    pub fn tenant(mut self, tenant_id: i64) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    /// Sets a field, made to fit its type.
    pub fn field(mut self, key: &str, value: impl AsRef<str>) -> Self {
        let v = match FieldType::of_key(key) {
            Some(t) => t.fit(value.as_ref()),
            None => value.as_ref().to_string(),
        };
        self.fields.insert(key.to_string(), v);
        self
    }

    /// The keys the template needs that are missing or do not fit.
    pub fn problems(&self) -> Vec<String> {
        self.kind
            .template()
            .fields
            .iter()
            .filter(|(k, _)| {
                let t = FieldType::of_key(k);
                match (self.fields.get(*k), t) {
                    (Some(v), Some(t)) => !t.accepts(v),
                    _ => true,
                }
            })
            .map(|(k, _)| k.to_string())
            .collect()
    }

    /// The outbox key: one message per kind, cause and recipient.
    pub fn key(&self) -> String {
        format!(
            "notify:{}:{}:{}",
            self.kind.as_str(),
            self.source,
            self.account_id
        )
    }
}

/// The SMS text of a message with these fields.
pub fn sms_text(kind: Kind, fields: &BTreeMap<String, String>) -> String {
    let mut body = kind.template().sms.to_string();
    for (k, v) in fields {
        body = body.replace(&format!("{{{k}}}"), v);
    }
    format!("{SMS_SIGN}{body}")
}

/// An amount in yuan as a subscription field (`¥120.00`).
pub fn amount(yuan: rust_decimal::Decimal) -> String {
    format!("¥{:.2}", yuan.round_dp(2))
}

/// A time as a subscription field, in Beijing time (`2026年12月07日 14:30`).
pub fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&crate::clock::cst())
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

/// The channel a message went by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Wechat,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Wechat => "wechat",
            Channel::Sms => "sms",
        }
    }
    pub fn label_of(s: Option<&str>) -> &'static str {
        match s {
            Some("wechat") => "微信订阅消息",
            Some("sms") => "短信",
            _ => "—",
        }
    }
}

/// A message's delivery state, as the log shows it.
pub fn status_label(s: &str) -> &'static str {
    match s {
        "sending" => "发送中",
        "sent" => "已送达",
        "failed" => "发送失败，稍后重试",
        "unknown" => "状态不明（未重发）",
        _ => "—",
    }
}

/// A subscription state, as the parent sees it.
pub fn subscription_label(s: Option<&str>) -> &'static str {
    match s {
        Some("accept") => "已开启微信提醒",
        Some("reject") => "已拒绝微信提醒，改用短信",
        Some("off") => "微信提醒已关闭，改用短信",
        _ => "未开启微信提醒，用短信通知",
    }
}

/// How messages are sent: configuration section `notify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifySettings {
    /// Template ids per kind (`booking_confirmed = "…"`), as the 公众号's back office
    /// lists them; unset kinds use the simulator's ids.
    pub templates: BTreeMap<String, String>,
    /// A recipient gets at most `rate_max` messages per `rate_window_secs`; more wait.
    pub rate_max: u32,
    pub rate_window_secs: u64,
    /// …and at most `daily_max` per 24 hours.
    pub daily_max: u32,
    /// How long a call to WeChat may take.
    pub timeout_ms: u64,
}

impl Default for NotifySettings {
    fn default() -> Self {
        NotifySettings {
            templates: BTreeMap::new(),
            rate_max: 5,
            rate_window_secs: 60,
            daily_max: 30,
            timeout_ms: 5_000,
        }
    }
}

impl NotifySettings {
    /// The template id of a kind.
    pub fn template_id(&self, kind: Kind) -> String {
        self.templates
            .get(kind.as_str())
            .cloned()
            .unwrap_or_else(|| kind.template().sim_id.to_string())
    }

    /// The kind a template id belongs to.
    pub fn kind_of(&self, template_id: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| self.template_id(*k) == template_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_template() {
        for k in Kind::ALL {
            assert_eq!(k.template().kind, k);
        }
        assert_eq!(TEMPLATES.len(), Kind::ALL.len());
    }

    #[test]
    fn field_types_follow_wechat_limits() {
        assert_eq!(FieldType::of_key("thing12"), Some(FieldType::Thing));
        assert_eq!(FieldType::of_key("amount3"), Some(FieldType::Amount));
        assert_eq!(FieldType::of_key("weird1"), None);
        assert!(FieldType::Thing.accepts(&"课".repeat(20)));
        assert!(!FieldType::Thing.accepts(&"课".repeat(21)));
        assert!(!FieldType::Thing.accepts(""));
        assert!(FieldType::Amount.accepts("¥120.00"));
        assert!(FieldType::Amount.accepts("88元"));
        assert!(!FieldType::Amount.accepts("¥12345678901.00"));
        assert!(!FieldType::Amount.accepts("一百元"));
        assert!(FieldType::Phrase.accepts("已通过"));
        assert!(!FieldType::Phrase.accepts("ok"));
        assert!(!FieldType::Name.accepts(&"名".repeat(11)));
    }

    #[test]
    fn long_values_are_cut_to_fit() {
        let long = "少儿创意美术与手工制作综合提高班（第二期）";
        let cut = FieldType::Thing.fit(long);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with('…'));
        assert!(FieldType::Thing.accepts(&cut));
        let m = Message::new(Kind::BookingConfirmed, 1, "enrollment:1")
            .field("name1", "张小明")
            .field("thing2", long)
            .field("amount3", amount(rust_decimal::Decimal::new(12050, 2)))
            .field("time4", "2026年12月07日 14:30");
        assert!(m.problems().is_empty(), "{:?}", m.problems());
        assert_eq!(m.fields["amount3"], "¥120.50");
        assert_eq!(m.key(), "notify:booking_confirmed:enrollment:1:1");
        let missing = Message::new(Kind::BookingConfirmed, 1, "x").field("name1", "张");
        assert_eq!(missing.problems(), vec!["thing2", "amount3", "time4"]);
    }

    #[test]
    fn sms_text_fills_the_fields() {
        let m = Message::new(Kind::RequestDecided, 1, "request:1")
            .field("name1", "李华")
            .field("thing2", "退课：书法")
            .field("phrase3", "已通过")
            .field("thing4", "同意")
            .field("time5", "2026年12月07日 14:30");
        assert_eq!(
            sms_text(m.kind, &m.fields),
            "【石岐课后服务】李华的退课：书法申请已通过，审核意见：同意。"
        );
    }

    #[test]
    fn template_ids_map_back_to_kinds() {
        let mut s = NotifySettings::default();
        assert_eq!(
            s.kind_of("SIM-TPL-REFUND-ARRIVED-0002"),
            Some(Kind::RefundArrived)
        );
        s.templates
            .insert("refund_arrived".into(), "Zx9-live-template".into());
        assert_eq!(s.kind_of("Zx9-live-template"), Some(Kind::RefundArrived));
        assert_eq!(s.kind_of("SIM-TPL-REFUND-ARRIVED-0002"), None);
    }
}
