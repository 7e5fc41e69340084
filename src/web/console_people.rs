//! The school console's people and base-configuration pages (R-S01…R-S05): grades and
//! classes with the yearly promotion and homeroom teachers, departments, staff, students
//! and their guardians, the bulk import, venues and periods, and the term calendar. One
//! submodule per area; this file holds what their forms share: the posted values, the
//! refusal turned into errors next to the fields that caused them, paging, downloads.
//!
//! Every page calls the same service (or repository read) as the matching JSON endpoint,
//! with the same permission constant and inside the same tenant transaction. Must never
//! run SQL of its own, and never show a clear ID number or phone except on the audited
//! "查看完整信息" pages.

mod calendar;
mod imports;
mod org;
mod settings;
mod staff;
mod students;

use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::{Response, Route};
use serde::Deserialize;

use super::layout::{notice, Tone};
use super::parent::form_urlencoded;
use super::session::Web;
use crate::error::ApiError;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::web::frame::{api_status, WebError};

pub fn mount(r: Route) -> Route {
    let r = org::mount(r);
    let r = staff::mount(r);
    let r = students::mount(r);
    let r = imports::mount(r);
    let r = settings::mount(r);
    calendar::mount(r)
}

/// The `done` key a page is redirected to after a successful change.
#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// Rows per page of the staff and student lists.
const PER_PAGE: i64 = 20;

/// Who makes a configuration change, for the audit record.
fn actor(web: &Web) -> Actor<'_> {
    Actor {
        st: &web.app,
        auth: &web.auth,
    }
}

/// The values of a posted form (or the current values an edit form starts from), kept as
/// typed so a refused form shows them again.
#[derive(Debug, Default)]
struct Posted(Vec<(String, String)>);

impl Posted {
    fn parse(body: &str) -> Self {
        Posted(form_urlencoded(body))
    }

    fn of(pairs: &[(&str, String)]) -> Self {
        Posted(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of a repeated name (checkboxes).
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `name` as an id; blank or not a number is none.
    fn id(&self, name: &str) -> Option<i64> {
        self.get(name).trim().parse().ok()
    }
}

/// Maps a field named by a refusal (`details.field`, a column name in `details.fields`, or
/// the error code itself) to the name of the form control it belongs to.
type FieldMap = fn(&str) -> Option<&'static str>;

/// Why a form was refused: messages per control, and what belongs to no control.
#[derive(Debug, Default)]
struct Problems {
    /// Which form on the page was refused (pages with several forms).
    form: &'static str,
    fields: Vec<(&'static str, String)>,
    general: Option<(String, String)>,
    status: Option<StatusCode>,
}

impl Problems {
    fn none() -> Self {
        Problems::default()
    }

    fn of(form: &'static str, e: &ApiError, map: FieldMap) -> Self {
        let body = e.body();
        let mut p = Problems {
            form,
            status: Some(api_status(e)),
            ..Default::default()
        };
        let mut unplaced = Vec::new();
        if let Some(list) = body.details.get("fields").and_then(|f| f.as_array()) {
            for f in list {
                let name = f.get("field").and_then(|v| v.as_str()).unwrap_or("");
                let reason = f.get("reason").and_then(|v| v.as_str()).unwrap_or("");
                match map(name) {
                    Some(control) => p.add(control, reason),
                    None => unplaced.push(reason.to_string()),
                }
            }
        } else {
            let named = body.details.get("field").and_then(|v| v.as_str());
            match named.and_then(map).or_else(|| map(&body.code)) {
                Some(control) => p.add(control, &body.message),
                None => unplaced.push(body.message.clone()),
            }
        }
        if !unplaced.is_empty() {
            p.general = Some((body.code.clone(), unplaced.join("；")));
        }
        p
    }

    fn add(&mut self, control: &'static str, reason: &str) {
        match self.fields.iter_mut().find(|(c, _)| *c == control) {
            Some((_, r)) => {
                r.push('；');
                r.push_str(reason);
            }
            None => self.fields.push((control, reason.to_string())),
        }
    }

    /// The error of one control.
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(c, _)| *c == name)
            .map(|(_, r)| r.as_str())
    }

    /// The refusal that belongs to no control of `form`, as a notice inside that form.
    fn notice(&self, form: &str) -> Markup {
        match &self.general {
            Some((code, msg)) if self.form == form => html! {
                div.notice.error role="alert" id={ (form) "-error" } data-code=(code) { (msg) }
            },
            _ => html! {},
        }
    }

    fn status(&self) -> StatusCode {
        self.status.unwrap_or(StatusCode::OK)
    }
}

/// Refusals a form shows in place; anything else (no permission, server failure) is the
/// error page.
fn in_place(e: &ApiError) -> bool {
    matches!(
        api_status(e),
        StatusCode::BAD_REQUEST
            | StatusCode::NOT_FOUND
            | StatusCode::CONFLICT
            | StatusCode::UNPROCESSABLE_ENTITY
    )
}

/// Ends a change: commits it when it succeeded; a refusal to show in place comes back as
/// `Err` inside `Ok` (the transaction rolled back by dropping it).
async fn settle<T>(
    tx: TenantTx,
    result: Result<T, ApiError>,
) -> Result<Result<T, ApiError>, WebError> {
    match result {
        Ok(v) => {
            tx.commit().await?;
            Ok(Ok(v))
        }
        Err(e) if in_place(&e) => {
            drop(tx);
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// The notice after a successful change (the `done` key of the redirect).
fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("class_created") => "班级已创建",
        Some("class_saved") => "班级信息已保存",
        Some("class_deleted") => "班级已删除",
        Some("homeroom_saved") => "班主任已更新",
        Some("grade_created") => "年级已创建",
        Some("grade_deleted") => "年级已删除",
        Some("promoted") => "学年升级已完成",
        Some("dept_created") => "部门已创建",
        Some("dept_renamed") => "部门已重命名",
        Some("dept_deleted") => "部门已删除",
        Some("staff_created") => "教职工已新增",
        Some("staff_saved") => "教职工信息已保存",
        Some("staff_left") => "已标记为离职，档案保留",
        Some("student_created") => "学生已新增",
        Some("student_saved") => "学生信息已保存",
        Some("student_left") => "已标记为离校，档案保留",
        Some("guardian_added") => "家长已添加，可用该手机号登录",
        Some("guardian_removed") => "已解除家长关联",
        Some("venue_created") => "场地已新增",
        Some("venue_saved") => "场地已保存",
        Some("venue_deleted") => "场地已删除",
        Some("period_created") => "时段已新增",
        Some("period_saved") => "时段已保存",
        Some("period_deleted") => "时段已删除",
        Some("day_set") => "校历已更新",
        Some("day_cleared") => "已取消该日的设置",
        _ => return html! {},
    };
    html! { div.notice.ok id="done" { (text) } }
}

/// `path` under the tenant with the non-empty query parameters.
fn link_with(web: &Web, path: &str, params: &[(&str, &str)]) -> String {
    let q: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect();
    if q.is_empty() {
        web.link(path)
    } else {
        web.link(&format!("{path}?{}", q.join("&")))
    }
}

/// 1-based page number from the query.
fn page_no(p: Option<&str>) -> i64 {
    p.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1)
}

/// Previous/next links of a paged list, keeping the filters in `params`.
fn pager(web: &Web, path: &str, params: &[(&str, &str)], page: i64, total: i64) -> Markup {
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let to = |n: i64| {
        let n = n.to_string();
        let mut all = params.to_vec();
        all.push(("page", n.as_str()));
        link_with(web, path, &all)
    };
    html! {
        div.toolbar.pager {
            span.muted { "共 " (total) " 条，第 " (page.min(pages)) " / " (pages) " 页" }
            @if page > 1 { a.btn.secondary href=(to(page - 1)) rel="prev" { "上一页" } }
            @if page < pages { a.btn.secondary href=(to(page + 1)) rel="next" { "下一页" } }
        }
    }
}

/// A `<select>` with its options (value, label) and the chosen value.
fn select(name: &str, options: &[(String, String)], chosen: &str) -> Markup {
    html! {
        select id=(name) name=(name) {
            @for (v, label) in options {
                option value=(v) selected[v == chosen] { (label) }
            }
        }
    }
}

/// Static options: (value, label) pairs as owned strings, with an optional blank first.
fn options(pairs: &[(&str, &str)], blank: Option<&str>) -> Vec<(String, String)> {
    blank
        .map(|b| (String::new(), b.to_string()))
        .into_iter()
        .chain(pairs.iter().map(|(v, l)| (v.to_string(), l.to_string())))
        .collect()
}

/// A file to download, named in Chinese for the browser (RFC 6266 `filename*`) with an
/// ASCII fallback for old clients.
fn download(bytes: Vec<u8>, ascii_name: &str, name: &str, content_type: &str) -> Response {
    Response::builder()
        .content_type(content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!(
                "attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{}",
                urlencoding::encode(name)
            ),
        )
        .header(header::CACHE_CONTROL, "no-store")
        .body(bytes)
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const CSV: &str = "text/csv; charset=utf-8";

/// The notice on the audited pages that show clear personal data.
fn audited_notice() -> Markup {
    notice(
        Tone::Warn,
        "完整身份信息仅供核对使用，请勿截图或外传。本次查看已记入审计日志。",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::people::error::PeopleError;
    use crate::people::model::FieldError;
    use serde_json::json;

    fn map(f: &str) -> Option<&'static str> {
        match f {
            "身份证号" => Some("id_number"),
            "code" | "CLASS_CODE_TAKEN" => Some("code"),
            _ => None,
        }
    }

    #[test]
    fn field_errors_land_on_their_controls_and_the_rest_in_the_notice() {
        let refusal = PeopleError::InvalidFields(vec![
            FieldError::new("身份证号", "校验位错误"),
            FieldError::new("身份证号", "年龄不符"),
            FieldError::new("别的", "另一个原因"),
        ]);
        let code = refusal.code();
        let e = ApiError::from(refusal);
        let p = Problems::of("f", &e, map);
        assert_eq!(p.field("id_number"), Some("校验位错误；年龄不符"));
        assert_eq!(p.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let n = p.notice("f").into_string();
        assert!(n.contains("另一个原因") && n.contains(code), "{n}");
        assert!(p.notice("other").into_string().is_empty());
    }

    #[test]
    fn a_refusal_naming_no_field_is_placed_by_its_code() {
        let e = ApiError::new(
            ErrorKind::Conflict,
            "CLASS_CODE_TAKEN",
            "班级代码“g1c1”已被使用",
            json!({ "code": "g1c1" }),
        );
        let p = Problems::of("f", &e, map);
        assert_eq!(p.field("code"), Some("班级代码“g1c1”已被使用"));
        assert!(p.notice("f").into_string().is_empty());
    }

    #[test]
    fn posted_forms_keep_repeated_names_and_blank_ids_are_none() {
        let p = Posted::parse("weekdays=1&weekdays=3&name=%E5%8D%88%E6%89%98&venue_id=");
        assert_eq!(p.all("weekdays"), vec!["1", "3"]);
        assert_eq!(p.get("name"), "午托");
        assert_eq!(p.id("venue_id"), None);
        assert_eq!(p.get("missing"), "");
    }

    #[test]
    fn only_refusals_of_the_input_stay_on_the_form() {
        let forbidden = ApiError::new(ErrorKind::Forbidden, "PERMISSION_DENIED", "x", json!({}));
        let conflict = ApiError::new(ErrorKind::Conflict, "X", "x", json!({}));
        assert!(!in_place(&forbidden));
        assert!(in_place(&conflict));
        assert!(!in_place(&ApiError::internal("boom")));
    }
}
