//! CSV export for auditors, shaped for Excel as used in China.

use chrono::{FixedOffset, Offset, Utc};

use super::chain::canonical_json;
use super::labels::{action_label, details_text, object_label, role_label};
use super::AuditRecord;

/// Chinese first, for the auditor reading the file; the stored codes last, for filtering
/// and for matching the trail's chain.
const HEADER: [&str; 12] = [
    "时间",
    "操作人",
    "角色",
    "租户",
    "来源IP",
    "操作",
    "对象",
    "结果",
    "详情",
    "操作代码",
    "角色代码",
    "详情原文",
];

/// The records as CSV text: UTF-8 with a byte-order mark (without it Excel on a Chinese
/// Windows reads the file as GBK and garbles every character), a Chinese header row, CRLF
/// line ends (RFC 4180), times in China Standard Time with the offset written out.
///
/// Fields are quoted when they hold a comma, quote or line break, quotes doubled. Fields an
/// attacker controls (object, details, the role or IP taken from a request) could start with
/// `=`, `+`, `-` or `@` and run as a formula when opened; such fields get a leading `'`.
pub fn to_csv(records: &[AuditRecord]) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
    let mut out = String::from('\u{feff}');
    push_row(&mut out, HEADER.iter().map(|h| (*h).to_owned()));
    for r in records {
        let opt_int = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        push_row(
            &mut out,
            [
                r.at.with_timezone(&cst)
                    .format("%Y-%m-%d %H:%M:%S%.6f %:z")
                    .to_string(),
                opt_int(r.actor_account_id),
                r.actor_role
                    .as_deref()
                    .map(|role| role_label(role).to_owned())
                    .unwrap_or_default(),
                opt_int(r.tenant_id),
                r.source_ip.clone().unwrap_or_default(),
                action_label(&r.action),
                object_label(&r.object),
                r.outcome.label_zh().to_owned(),
                details_text(&r.details),
                r.action.clone(),
                r.actor_role.clone().unwrap_or_default(),
                canonical_json(&r.details),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(&f));
    }
    out.push_str("\r\n");
}

/// One field, formula-guarded and quoted as needed.
fn csv_field(raw: &str) -> String {
    // Tab and CR start formulas too in some spreadsheet programs (OWASP's list).
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formula_starters_are_defused() {
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("+86"), "'+86");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(
            csv_field("=HYPERLINK(\"x\",1)"),
            "\"'=HYPERLINK(\"\"x\"\",1)\""
        );
    }
}
