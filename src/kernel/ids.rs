//! Entity ids: one newtype per entity, so a student id cannot be passed where a course id
//! is expected. Each is an `i64` on the wire, in the database and in the OpenAPI document
//! (the types carry no doc comments because poem-openapi would turn them into schema
//! titles and change the document; each is described by the comment beside it).
//!
//! Must never parse or validate anything beyond the number: whether the entity exists is
//! the owning feature's question.

/// Declares an id newtype: `Copy`, ordered, printed as the number, transparent to serde,
/// sqlx and poem-openapi.
#[macro_export]
macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
            sqlx::Type,
            poem_openapi::NewType,
        )]
        #[serde(transparent)]
        #[sqlx(transparent)]
        #[oai(to_header = false, from_multipart = false)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }
    )*};
}

// The platform registry and the ledger: a tenant (school or agency) in `platform.tenants`;
// an order (one WeChat Pay transaction); an order line (one service for one child, the
// unit money is held, released and refunded by); a ledger journal (one balanced posting).
id_type!(TenantId, OrderId, LineId, JournalId);

// Accounts (`platform.accounts`): whoever signs in.
id_type!(AccountId);

// A school's organisation and people: grades, classes, venues, periods, terms, staff,
// students, guardians, departments.
id_type!(
    GradeId,
    ClassId,
    VenueId,
    PeriodId,
    TermId,
    StaffId,
    StudentId,
    GuardianId,
    DepartmentId
);

// Courses and what parents do with them: courses, enrollments, change and withdrawal
// requests, waitlist entries.
id_type!(CourseId, EnrollmentId, RequestId, WaitlistId);

#[cfg(test)]
mod tests {
    use poem_openapi::types::Type;

    use super::*;

    #[test]
    fn an_id_is_a_bare_integer_in_json_and_in_the_openapi_document() {
        assert_eq!(serde_json::to_string(&StudentId(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<CourseId>("42").unwrap(),
            CourseId(42)
        );
        assert_eq!(StudentId::schema_ref(), i64::schema_ref());
        assert_eq!(OrderId(3).to_string(), "3");
    }
}
