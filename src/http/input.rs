//! One guard for every input: text that carries a NUL character (`\0`, `%00`, `\u0000`)
//! is refused with 400 `INPUT_NUL_CHARACTER` before any handler sees it. PostgreSQL cannot
//! store NUL in text, so without this guard such input reached the database and failed
//! there as a 500; the database's own refusal is mapped to the same answer as a last line
//! (see `From<sqlx::Error> for ApiError`).
//!
//! Looked at: the path and the query string (percent-decoded), and bodies that are text by
//! their content type (JSON, URL-encoded forms). Multipart bodies carry files, where a NUL
//! byte is ordinary; their text fields are covered by the database mapping.

use poem::{Body, Request};
use serde_json::Value;

pub use crate::error::{nul_refused, NUL_CODE};

fn decoded_has_nul(raw: &str) -> bool {
    raw.contains('\0') || urlencoding::decode_binary(raw.as_bytes()).contains(&0)
}

fn json_has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(json_has_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        _ => false,
    }
}

fn body_has_nul(content_type: &str, bytes: &[u8]) -> bool {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("application/json") || ct.contains("+json") {
        // Fast path: a NUL in JSON text is written `\u0000`.
        if !bytes.windows(6).any(|w| w == b"\\u0000") {
            return false;
        }
        // Unparseable JSON is the handler's to refuse, with its own message.
        serde_json::from_slice::<Value>(bytes).is_ok_and(|v| json_has_nul(&v))
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        bytes.contains(&0)
            || url::form_urlencoded::parse(bytes).any(|(k, v)| k.contains('\0') || v.contains('\0'))
    } else {
        false
    }
}

/// Where the request carries NUL (`path`, `query`, `body`), if it does. A text body is read
/// (within `limit` bytes) and put back for the handler.
pub async fn nul_in(req: &mut Request, limit: usize) -> Option<&'static str> {
    if decoded_has_nul(req.uri().path()) {
        return Some("path");
    }
    if req.uri().query().is_some_and(decoded_has_nul) {
        return Some("query");
    }
    let content_type = req.content_type().unwrap_or_default().to_string();
    let textual = content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
        || content_type.contains("+json")
        || content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded");
    if !textual {
        return None;
    }
    match req.take_body().into_bytes_limit(limit).await {
        Ok(bytes) => {
            let found = body_has_nul(&content_type, &bytes);
            req.set_body(Body::from_bytes(bytes));
            found.then_some("body")
        }
        // Too large or broken: the body-size guard and the handler answer that; an
        // empty body is put back so the handler refuses it in its own words.
        Err(_) => {
            req.set_body(Body::empty());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_in_every_textual_spelling() {
        assert!(decoded_has_nul("/school/students/%00"));
        assert!(decoded_has_nul("q=a%00b"));
        assert!(!decoded_has_nul("q=a%2500b"));
        assert!(body_has_nul("application/json", br#"{"name":"a\u0000"}"#));
        assert!(body_has_nul(
            "application/json; charset=utf-8",
            br#"{"a":[{"\u0000":1}]}"#
        ));
        // A backslash followed by the letters u0000 is text, not NUL.
        assert!(!body_has_nul("application/json", br#"{"name":"a\\u0000"}"#));
        assert!(body_has_nul(
            "application/x-www-form-urlencoded",
            b"name=a%00b"
        ));
        assert!(!body_has_nul(
            "application/x-www-form-urlencoded",
            b"name=%E5%BC%A0"
        ));
        assert!(!body_has_nul("multipart/form-data; boundary=x", b"\0\0"));
    }
}
