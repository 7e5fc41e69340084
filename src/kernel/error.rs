//! How a refusal is described, for every feature: its status class, a stable code and the
//! user's message. `crate::error` turns it into the HTTP answer; nothing here knows HTTP.

use serde_json::Value;

/// HTTP status class of an error; the only statuses the API answers errors with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Unprocessable,
    TooManyRequests,
    Internal,
    Unavailable,
}

/// A domain error that knows how it is shown to users.
pub trait DomainError: std::fmt::Display {
    fn kind(&self) -> ErrorKind;
    fn code(&self) -> &'static str;
    fn user_message(&self) -> String;
    fn details(&self) -> Value {
        Value::Object(Default::default())
    }
    /// Seconds the caller should wait before trying again (429 answers' `Retry-After`).
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// Another feature's refusal carried inside this feature's error, answered exactly as its
/// owner words it (same class, code, message, details and `Retry-After`). Its `Display` is
/// the original error's, so an internal failure is logged with its cause where it is
/// answered.
#[derive(Debug, Clone)]
pub struct Refusal {
    kind: ErrorKind,
    code: &'static str,
    message: String,
    details: Value,
    retry_after: Option<u64>,
    cause: String,
}

impl Refusal {
    pub fn of(e: &(impl DomainError + ?Sized)) -> Self {
        Refusal {
            kind: e.kind(),
            code: e.code(),
            message: e.user_message(),
            details: e.details(),
            retry_after: e.retry_after(),
            cause: e.to_string(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.cause)
    }
}

impl std::error::Error for Refusal {}

impl DomainError for Refusal {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
    fn code(&self) -> &'static str {
        self.code
    }
    fn user_message(&self) -> String {
        self.message.clone()
    }
    fn details(&self) -> Value {
        self.details.clone()
    }
    fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }
}

/// `From` conversions of other features' errors into one variant of this feature's error
/// that holds a [`Refusal`]: `refusals_into!(EnrollmentError::Upstream: PeopleError, SchoolError);`.
#[macro_export]
macro_rules! refusals_into {
    ($target:ident :: $variant:ident : $($from:ty),+ $(,)?) => {
        $(impl From<$from> for $target {
            fn from(e: $from) -> Self {
                $target::$variant($crate::kernel::error::Refusal::of(&e))
            }
        })+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("seat table locked for course 7")]
    struct Busy;

    impl DomainError for Busy {
        fn kind(&self) -> ErrorKind {
            ErrorKind::TooManyRequests
        }
        fn code(&self) -> &'static str {
            "COURSE_BUSY"
        }
        fn user_message(&self) -> String {
            "报名人数较多，请稍后再试".into()
        }
        fn details(&self) -> Value {
            serde_json::json!({ "course_id": 7 })
        }
        fn retry_after(&self) -> Option<u64> {
            Some(3)
        }
    }

    #[test]
    fn a_refusal_answers_as_its_owner_worded_it() {
        let r = Refusal::of(&Busy);
        assert_eq!(r.kind(), ErrorKind::TooManyRequests);
        assert_eq!(r.code(), "COURSE_BUSY");
        assert_eq!(r.user_message(), "报名人数较多，请稍后再试");
        assert_eq!(r.details()["course_id"], 7);
        assert_eq!(r.retry_after(), Some(3));
        assert_eq!(r.to_string(), "seat table locked for course 7");
    }
}
