//! What the console's forms share, whatever the feature: the posted values kept as typed,
//! a refusal placed next to the control that caused it ([`FormError`]), ending a change
//! ([`settle`]), the notice after a change, paging, selects and downloads.

use maud::{html, Markup};
use poem::http::{header, StatusCode};
use poem::Response;
use serde::Deserialize;

use serde_json::Value;

use crate::error::{ApiError, DomainError, ErrorKind};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::web::frame::{api_status, WebError};
use crate::web::session::Web;

/// The `done` key a page is redirected to after a successful change.
#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// Rows per page of the staff and student lists.
pub const PER_PAGE: i64 = 20;

/// Who makes a configuration change, for the audit record.
pub fn actor(web: &Web) -> Actor<'_> {
    Actor {
        st: &web.app,
        auth: &web.auth,
    }
}

/// The values of a posted form (or the current values an edit form starts from), kept as
/// typed so a refused form shows them again.
#[derive(Debug, Default)]
pub struct Posted(Vec<(String, String)>);

impl Posted {
    pub fn parse(body: &str) -> Self {
        Posted(form_urlencoded(body))
    }

    pub fn of(pairs: &[(&str, String)]) -> Self {
        Posted(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// Every value of a repeated name (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every (name, value), in the order posted.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `name` as an id; blank or not a number is none.
    pub fn id(&self, name: &str) -> Option<i64> {
        self.get(name).trim().parse().ok()
    }
}

/// Maps a field named by a refusal (`details.field`, a column name in `details.fields`, or
/// the error code itself) to the name of the form control it belongs to.
pub type FieldMap = fn(&str) -> Option<&'static str>;

/// Refusals a form shows in place; anything else (no permission, server failure) is the
/// error page.
pub fn in_place(e: &ApiError) -> bool {
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
pub async fn settle<T>(
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
pub fn done_notice(done: Option<&str>) -> Markup {
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
pub fn link_with(web: &Web, path: &str, params: &[(&str, &str)]) -> String {
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
pub fn page_no(p: Option<&str>) -> i64 {
    p.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).max(1)
}

/// Previous/next links of a paged list, keeping the filters in `params`.
pub fn pager(web: &Web, path: &str, params: &[(&str, &str)], page: i64, total: i64) -> Markup {
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
pub fn select(name: &str, options: &[(String, String)], chosen: &str) -> Markup {
    html! {
        select id=(name) name=(name) {
            @for (v, label) in options {
                option value=(v) selected[v == chosen] { (label) }
            }
        }
    }
}

/// Static options: (value, label) pairs as owned strings, with an optional blank first.
pub fn options(pairs: &[(&str, &str)], blank: Option<&str>) -> Vec<(String, String)> {
    blank
        .map(|b| (String::new(), b.to_string()))
        .into_iter()
        .chain(pairs.iter().map(|(v, l)| (v.to_string(), l.to_string())))
        .collect()
}

/// A file to download, named in Chinese for the browser (RFC 6266 `filename*`) with an
/// ASCII fallback for old clients.
pub fn download(bytes: Vec<u8>, ascii_name: &str, name: &str, content_type: &str) -> Response {
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

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const CSV: &str = "text/csv; charset=utf-8";

/// Why a form was refused, the one form-error type of every page: the control the refusal
/// is about (`field`, empty for the form as a whole) with its code and Chinese message,
/// every (control, message) when the service refused several fields at once (`all`, the
/// first one first: a form shows all its wrong fields together, not one per attempt),
/// what belongs to no control (`general`), which form of the page it was (`form`, for
/// pages with several), and the status the page is answered with.
#[derive(Debug, Clone)]
pub struct FormError {
    pub form: &'static str,
    pub field: String,
    pub message: String,
    pub code: Box<str>,
    pub status: StatusCode,
    pub all: Vec<(String, String)>,
    /// (code, message) of the refusals no control of the form takes.
    pub general: Option<Box<(String, String)>>,
}

impl Default for FormError {
    fn default() -> Self {
        FormError {
            form: "",
            field: String::new(),
            message: String::new(),
            code: Box::default(),
            status: StatusCode::OK,
            all: Vec::new(),
            general: None,
        }
    }
}

impl FormError {
    /// No refusal: the form as it is first shown.
    pub fn none() -> Self {
        FormError::default()
    }

    /// A refusal the page itself makes (a value it could not read), on `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FormError {
            field: field.to_string(),
            message: message.into(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            ..FormError::default()
        }
    }

    /// A feature's refusal, placed as the same refusal from the API would be.
    pub fn from_domain(e: &dyn DomainError) -> Self {
        Self::from_api(&ApiError::from_domain(e))
    }

    /// The refusal an API answer carries, placed by [`error_field`].
    pub fn from_api(e: &ApiError) -> Self {
        let b = e.body();
        let all = b
            .details
            .get("errors")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|x| {
                        let code = x.get("code").and_then(Value::as_str).unwrap_or("");
                        let details = x.get("details").cloned().unwrap_or(Value::Null);
                        let message = x.get("message").and_then(Value::as_str).unwrap_or("");
                        (error_field(code, &details), message.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        FormError {
            field: error_field(&b.code, &b.details),
            message: b.message.clone(),
            code: b.code.as_str().into(),
            status: api_status(e),
            all,
            ..FormError::default()
        }
    }

    /// The refusal of form `form`, each field it names placed on the control `map` gives
    /// (`details.fields[].field`, else `details.field`, else the code); what no control
    /// takes is the form's [`general`](Self::general) notice.
    pub fn of(form: &'static str, e: &ApiError, map: FieldMap) -> Self {
        let body = e.body();
        let mut p = FormError {
            form,
            code: body.code.as_str().into(),
            message: body.message.clone(),
            status: api_status(e),
            ..FormError::default()
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
            p.general = Some(Box::new((body.code.clone(), unplaced.join("；"))));
        }
        p
    }

    /// Adds `reason` to the control's message (joined with "；" when it has one).
    pub fn add(&mut self, control: &str, reason: impl Into<String>) {
        let reason: String = reason.into();
        if self.all.is_empty() && !self.field.is_empty() {
            self.all.push((self.field.clone(), self.message.clone()));
        }
        if self.field.is_empty() && self.all.is_empty() {
            self.field = control.to_string();
            self.message = reason.clone();
        }
        match self.all.iter_mut().find(|(c, _)| c == control) {
            Some((_, r)) => {
                r.push('；');
                r.push_str(&reason);
            }
            None => self.all.push((control.to_string(), reason)),
        }
    }

    /// The message of one control, if the refusal (or one refused with it) is about it.
    pub fn field(&self, name: &str) -> Option<&str> {
        if self.all.is_empty() {
            return (!name.is_empty() && self.field == name).then_some(self.message.as_str());
        }
        self.all
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, m)| m.as_str())
    }

    /// Whether nothing was refused.
    pub fn is_empty(&self) -> bool {
        self.message.is_empty() && self.all.is_empty() && self.general.is_none()
    }

    /// The refusal that belongs to no control of `form`, as a notice inside that form.
    pub fn notice(&self, form: &str) -> Markup {
        match self.general.as_deref() {
            Some((code, msg)) if self.form == form => html! {
                div.notice.error role="alert" id={ (form) "-error" } data-code=(code) { (msg) }
            },
            _ => html! {},
        }
    }

    /// The refusal as a notice when it is about the form as a whole (no control shows it).
    pub fn unplaced_notice(&self) -> Markup {
        html! {
            @if self.field.is_empty() && !self.message.is_empty() {
                div.notice.error role="alert" data-code=(self.code) { (self.message) }
            }
        }
    }

    /// The status the page answers with: 200 when nothing was refused.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

/// The message for `field`, if the error (or one of the refusals reported with it) is
/// about it.
pub fn err_at<'a>(e: Option<&'a FormError>, field: &str) -> Option<&'a str> {
    e?.field(field)
}

/// Whether the service refused the request (shown on the form) rather than failed (a 5xx,
/// shown as the error page).
pub fn is_refusal(e: &ApiError) -> bool {
    !crate::web::frame::api_status(e).is_server_error()
}

/// [`is_refusal`] for a feature's error, before it becomes an API answer.
pub fn is_domain_refusal(e: &dyn DomainError) -> bool {
    !matches!(e.kind(), ErrorKind::Internal | ErrorKind::Unavailable)
}

/// The form field a refusal is about. Most refusals name it in `details.field`; the rest
/// are placed by their code, because they compare two fields (the later one is blamed) or
/// are about a field by nature. Course refusals are placed by their variant, before they
/// become an API answer (`course_form::form_error`).
pub fn error_field(code: &str, details: &Value) -> String {
    if let Some(f) = details.get("field").and_then(Value::as_str) {
        return f.to_string();
    }
    // The people service's field list names fields in Chinese (import template columns).
    if let Some(f) = details
        .get("fields")
        .and_then(|f| f.get(0))
        .and_then(|f| f.get("field"))
        .and_then(Value::as_str)
    {
        return match f {
            "原因" => "reason",
            _ => "",
        }
        .to_string();
    }
    match code {
        "LEDGER_EXCEEDS_HELD" | "REFUND_NOTHING_LEFT" => "amount",
        "REPORT_PERIOD_INVALID" => "to",
        _ => "",
    }
    .to_string()
}

/// `application/x-www-form-urlencoded` pairs, decoded (`+` is a space).
pub fn form_urlencoded(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let dec = |s: &str| {
                urlencoding::decode(&s.replace('+', " "))
                    .map(|c| c.into_owned())
                    .unwrap_or_default()
            };
            (dec(k), dec(v))
        })
        .collect()
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
        let p = FormError::of("f", &e, map);
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
        let p = FormError::of("f", &e, map);
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

    #[test]
    fn a_refusal_lands_on_the_field_it_names_or_the_one_its_code_is_about() {
        assert_eq!(
            error_field("CAPACITY_INVALID", &json!({ "field": "capacity" })),
            "capacity"
        );
        assert_eq!(
            error_field("LEDGER_EXCEEDS_HELD", &json!({ "line_id": 1 })),
            "amount"
        );
        assert_eq!(
            error_field(
                "INVALID_FIELDS",
                &json!({ "fields": [{ "field": "原因", "reason": "x" }] })
            ),
            "reason"
        );
        assert_eq!(error_field("COURSE_STATUS_INVALID", &json!({})), "");
    }
}
