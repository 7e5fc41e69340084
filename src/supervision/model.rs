//! The city supervision push's types: its settings, the six field sets of R-X01 (F1–F6) as
//! records with the protocol's field names, and what a record is as the outbox carries it.
//!
//! Field names are the protocol's (docs/supervision-protocol.md); the Chinese name of
//! each is beside it. Personal fields (ID numbers, phones) are listed in [`PERSONAL`]: the
//! outbox holds them encrypted with the platform's data key, the wire with SM4.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Path prefix of the receiver simulator on our own server.
pub const SIM_PREFIX: &str = "/sim/supervision";

/// Where pushes go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SupervisionMode {
    /// The receiver simulator this server serves under `/sim/supervision` (the default).
    #[default]
    Simulator,
    /// The city's platform at `endpoint`.
    Live,
}

/// `[supervision]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisionSettings {
    pub mode: SupervisionMode,
    /// The receiver's base URL (`https://…/api/v1/supervision`); the push goes to
    /// `<endpoint>/push`. Simulator: this server's `/sim/supervision` when unset.
    pub endpoint: Option<String>,
    /// Our application id at the receiver.
    pub app_id: String,
    /// F1 平台编号, 平台名称, 平台网址, 平台负责人, 负责人联系电话, 技术员, 技术员联系电话.
    pub platform_no: String,
    pub platform_name: String,
    pub platform_url: String,
    pub owner_name: String,
    pub owner_phone: String,
    pub tech_name: String,
    pub tech_phone: String,
    /// F5 银行名称: the custodian bank of the escrow account.
    pub escrow_bank_name: String,
    /// Our SM2 private key (64 hex). Simulator: derived from the data keys when unset.
    #[serde(skip_serializing)]
    pub sign_key_hex: Option<SecretString>,
    /// The SM4 key agreed with the receiver (32 hex). Simulator: derived when unset.
    #[serde(skip_serializing)]
    pub sm4_key_hex: Option<SecretString>,
    /// The receiver's SM2 public key (130 hex), which signs its answers.
    pub receiver_public_hex: Option<String>,
    /// Records per request (the receiver's limit is [`MAX_BATCH`]).
    pub batch: usize,
    pub timeout_ms: u64,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        SupervisionSettings {
            mode: SupervisionMode::Simulator,
            endpoint: None,
            app_id: "AS-ZS-SHIQI".into(),
            platform_no: "4420001001".into(),
            platform_name: "石岐街道校内课后服务管理平台".into(),
            platform_url: "https://kh.shiqi.example.cn".into(),
            owner_name: "陈主任".into(),
            owner_phone: "13800138001".into(),
            tech_name: "李工".into(),
            tech_phone: "13800138002".into(),
            escrow_bank_name: "中国农业银行中山石岐支行".into(),
            sign_key_hex: None,
            sm4_key_hex: None,
            receiver_public_hex: None,
            batch: 100,
            timeout_ms: 5000,
        }
    }
}

/// Records one request may carry.
pub const MAX_BATCH: usize = 100;

/// The field sets of R-X01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldSet {
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
}

impl FieldSet {
    pub const ALL: [FieldSet; 6] = [
        FieldSet::F1,
        FieldSet::F2,
        FieldSet::F3,
        FieldSet::F4,
        FieldSet::F5,
        FieldSet::F6,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldSet::F1 => "F1",
            FieldSet::F2 => "F2",
            FieldSet::F3 => "F3",
            FieldSet::F4 => "F4",
            FieldSet::F5 => "F5",
            FieldSet::F6 => "F6",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        FieldSet::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            FieldSet::F1 => "服务平台",
            FieldSet::F2 => "培训班级",
            FieldSet::F3 => "教师",
            FieldSet::F4 => "学生",
            FieldSet::F5 => "财务",
            FieldSet::F6 => "家长评价",
        }
    }

    /// The fields every record of the set must carry (the receiver refuses one without).
    pub fn required(self) -> &'static [&'static str] {
        match self {
            FieldSet::F1 => &[
                "platformNo",
                "platformName",
                "platformUrl",
                "ownerName",
                "ownerPhone",
                "techName",
                "techPhone",
            ],
            FieldSet::F2 => &[
                "platformNo",
                "classNo",
                "classType",
                "className",
                "capacity",
                "timeSlot",
                "startTime",
                "endTime",
                "category",
                "intro",
            ],
            FieldSet::F3 => &[
                "platformNo",
                "teacherNo",
                "classNo",
                "teacherName",
                "idNo",
                "phone",
            ],
            FieldSet::F4 => &[
                "platformNo",
                "classNo",
                "studentName",
                "idNo",
                "age",
                "sex",
                "schoolName",
                "schoolClass",
            ],
            FieldSet::F5 => &["platformNo", "bankName", "amount", "direction", "content"],
            FieldSet::F6 => &["platformNo", "studentNo", "classNo", "score", "content"],
        }
    }
}

/// Fields encrypted with SM4 on the wire (and with the data key in the outbox).
pub const PERSONAL: &[&str] = &["idNo", "phone", "ownerPhone", "techPhone"];

/// What a record does at the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Create or replace the record.
    Upsert,
    /// The record ends (a place ended, a teacher left a course).
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Upsert => "upsert",
            Op::Delete => "delete",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Op::Upsert => "新增/更新",
            Op::Delete => "删除",
        }
    }
}

/// One record to push: its set, its stable id at the receiver and its fields (personal
/// ones in clear here; [`crate::supervision::push`] seals them before they are stored).
#[derive(Debug, Clone)]
pub struct Record {
    pub set: FieldSet,
    pub op: Op,
    pub record_id: String,
    pub body: Map<String, Value>,
}

impl Record {
    pub fn new(set: FieldSet, op: Op, record_id: impl Into<String>) -> Self {
        Record {
            set,
            op,
            record_id: record_id.into(),
            body: Map::new(),
        }
    }

    /// Sets a field (a `None` leaves it out).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        let v: Value = value.into();
        if !v.is_null() {
            self.body.insert(name.to_string(), v);
        }
        self
    }
}

/// F2 开班时段 from a course's weekdays and start time: weekend-only courses are 周六日,
/// the rest 中午 when they start before 14:00, else 课后.
pub fn time_slot(weekdays: &[i16], starts_at: &str) -> &'static str {
    if !weekdays.is_empty() && weekdays.iter().all(|d| *d >= 6) {
        "周六日"
    } else if starts_at < "14:00" {
        "中午"
    } else {
        "课后"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_slots_follow_the_weekdays_and_the_start() {
        assert_eq!(time_slot(&[6, 7], "09:00"), "周六日");
        assert_eq!(time_slot(&[1, 2, 3], "12:10"), "中午");
        assert_eq!(time_slot(&[1, 5], "16:30"), "课后");
        assert_eq!(time_slot(&[5, 6], "09:00"), "中午");
    }

    #[test]
    fn field_sets_round_trip_and_name_their_personal_fields() {
        for f in FieldSet::ALL {
            assert_eq!(FieldSet::parse(f.as_str()), Some(f));
        }
        assert!(FieldSet::F3.required().contains(&"idNo"));
        assert!(PERSONAL.contains(&"idNo"));
    }
}
