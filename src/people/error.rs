//! Refusals of a school's people: one variant per kind, each with a stable code, an HTTP
//! class, a Chinese message and the details a client keys on. The codes are the API's
//! contract: never rename one.
//!
//! Must never carry a clear ID number or phone: only masked values, column names and ids.

use serde_json::{json, Value};
use uuid::Uuid;

use super::model::{staff_cols, FieldError, ImportKind, Person};
use crate::audit::AuditError;
use crate::auth::error::AuthError;
use crate::auth::model::Role;
use crate::kernel::error::{DomainError, ErrorKind, Refusal};
use crate::pii::PiiError;
use crate::tabular::TabularError;

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// Fields that failed validation, each with its column and reason (the first reason is
    /// the message).
    #[error("invalid fields: {0:?}")]
    InvalidFields(Vec<FieldError>),
    #[error("staff {0} not found")]
    StaffNotFound(i64),
    #[error("student {0} not found")]
    StudentNotFound(i64),
    /// The class does not exist or is no longer active.
    #[error("class {0} not found or not active")]
    ClassNotFound(i64),
    /// Clearing the homeroom teacher of a class that has none.
    #[error("class {0} has no homeroom teacher")]
    NoHomeroom(i64),
    #[error("department {0} not found")]
    DepartmentNotFound(i64),
    #[error("guardian {guardian} is not linked to student {student}")]
    GuardianLinkNotFound { student: i64, guardian: i64 },
    #[error("import job {0} not found")]
    ImportNotFound(Uuid),
    /// A new record's ID number is already a record of the same kind.
    #[error("a {who:?} with this ID number exists")]
    IdNumberExists { who: Person },
    /// An edited record was given the ID number of another record of its kind.
    #[error("{who:?} {id}: the ID number belongs to another record")]
    IdNumberOfAnother { who: Person, id: i64 },
    #[error("staff number {staff_no} belongs to another staff member")]
    StaffNoTaken { staff_no: String },
    #[error("department name {name} is taken")]
    DepartmentExists { name: String },
    #[error("department {id} still has {members} members")]
    DepartmentNotEmpty { id: i64, members: i64 },
    /// A parent who has not agreed to the current personal-data rules.
    #[error("consent to terms {terms_version} required")]
    ConsentRequired { terms_version: String },
    /// Only teacher, inspector and school admin are granted to staff here.
    #[error("role {} is not assignable to staff here", .0.as_str())]
    RoleNotAssignable(Role),
    /// An upload larger than the ceiling.
    #[error("upload larger than {limit_mb} MB")]
    FileTooLarge { limit_mb: u64 },
    /// The upload form was posted without a file.
    #[error("no file uploaded")]
    FileRequired,
    /// The upload broke off while it was read.
    #[error("upload interrupted: {detail}")]
    UploadInterrupted { detail: String },
    /// The reader gave up on a crafted file (its task panicked).
    #[error("file could not be read")]
    CorruptFile,
    /// The uploaded spreadsheet could not be read: its own code and Chinese message.
    #[error("upload refused: {}", .0.code())]
    File(TabularError),
    #[error("sheet {sheet} missing for a {} import", .kind.as_str())]
    SheetMissing {
        kind: ImportKind,
        sheet: String,
        found: Vec<String>,
    },
    #[error("sheet {sheet}: headers missing {missing:?}, unknown {unknown:?}")]
    WrongHeaders {
        sheet: String,
        missing: Vec<String>,
        unknown: Vec<String>,
        expected: Vec<String>,
    },
    /// A template or report workbook could not be written.
    #[error("spreadsheet not written: {0:?}")]
    Spreadsheet(TabularError),
    /// A stored ciphertext or value that does not decrypt or parse: keys or data are wrong.
    #[error("stored {column} unreadable: {source:?}")]
    Unreadable {
        column: &'static str,
        source: PiiError,
    },
    /// The signed-in account has no row (it was deleted under the session).
    #[error("signed-in account {0} has no row")]
    AccountMissing(i64),
    /// The built-in demo roster failed its own validation.
    #[error("demo data invalid: {0}")]
    DemoDataInvalid(String),
    /// Another feature's refusal (today only the audit append of `TenantTx::audit`),
    /// answered exactly as its owner words it.
    #[error(transparent)]
    Upstream(Refusal),
    /// Account and role work (guardian accounts, role grants) refused by `auth`.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl PeopleError {
    /// The not-found refusal of a staff or student record.
    pub fn not_found(who: Person, id: i64) -> Self {
        match who {
            Person::Staff => PeopleError::StaffNotFound(id),
            Person::Student => PeopleError::StudentNotFound(id),
        }
    }

    /// Stable machine-readable code for API responses; never rename an existing one.
    pub fn code(&self) -> &'static str {
        use PeopleError::*;
        match self {
            InvalidFields(_) => "INVALID_FIELDS",
            StaffNotFound(_)
            | StudentNotFound(_)
            | ClassNotFound(_)
            | NoHomeroom(_)
            | DepartmentNotFound(_)
            | GuardianLinkNotFound { .. } => "NOT_FOUND",
            ImportNotFound(_) => "IMPORT_NOT_FOUND",
            IdNumberExists { who } | IdNumberOfAnother { who, .. } => match who {
                Person::Staff => "STAFF_EXISTS",
                Person::Student => "STUDENT_EXISTS",
            },
            StaffNoTaken { .. } => "STAFF_NO_TAKEN",
            DepartmentExists { .. } => "DEPARTMENT_EXISTS",
            DepartmentNotEmpty { .. } => "DEPARTMENT_NOT_EMPTY",
            ConsentRequired { .. } => "CONSENT_REQUIRED",
            RoleNotAssignable(_) => "ROLE_NOT_ASSIGNABLE",
            FileTooLarge { .. } => "FILE_TOO_LARGE",
            FileRequired => "FILE_REQUIRED",
            UploadInterrupted { .. } => "UPLOAD_INTERRUPTED",
            CorruptFile => "CORRUPT_FILE",
            File(e) => e.code(),
            SheetMissing { .. } => "SHEET_MISSING",
            WrongHeaders { .. } => "WRONG_HEADERS",
            Spreadsheet(_) | Unreadable { .. } | AccountMissing(_) | DemoDataInvalid(_) => {
                "INTERNAL"
            }
            Upstream(e) => e.code(),
            Auth(e) => DomainError::code(e),
            Db(e) => DomainError::code(e),
        }
    }
}

impl DomainError for PeopleError {
    fn kind(&self) -> ErrorKind {
        use PeopleError::*;
        match self {
            InvalidFields(_)
            | RoleNotAssignable(_)
            | FileTooLarge { .. }
            | FileRequired
            | CorruptFile
            | File(_)
            | SheetMissing { .. }
            | WrongHeaders { .. } => ErrorKind::Unprocessable,
            UploadInterrupted { .. } => ErrorKind::BadRequest,
            StaffNotFound(_)
            | StudentNotFound(_)
            | ClassNotFound(_)
            | NoHomeroom(_)
            | DepartmentNotFound(_)
            | GuardianLinkNotFound { .. }
            | ImportNotFound(_) => ErrorKind::NotFound,
            IdNumberExists { .. }
            | IdNumberOfAnother { .. }
            | StaffNoTaken { .. }
            | DepartmentExists { .. }
            | DepartmentNotEmpty { .. } => ErrorKind::Conflict,
            ConsentRequired { .. } => ErrorKind::Forbidden,
            Spreadsheet(_) | Unreadable { .. } | AccountMissing(_) | DemoDataInvalid(_) => {
                ErrorKind::Internal
            }
            Upstream(e) => e.kind(),
            Auth(e) => e.kind(),
            Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        PeopleError::code(self)
    }

    fn user_message(&self) -> String {
        use PeopleError::*;
        match self {
            InvalidFields(errors) => errors
                .first()
                .map(|e| e.reason.clone())
                .unwrap_or_else(|| "输入有误".into()),
            StaffNotFound(_) => "找不到该教职工".into(),
            StudentNotFound(_) => "找不到该学生".into(),
            ClassNotFound(_) => "找不到该班级".into(),
            NoHomeroom(_) => "找不到该班主任安排".into(),
            DepartmentNotFound(_) => "找不到该部门".into(),
            GuardianLinkNotFound { .. } => "找不到该家长关联".into(),
            ImportNotFound(_) => "找不到该导入任务".into(),
            IdNumberExists { who } => format!("该身份证号的{}已存在", who.label()),
            IdNumberOfAnother { who, .. } => format!(
                "该身份证号已属于另一{}",
                match who {
                    Person::Staff => "位教职工",
                    Person::Student => "名学生",
                }
            ),
            StaffNoTaken { staff_no } => format!("工号 {staff_no} 已被其他教职工使用"),
            DepartmentExists { name } => format!("部门“{name}”已存在"),
            DepartmentNotEmpty { members, .. } => {
                format!("该部门还有 {members} 名成员，请先调整成员所属部门")
            }
            ConsentRequired { .. } => "请先阅读并同意《个人信息处理规则》后再查看孩子信息".into(),
            RoleNotAssignable(_) => {
                "这里只能授予任课教师、巡课或学校管理员角色；班主任请在班级中指定".into()
            }
            FileTooLarge { .. } => "文件超过 10 MB，请拆分后分批导入".into(),
            FileRequired => "请选择要上传的文件".into(),
            UploadInterrupted { .. } => "文件上传中断，请重新上传".into(),
            CorruptFile => "文件已损坏，无法读取".into(),
            File(e) => e.to_string(),
            SheetMissing { kind, sheet, .. } => format!(
                "文件中没有名为“{sheet}”的工作表，请使用{}导入模板",
                kind.label()
            ),
            WrongHeaders {
                sheet,
                missing,
                unknown,
                ..
            } => {
                let mut parts = Vec::new();
                if !missing.is_empty() {
                    parts.push(format!("缺少列：{}", missing.join("、")));
                }
                if !unknown.is_empty() {
                    parts.push(format!("无法识别的列：{}", unknown.join("、")));
                }
                format!(
                    "工作表“{sheet}”的表头与模板不一致（{}），请下载最新模板填写",
                    parts.join("；")
                )
            }
            Spreadsheet(_) | Unreadable { .. } | AccountMissing(_) | DemoDataInvalid(_) => {
                "服务器内部错误，请稍后重试".into()
            }
            Upstream(e) => e.user_message(),
            Auth(e) => e.user_message(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use PeopleError::*;
        match self {
            InvalidFields(errors) => json!({ "fields": errors }),
            StaffNotFound(id)
            | StudentNotFound(id)
            | ClassNotFound(id)
            | NoHomeroom(id)
            | DepartmentNotFound(id) => json!({ "id": id }),
            GuardianLinkNotFound { guardian, .. } => json!({ "id": guardian }),
            ImportNotFound(id) => json!({ "id": id }),
            IdNumberExists { .. } | IdNumberOfAnother { .. } => {
                json!({ "field": staff_cols::ID_NUMBER })
            }
            StaffNoTaken { .. } => json!({ "field": staff_cols::STAFF_NO }),
            DepartmentExists { name } => json!({ "name": name }),
            DepartmentNotEmpty { members, .. } => json!({ "members": members }),
            ConsentRequired { terms_version } => json!({ "terms_version": terms_version }),
            RoleNotAssignable(role) => json!({ "role": role.as_str() }),
            FileTooLarge { limit_mb } => json!({ "limit_mb": limit_mb }),
            UploadInterrupted { detail } => json!({ "detail": detail }),
            SheetMissing { sheet, found, .. } => json!({ "sheet": sheet, "found": found }),
            WrongHeaders {
                sheet,
                missing,
                unknown,
                expected,
            } => json!({
                "sheet": sheet, "missing": missing, "unknown": unknown, "expected": expected
            }),
            Auth(e) => e.details(),
            Db(e) => e.details(),
            FileRequired
            | CorruptFile
            | File(_)
            | Spreadsheet(_)
            | Unreadable { .. }
            | AccountMissing(_)
            | DemoDataInvalid(_) => json!({}),
            Upstream(e) => e.details(),
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            PeopleError::Auth(e) => e.retry_after(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_errors_keep_their_codes_classes_and_details() {
        let e = PeopleError::IdNumberOfAnother {
            who: Person::Student,
            id: 3,
        };
        assert_eq!(e.code(), "STUDENT_EXISTS");
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.user_message(), "该身份证号已属于另一名学生");
        assert_eq!(e.details()["field"], "身份证号");
        let e = PeopleError::InvalidFields(vec![FieldError::new("部门名称", "太长")]);
        assert_eq!(e.user_message(), "太长");
        assert_eq!(e.details()["fields"][0]["field"], "部门名称");
        assert_eq!(
            PeopleError::InvalidFields(vec![]).user_message(),
            "输入有误"
        );
        let e = PeopleError::File(TabularError::NoData {
            sheet: "学生".into(),
        });
        assert_eq!(e.code(), "NO_DATA");
        assert_eq!(e.kind(), ErrorKind::Unprocessable);
        assert_eq!(
            PeopleError::Spreadsheet(TabularError::Corrupt("x".into())).kind(),
            ErrorKind::Internal
        );
        assert_eq!(
            PeopleError::GuardianLinkNotFound {
                student: 1,
                guardian: 2
            }
            .details()["id"],
            2
        );
    }
}

crate::refusals_into!(PeopleError::Upstream: AuditError);
