//! The audit administrator's pages: search the trail with the `/platform/audit` filters,
//! export the selection as CSV, and check the chain (`/platform/audit/verify`).
//!
//! Reads the trail only through [`crate::audit`]; must never offer to change a record.

use std::collections::HashMap;

use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::web::Query;
use poem::{handler, Response};
use serde::Deserialize;

use super::{allow, day_start, internal, may, parse_date, when_s, FormError, AUDIT};
use crate::audit::{self, labels, AuditFilter, AuditRecord, Outcome, VerifyReport};
use crate::auth::perms::{AUDIT_EXPORT, AUDIT_SEARCH, AUDIT_VERIFY};
use crate::tenancy::lookup as registry;
use crate::tenancy::model::TenantRecord;
use crate::web::frame::{html_response, PageResult};
use crate::web::layout::{field, input, notice, Tone};
use crate::web::nav::platform_page;
use crate::web::session::Web;

/// Audit records per page (the API's default is larger; a page must stay readable).
const AUDIT_PAGE: u32 = 100;

/// The audit search form, as typed (every field a string, so a bad value can be shown back
/// next to its field).
#[derive(Debug, Default, Deserialize)]
struct AuditQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    outcome: String,
    before: Option<i64>,
}

impl AuditQuery {
    /// The filters as a query string (for the export and the next page), `before` replaced.
    fn query_string(&self, before: Option<i64>) -> String {
        let mut parts: Vec<String> = [
            ("from", &self.from),
            ("to", &self.to),
            ("actor", &self.actor),
            ("tenant", &self.tenant),
            ("action", &self.action),
            ("outcome", &self.outcome),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v.trim())))
        .collect();
        if let Some(b) = before {
            parts.push(format!("before={b}"));
        }
        parts.join("&")
    }

    /// The filter the audit service takes, or the errors by field. A tenant is named by its
    /// code (or registry id), as operators know schools by code.
    fn filter(&self, tenants: &[TenantRecord], limit: u32) -> Result<AuditFilter, FormError> {
        let mut errors = FormError::none();
        let mut date = |name: &'static str, raw: &str| match parse_date(raw) {
            Ok(d) => d,
            Err(m) => {
                errors.add(name, m);
                None
            }
        };
        let from_day = date("from", &self.from);
        let to_day = date("to", &self.to);
        if let (Some(f), Some(t)) = (from_day, to_day) {
            if t < f {
                errors.add("to", "截止日期不能早于起始日期");
            }
        }
        let actor = match self.actor.trim() {
            "" => None,
            a => match a.trim_start_matches('#').parse::<i64>() {
                Ok(id) if id > 0 => Some(id),
                _ => {
                    errors.add("actor", "操作人编号应为正整数，例如 12");
                    None
                }
            },
        };
        let tenant_id = match self.tenant.trim() {
            "" => None,
            t => {
                let code = t.to_ascii_lowercase();
                match tenants
                    .iter()
                    .find(|r| r.code == code || r.id.to_string() == code)
                {
                    Some(r) => Some(r.id),
                    None => {
                        errors.add("tenant", format!("找不到代码为 {t} 的学校或机构"));
                        None
                    }
                }
            }
        };
        let outcome = match self.outcome.trim() {
            "" => None,
            o => match Outcome::parse(o) {
                Some(o) => Some(o),
                None => {
                    errors.add("outcome", "结果只能是成功、失败或拒绝");
                    None
                }
            },
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(AuditFilter {
            from: from_day.and_then(day_start),
            // The end day is inclusive: records before the next day starts.
            to: to_day.and_then(|d| d.succ_opt()).and_then(day_start),
            actor_account_id: actor,
            tenant_id,
            action_prefix: Some(self.action.trim().to_string()).filter(|a| !a.is_empty()),
            outcome,
            limit: limit.min(audit::MAX_LIMIT),
            before_id: self.before,
        })
    }
}

fn outcome_tag(o: Outcome) -> Markup {
    let class = match o {
        Outcome::Success => "tag",
        Outcome::Failure => "tag warn",
        Outcome::Denied => "tag bad",
    };
    html! { span class=(class) { (o.label_zh()) } }
}

/// A record's details in Chinese, cut to a readable length.
fn short_details(v: &serde_json::Value) -> String {
    let s = labels::details_text(v);
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

fn verify_box(r: &VerifyReport) -> Markup {
    html! {
        div #verify-result data-intact=(r.is_intact()) {
            @if r.is_intact() {
                (notice(Tone::Ok, &format!(
                    "审计链完整：已校验 {} 条记录，未发现篡改、删除或乱序{}",
                    r.checked,
                    if r.pending > 0 { format!("（另有 {} 条新记录待封存，写入校验已通过）", r.pending) } else { String::new() }
                )))
            } @else {
                (notice(Tone::Error, &format!(
                    "审计链校验失败：第 {} 号记录起无法校验（已校验 {} 条）。原因：{}",
                    r.first_broken.map(|i| i.to_string()).unwrap_or_else(|| "?".into()),
                    r.checked,
                    r.reason.as_deref().unwrap_or("未知")
                )))
            }
        }
    }
}

async fn audit_page(web: &Web, q: &AuditQuery, verified: Option<&VerifyReport>) -> PageResult {
    let tenants = registry::list(&web.app.db_app).await?;
    let (records, errors): (Vec<AuditRecord>, FormError) = match q.filter(&tenants, AUDIT_PAGE) {
        Ok(f) => (
            audit::search(&web.app.db_app, &f).await.map_err(internal)?,
            FormError::none(),
        ),
        Err(e) => (Vec::new(), e),
    };
    let names: HashMap<i64, &str> = tenants.iter().map(|t| (t.id, t.name.as_str())).collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let qs = q.query_string(None);
    let export = if qs.is_empty() {
        "/console/platform/audit/export".to_string()
    } else {
        format!("/console/platform/audit/export?{qs}")
    };
    let next = (records.len() as u32 == AUDIT_PAGE)
        .then(|| {
            records
                .last()
                .map(|r| format!("{AUDIT}?{}", q.query_string(Some(r.id))))
        })
        .flatten();
    let body = html! {
        @if let Some(r) = verified { (verify_box(r)) }
        form.card method="get" action=(AUDIT) id="audit-filter" {
            div.filters {
                (field("起始日期", "from", html! { input type="text" id="from" name="from" value=(q.from) placeholder="YYYY-MM-DD" inputmode="numeric"; }, errors.field("from")))
                (field("截止日期（含当日）", "to", html! { input type="text" id="to" name="to" value=(q.to) placeholder="YYYY-MM-DD" inputmode="numeric"; }, errors.field("to")))
                (field("操作人编号", "actor", input("text", "actor", &q.actor), errors.field("actor")))
                (field("学校或机构", "tenant", html! {
                    select id="tenant" name="tenant" {
                        option value="" selected[q.tenant.is_empty()] { "全部" }
                        @for t in &tenants {
                            option value=(t.code) selected[q.tenant.eq_ignore_ascii_case(&t.code)] { (t.name) }
                        }
                    }
                }, errors.field("tenant")))
                (field("操作", "action", html! {
                    select id="action" name="action" {
                        option value="" selected[q.action.is_empty()] { "全部" }
                        @for (a, label) in labels::known_actions() {
                            option value=(a) selected[q.action.trim() == a] { (label) }
                        }
                    }
                }, errors.field("action")))
                (field("结果", "outcome", html! {
                    select id="outcome" name="outcome" {
                        option value="" selected[q.outcome.is_empty()] { "全部" }
                        @for o in [Outcome::Success, Outcome::Failure, Outcome::Denied] {
                            option value=(o.as_str()) selected[q.outcome == o.as_str()] { (o.label_zh()) }
                        }
                    }
                }, errors.field("outcome")))
            }
            div.toolbar {
                button type="submit" id="audit-search" { "查询" }
                a.btn.secondary href=(AUDIT) { "清空条件" }
                span.grow {}
                a.btn.secondary href=(export) id="audit-export" download { "导出 CSV" }
            }
        }
        @if may(web, &AUDIT_VERIFY) {
            form.toolbar method="get" action="/console/platform/audit/verify" {
                button.secondary type="submit" id="audit-verify" { "校验审计链" }
                small.muted { "重新计算每条记录的 HMAC 链，发现篡改、删除、插入或乱序的记录" }
            }
        }
        @if errors.is_empty() {
            p.muted { "显示最新的 " (records.len()) " 条" @if q.before.is_some() { "（更早的记录）" } }
            div.table-wrap {
                table #audit-records {
                    thead { tr { th { "编号" } th { "时间" } th { "操作人" } th { "角色" } th { "学校或机构" } th { "来源IP" } th { "操作" } th { "对象" } th { "结果" } th { "详情" } } }
                    tbody {
                        @for r in &records {
                            tr data-action=(r.action) {
                                td.num { (r.id) }
                                td { (when_s(r.at)) }
                                td { @if let Some(a) = r.actor_account_id { "#" (a) } }
                                td { @if let Some(role) = &r.actor_role { (labels::role_label(role)) } }
                                td { @if let Some(t) = r.tenant_id { (names.get(&t).copied().map(str::to_string).unwrap_or_else(|| format!("#{t}"))) } }
                                td { (r.source_ip.as_deref().unwrap_or("")) }
                                td { (labels::action_label(&r.action)) }
                                td { (labels::object_label(&r.object)) }
                                td { (outcome_tag(r.outcome)) }
                                td.wrap { small { (short_details(&r.details)) } }
                            }
                        }
                    }
                }
            }
            @if records.is_empty() { p.muted { "没有符合条件的记录" } }
            @if let Some(n) = next { p { a href=(n) id="audit-older" { "更早的记录 ›" } } }
        }
    };
    Ok(html_response(
        status,
        platform_page(web, "审计日志", AUDIT, body),
    ))
}

#[handler]
pub(super) async fn audit_search(web: Web, Query(q): Query<AuditQuery>) -> PageResult {
    allow(&web, &AUDIT_SEARCH).await?;
    audit_page(&web, &q, None).await
}

#[handler]
pub(super) async fn audit_verify(web: Web) -> PageResult {
    allow(&web, &AUDIT_VERIFY).await?;
    allow(&web, &AUDIT_SEARCH).await?;
    let report = audit::verify(&web.app.db_app, &web.app.keys.audit)
        .await
        .map_err(internal)?;
    audit_page(&web, &AuditQuery::default(), Some(&report)).await
}

#[handler]
pub(super) async fn audit_export(web: Web, Query(q): Query<AuditQuery>) -> PageResult {
    allow(&web, &AUDIT_EXPORT).await?;
    let tenants = registry::list(&web.app.db_app).await?;
    let mut filter = match q.filter(&tenants, audit::MAX_LIMIT) {
        Ok(f) => f,
        // The link carries the page's filters; wrong ones are shown where they are typed.
        Err(_) => return audit_page(&web, &q, None).await,
    };
    // An export is the whole selection, not the page the operator was looking at.
    filter.before_id = None;
    let records = audit::search(&web.app.db_app, &filter)
        .await
        .map_err(internal)?;
    let csv = audit::to_csv(&records);
    let name = format!("audit-{}.csv", web.app.clock.today());
    Ok(Response::builder()
        .content_type("text/csv; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(csv))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenancy::model::TenantRecord;

    fn school(id: i64, code: &str) -> TenantRecord {
        TenantRecord {
            id,
            code: code.into(),
            kind: "school".into(),
            name: "石岐中心小学".into(),
            status: crate::tenancy::model::TenantStatus::Active,
            schema_name: format!("school_{code}"),
            db_role: format!("t_{code}"),
            schema_version: 1,
            manifest_hash: None,
        }
    }

    #[test]
    fn audit_filters_name_the_field_that_is_wrong() {
        let q = AuditQuery {
            from: "2026-13-01".into(),
            actor: "abc".into(),
            tenant: "nope".into(),
            ..Default::default()
        };
        let Err(e) = q.filter(&[school(1, "sqsf")], 10) else {
            panic!("bad filters accepted")
        };
        assert!(e.field("from").is_some_and(|m| m.contains("YYYY-MM-DD")));
        assert!(e.field("actor").is_some());
        assert!(e.field("tenant").is_some_and(|m| m.contains("nope")));
        assert!(e.field("to").is_none());
    }

    #[test]
    fn the_audit_end_day_is_inclusive_in_beijing_time_and_tenants_go_by_code() {
        let q = AuditQuery {
            from: "2026-10-12".into(),
            to: "2026-10-12".into(),
            tenant: "SQSF".into(),
            outcome: "denied".into(),
            action: " auth. ".into(),
            ..Default::default()
        };
        let f = q.filter(&[school(7, "sqsf")], 10).unwrap();
        assert_eq!(f.from.unwrap().to_rfc3339(), "2026-10-11T16:00:00+00:00");
        assert_eq!(f.to.unwrap().to_rfc3339(), "2026-10-12T16:00:00+00:00");
        assert_eq!(f.tenant_id, Some(7));
        assert_eq!(f.outcome, Some(Outcome::Denied));
        assert_eq!(f.action_prefix.as_deref(), Some("auth."));
        let reversed = AuditQuery {
            from: "2026-10-12".into(),
            to: "2026-10-11".into(),
            ..Default::default()
        };
        assert!(reversed
            .filter(&[], 10)
            .err()
            .unwrap()
            .field("to")
            .is_some());
    }

    #[test]
    fn the_export_link_keeps_the_filters_and_drops_empty_ones() {
        let q = AuditQuery {
            action: "auth.login".into(),
            outcome: "failure".into(),
            ..Default::default()
        };
        assert_eq!(q.query_string(None), "action=auth.login&outcome=failure");
        assert_eq!(
            q.query_string(Some(40)),
            "action=auth.login&outcome=failure&before=40"
        );
    }
}
