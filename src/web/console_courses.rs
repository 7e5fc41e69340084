//! The school console's course and money pages (R-S06…R-S10, R-P05 on the school's side):
//! publishing courses with their pictures and lottery draws, the school's enrollment status
//! with offline confirmation and cancellation, orders with partial refunds, and the
//! settlement statement with its downloads.
//!
//! Every page calls the same service function, with the same permission, as the JSON
//! endpoint it mirrors (`courses::api`, `enrollment::api`, `enrollment::staff_api`,
//! `payments::api`). Must never check a business rule or run SQL of its own: a refusal comes
//! from the service and is shown next to the field it is about.

mod course_form;
mod course_pages;
mod enrollments;
mod orders;
mod settlement;

use poem::http::StatusCode;
use poem::Route;
use serde_json::Value;

use crate::error::{ApiError, DomainError, ErrorKind};

pub fn mount(r: Route) -> Route {
    let r = course_pages::mount(r);
    let r = enrollments::mount(r);
    let r = orders::mount(r);
    settlement::mount(r)
}

/// A refusal from a service, placed on the form: the field it belongs to (empty for the
/// whole form) and its Chinese message.
#[derive(Debug, Clone)]
pub(crate) struct FormError {
    pub field: String,
    pub message: String,
    pub code: String,
    /// The status the page is answered with when it shows this error.
    pub status: StatusCode,
    /// Every (field, message) the service refused at once, this one first (issue 13 item
    /// 9: a form shows all its wrong fields together, not one per attempt).
    pub all: Vec<(String, String)>,
}

impl FormError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        FormError {
            field: field.to_string(),
            message: message.into(),
            code: String::new(),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            all: Vec::new(),
        }
    }

    /// A feature's refusal, placed as the same refusal from the API would be.
    pub fn from_domain(e: &dyn DomainError) -> Self {
        Self::from_api(&ApiError::from_domain(e))
    }

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
            code: b.code.clone(),
            status: crate::web::frame::api_status(e),
            all,
        }
    }
}

/// The message for `field`, if the error (or one of the refusals reported with it) is
/// about it.
pub(crate) fn err_at<'a>(e: Option<&'a FormError>, field: &str) -> Option<&'a str> {
    let e = e?;
    if e.all.is_empty() {
        return (e.field == field).then_some(e.message.as_str());
    }
    e.all
        .iter()
        .find(|(f, _)| f == field)
        .map(|(_, m)| m.as_str())
}

/// Whether the service refused the request (shown on the form) rather than failed (a 5xx,
/// shown as the error page).
pub(crate) fn is_refusal(e: &ApiError) -> bool {
    !crate::web::frame::api_status(e).is_server_error()
}

/// [`is_refusal`] for a feature's error, before it becomes an API answer.
pub(crate) fn is_domain_refusal(e: &dyn DomainError) -> bool {
    !matches!(e.kind(), ErrorKind::Internal | ErrorKind::Unavailable)
}

/// The form field a refusal is about. Most refusals name it in `details.field`; the rest
/// are placed by their code, because they compare two fields (the later one is blamed) or
/// are about a field by nature. Course refusals are placed by their variant, before they
/// become an API answer (`course_form::form_error`).
fn error_field(code: &str, details: &Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
