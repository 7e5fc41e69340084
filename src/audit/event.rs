//! What is recorded: [`AuditEvent`] going in, [`AuditRecord`] coming out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AuditError;

/// How the audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    /// The action was attempted and failed (wrong password, validation error ...).
    Failure,
    /// The action was refused by an authorisation rule.
    Denied,
}

impl Outcome {
    /// The value stored in `platform.audit_log.outcome` and fed to the MAC.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    /// The word an auditor reads in exports.
    pub fn label_zh(self) -> &'static str {
        match self {
            Outcome::Success => "成功",
            Outcome::Failure => "失败",
            Outcome::Denied => "拒绝",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            "denied" => Some(Outcome::Denied),
            _ => None,
        }
    }
}

/// One thing to record. Build with [`AuditEvent::new`] and the chained setters:
///
/// ```
/// use afterschool::audit::{AuditEvent, Outcome};
/// let ev = AuditEvent::new("auth.login", "account:42", Outcome::Success)
///     .actor(42, "parent")
///     .ip("203.0.113.7")
///     .details(serde_json::json!({"method": "sms"}));
/// assert_eq!(ev.actor_account_id, Some(42));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub actor_account_id: Option<i64>,
    pub actor_role: Option<String>,
    pub tenant_id: Option<i64>,
    pub source_ip: Option<String>,
    /// Dotted lower-case name: `auth.login`, `authz.denied`, `role.assign`, `pii.read` ...
    pub action: String,
    /// What was acted on, e.g. `account:42`, `student:1001`, `/api/students/1001`.
    pub object: String,
    pub outcome: Outcome,
    /// A JSON object with context. Never put clear personal data here: the trail is kept
    /// forever and exported to CSV. Use masked values or ids.
    pub details: Value,
}

/// Longest accepted action name (the table's check constraint says the same).
const MAX_ACTION_LEN: usize = 100;

impl AuditEvent {
    /// Who acted (account, and the role they acted in).
    pub fn who(mut self, account_id: Option<i64>, role: Option<String>) -> Self {
        self.actor_account_id = account_id;
        self.actor_role = role;
        self
    }

    /// The tenant the action touched.
    pub fn at_tenant(mut self, tenant_id: Option<i64>) -> Self {
        self.tenant_id = tenant_id;
        self
    }

    /// The address the request came from.
    pub fn with_ip(mut self, ip: Option<String>) -> Self {
        self.source_ip = ip;
        self
    }

    pub fn new(action: impl Into<String>, object: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            actor_account_id: None,
            actor_role: None,
            tenant_id: None,
            source_ip: None,
            action: action.into(),
            object: object.into(),
            outcome,
            details: Value::Object(Default::default()),
        }
    }

    pub fn actor(mut self, account_id: i64, role: impl Into<String>) -> Self {
        self.actor_account_id = Some(account_id);
        self.actor_role = Some(role.into());
        self
    }

    pub fn tenant(mut self, tenant_id: i64) -> Self {
        self.tenant_id = Some(tenant_id);
        self
    }

    pub fn ip(mut self, source_ip: impl Into<String>) -> Self {
        self.source_ip = Some(source_ip.into());
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// Checks the rules the table also enforces, so a bad event fails with a clear message
    /// before it takes the chain's lock.
    pub(crate) fn validate(&self) -> Result<(), AuditError> {
        if !is_valid_action(&self.action) {
            return Err(AuditError::InvalidEvent(format!(
                "操作名须为小写点分形式（如 auth.login），且不超过 {MAX_ACTION_LEN} 个字符"
            )));
        }
        if !self.details.is_object() {
            return Err(AuditError::InvalidEvent("details 须为 JSON 对象".into()));
        }
        if has_fraction(&self.details) {
            return Err(AuditError::InvalidEvent(
                "details 中的数字须为整数（金额等小数请写成字符串）".into(),
            ));
        }
        Ok(())
    }
}

/// Whether a number anywhere in `v` is not an integer. Such numbers are refused because
/// jsonb stores them as `numeric` and gives back another spelling (`1e2` comes back as
/// `100`, `-0.0` as `0.0`), while the row MAC is taken over the value as written.
fn has_fraction(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_fraction),
        Value::Object(map) => map.values().any(has_fraction),
        _ => false,
    }
}

/// `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`, at most 100 bytes: the same rule as the table's
/// check constraint. `search` relies on actions being plain ASCII below 0x7f.
pub(crate) fn is_valid_action(action: &str) -> bool {
    if action.is_empty() || action.len() > MAX_ACTION_LEN {
        return false;
    }
    let word = |w: &str| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut parts = action.split('.');
    match parts.next() {
        Some(first) if first.starts_with(|c: char| c.is_ascii_lowercase()) && word(first) => {}
        _ => return false,
    }
    parts.all(word)
}

/// One stored record, as read back from `platform.audit_log`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_account_id: Option<i64>,
    pub actor_role: Option<String>,
    pub tenant_id: Option<i64>,
    pub source_ip: Option<String>,
    pub action: String,
    pub object: String,
    pub outcome: Outcome,
    pub details: Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_follow_the_table_rule() {
        for ok in [
            "auth.login",
            "authz.denied",
            "role.assign",
            "pii.read",
            "x",
            "a.b_c.d2",
        ] {
            assert!(is_valid_action(ok), "{ok}");
        }
        for bad in [
            "",
            "Auth.login",
            "auth..login",
            ".auth",
            "auth.",
            "1auth",
            "auth login",
            "认证",
        ] {
            assert!(!is_valid_action(bad), "{bad}");
        }
        assert!(!is_valid_action(&"a".repeat(101)));
    }

    #[test]
    fn details_must_be_an_object() {
        let ev = AuditEvent::new("auth.login", "account:1", Outcome::Success)
            .details(serde_json::json!([1, 2]));
        assert!(matches!(ev.validate(), Err(AuditError::InvalidEvent(_))));
    }

    #[test]
    fn numbers_in_details_must_be_integers() {
        let ok = AuditEvent::new("auth.login", "account:1", Outcome::Success)
            .details(serde_json::json!({"n": [1, -2, {"big": u64::MAX}], "amount": "12.50"}));
        assert!(ok.validate().is_ok());
        let bad = AuditEvent::new("auth.login", "account:1", Outcome::Success)
            .details(serde_json::json!({"deep": [{"x": 1.5}]}));
        assert!(matches!(bad.validate(), Err(AuditError::InvalidEvent(_))));
    }

    #[test]
    fn outcome_strings_round_trip() {
        for o in [Outcome::Success, Outcome::Failure, Outcome::Denied] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
            assert_eq!(
                serde_json::to_value(o).unwrap(),
                serde_json::json!(o.as_str())
            );
        }
        assert_eq!(Outcome::parse("ok"), None);
    }
}
