//! Types of a school's people: the raw fields as a clerk types them (one form or one
//! spreadsheet row), their validation into checked inputs, and the masked views.
//!
//! Validation lives here once and serves both the forms and the bulk import, so a row that
//! the API refuses is refused by the import with the same reason.

use chrono::{Datelike, NaiveDate};
use poem_openapi::{Enum, Object};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::pii::{IdNumber, Phone, Sex};

/// One field that failed validation: the column as the clerk sees it and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FieldError {
    /// 字段（与导入模板的列名一致），如“身份证号”
    pub field: String,
    /// 原因，如“身份证号码校验位错误”
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &str, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.to_string(),
            reason: reason.into(),
        }
    }
}

pub type Checked<T> = Result<T, Vec<FieldError>>;

/// Column names of the staff template, in order; the API uses the same names for fields.
pub mod staff_cols {
    pub const STAFF_NO: &str = "工号";
    pub const NAME: &str = "姓名";
    pub const ID_NUMBER: &str = "身份证号";
    pub const PHONE: &str = "手机号";
    pub const QUALIFICATION: &str = "教师资格证书号码";
    pub const EDUCATION: &str = "学历";
    pub const TITLE: &str = "职称";
    pub const EMPLOYED_SINCE: &str = "起始聘用年份";
    pub const DUTIES: &str = "工作职责";
    pub const SALARY: &str = "月薪";
    pub const DEPARTMENTS: &str = "所属部门";
    pub const RESUME: &str = "个人简历";
    /// (column, required)
    pub const ALL: [(&str, bool); 12] = [
        (STAFF_NO, true),
        (NAME, true),
        (ID_NUMBER, true),
        (PHONE, true),
        (QUALIFICATION, false),
        (EDUCATION, false),
        (TITLE, false),
        (EMPLOYED_SINCE, false),
        (DUTIES, false),
        (SALARY, false),
        (DEPARTMENTS, false),
        (RESUME, false),
    ];
}

pub mod student_cols {
    pub const NAME: &str = "学生姓名";
    pub const ID_NUMBER: &str = "身份证号";
    pub const CLASS: &str = "班级";
    pub const ALL: [(&str, bool); 3] = [(NAME, true), (ID_NUMBER, true), (CLASS, true)];
}

pub mod guardian_cols {
    pub const STUDENT_ID_NUMBER: &str = "学生身份证号";
    pub const STUDENT_NAME: &str = "学生姓名";
    pub const NAME: &str = "家长姓名";
    pub const RELATION: &str = "关系";
    pub const PHONE: &str = "手机号";
    pub const ALL: [(&str, bool); 5] = [
        (STUDENT_ID_NUMBER, true),
        (STUDENT_NAME, true),
        (NAME, true),
        (RELATION, true),
        (PHONE, true),
    ];
}

/// 学历 as the supervision platform lists them.
pub const EDUCATION_LEVELS: [&str; 7] = [
    "博士研究生",
    "硕士研究生",
    "本科",
    "大专",
    "中专",
    "高中",
    "其他",
];

/// A guardian's relation to the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// 父亲
    Father,
    /// 母亲
    Mother,
    /// 祖父/外祖父
    Grandfather,
    /// 祖母/外祖母
    Grandmother,
    /// 其他监护人
    Guardian,
    /// 其他
    Other,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Father => "father",
            Relation::Mother => "mother",
            Relation::Grandfather => "grandfather",
            Relation::Grandmother => "grandmother",
            Relation::Guardian => "guardian",
            Relation::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Relation::Father => "父亲",
            Relation::Mother => "母亲",
            Relation::Grandfather => "祖父/外祖父",
            Relation::Grandmother => "祖母/外祖母",
            Relation::Guardian => "监护人",
            Relation::Other => "其他",
        }
    }

    pub fn from_db(s: &str) -> Relation {
        match s {
            "father" => Relation::Father,
            "mother" => Relation::Mother,
            "grandfather" => Relation::Grandfather,
            "grandmother" => Relation::Grandmother,
            "guardian" => Relation::Guardian,
            _ => Relation::Other,
        }
    }

    /// The words clerks write in the 关系 column.
    pub fn parse_zh(s: &str) -> Option<Relation> {
        Some(match s.trim() {
            "父亲" | "爸爸" | "父" => Relation::Father,
            "母亲" | "妈妈" | "母" => Relation::Mother,
            "祖父" | "外祖父" | "爷爷" | "外公" | "祖父/外祖父" => {
                Relation::Grandfather
            }
            "祖母" | "外祖母" | "奶奶" | "外婆" | "祖母/外祖母" => {
                Relation::Grandmother
            }
            "监护人" | "其他监护人" => Relation::Guardian,
            "其他" | "其他亲属" => Relation::Other,
            _ => return None,
        })
    }
}

/// The two kinds of people records keyed by an ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Person {
    Staff,
    Student,
}

impl Person {
    pub fn label(self) -> &'static str {
        match self {
            Person::Staff => "教职工",
            Person::Student => "学生",
        }
    }

    /// How the audit trail names a record of this kind (`staff:12`, `student:7`).
    pub fn object(self, id: i64) -> String {
        match self {
            Person::Staff => format!("staff:{id}"),
            Person::Student => format!("student:{id}"),
        }
    }
}

pub fn sex_code(s: Sex) -> &'static str {
    match s {
        Sex::Male => "M",
        Sex::Female => "F",
    }
}

pub fn sex_label(code: &str) -> &'static str {
    if code == "M" {
        "男"
    } else {
        "女"
    }
}

/// Completed years between `birth` and `today`.
pub fn age(birth: NaiveDate, today: NaiveDate) -> i32 {
    let mut y = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        y -= 1;
    }
    y.max(0)
}

fn text(
    errs: &mut Vec<FieldError>,
    col: &str,
    v: &str,
    required: bool,
    max: usize,
) -> Option<String> {
    let v = v.trim();
    if v.is_empty() {
        if required {
            errs.push(FieldError::new(col, format!("{col}不能为空")));
        }
        return None;
    }
    if v.chars().count() > max {
        errs.push(FieldError::new(col, format!("{col}不能超过 {max} 个字")));
        return None;
    }
    Some(v.to_string())
}

fn id_number(errs: &mut Vec<FieldError>, col: &str, v: &str, today: NaiveDate) -> Option<IdNumber> {
    if v.trim().is_empty() {
        errs.push(FieldError::new(col, format!("{col}不能为空")));
        return None;
    }
    match IdNumber::parse(v, today) {
        Ok(id) => Some(id),
        Err(e) => {
            errs.push(FieldError::new(col, e.to_string()));
            None
        }
    }
}

fn phone(errs: &mut Vec<FieldError>, col: &str, v: &str) -> Option<Phone> {
    if v.trim().is_empty() {
        errs.push(FieldError::new(col, format!("{col}不能为空")));
        return None;
    }
    match Phone::parse(v) {
        Ok(p) => Some(p),
        Err(e) => {
            errs.push(FieldError::new(col, e.to_string()));
            None
        }
    }
}

/// Staff fields as typed, all text (a form or one spreadsheet row).
#[derive(Debug, Clone, Default)]
pub struct StaffFields {
    pub staff_no: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub qualification_no: String,
    pub education: String,
    pub title: String,
    pub employed_since: String,
    pub duties: String,
    pub monthly_salary: String,
    /// Department names separated by 、 , ， ; or ；
    pub departments: String,
    pub resume: String,
}

/// A checked staff record (F3).
#[derive(Debug, Clone)]
pub struct StaffInput {
    pub staff_no: String,
    pub name: String,
    pub id_number: IdNumber,
    pub phone: Phone,
    pub qualification_no: Option<String>,
    pub education: Option<String>,
    pub title: Option<String>,
    pub employed_since: Option<i16>,
    pub duties: Option<String>,
    pub monthly_salary: Option<Decimal>,
    pub departments: Vec<String>,
    pub resume: Option<String>,
}

impl StaffFields {
    pub fn check(&self, today: NaiveDate) -> Checked<StaffInput> {
        use staff_cols as c;
        let mut e = Vec::new();
        let staff_no = text(&mut e, c::STAFF_NO, &self.staff_no, true, 32);
        if let Some(no) = &staff_no {
            if !no
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                e.push(FieldError::new(
                    c::STAFF_NO,
                    "工号只能包含字母、数字、- 和 _",
                ));
            }
        }
        let name = text(&mut e, c::NAME, &self.name, true, 50);
        let id = id_number(&mut e, c::ID_NUMBER, &self.id_number, today);
        if let Some(id) = &id {
            let a = age(id.birth_date(), today);
            if !(18..=75).contains(&a) {
                e.push(FieldError::new(
                    c::ID_NUMBER,
                    format!("按身份证号计算年龄为 {a} 岁，不在教职工年龄范围（18–75 岁）内"),
                ));
            }
        }
        let ph = phone(&mut e, c::PHONE, &self.phone);
        let qualification_no = text(&mut e, c::QUALIFICATION, &self.qualification_no, false, 32);
        let education = text(&mut e, c::EDUCATION, &self.education, false, 20);
        if let Some(ed) = &education {
            if !EDUCATION_LEVELS.contains(&ed.as_str()) {
                e.push(FieldError::new(
                    c::EDUCATION,
                    format!("学历应为：{}", EDUCATION_LEVELS.join("、")),
                ));
            }
        }
        let title = text(&mut e, c::TITLE, &self.title, false, 20);
        let employed_since = match self.employed_since.trim() {
            "" => None,
            s => match s.trim_end_matches('年').parse::<i16>() {
                Ok(y) if (1950..=today.year() as i16).contains(&y) => Some(y),
                _ => {
                    e.push(FieldError::new(
                        c::EMPLOYED_SINCE,
                        format!("起始聘用年份应为 1950–{} 之间的四位年份", today.year()),
                    ));
                    None
                }
            },
        };
        let duties = text(&mut e, c::DUTIES, &self.duties, false, 200);
        let monthly_salary = match self.monthly_salary.trim().replace([',', '，'], "").as_str() {
            "" => None,
            s => match s.parse::<Decimal>() {
                Ok(d) if d >= Decimal::ZERO && d < Decimal::from(1_000_000) && d.scale() <= 2 => {
                    Some(d)
                }
                _ => {
                    e.push(FieldError::new(
                        c::SALARY,
                        "月薪应为 0 至 999999.99 之间的金额（元，最多两位小数）",
                    ));
                    None
                }
            },
        };
        let departments = split_list(&self.departments);
        for d in &departments {
            if d.chars().count() > 50 {
                e.push(FieldError::new(c::DEPARTMENTS, "部门名称不能超过 50 个字"));
            }
        }
        let resume = text(&mut e, c::RESUME, &self.resume, false, 4000);
        match (staff_no, name, id, ph) {
            (Some(staff_no), Some(name), Some(id_number), Some(phone)) if e.is_empty() => {
                Ok(StaffInput {
                    staff_no,
                    name,
                    id_number,
                    phone,
                    qualification_no,
                    education,
                    title,
                    employed_since,
                    duties,
                    monthly_salary,
                    departments,
                    resume,
                })
            }
            _ => Err(e),
        }
    }
}

/// Splits "语文教研组、三年级组" into names; empty parts dropped, duplicates removed.
pub fn split_list(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split(['、', ',', '，', ';', '；']) {
        let p = part.trim();
        if !p.is_empty() && !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

/// Student fields as typed; the class is named the way clerks write it (system name,
/// alias or code) and resolved against the school's classes by the caller.
#[derive(Debug, Clone, Default)]
pub struct StudentFields {
    pub name: String,
    pub id_number: String,
    pub class: String,
}

#[derive(Debug, Clone)]
pub struct StudentInput {
    pub name: String,
    pub id_number: IdNumber,
    pub class: String,
}

impl StudentFields {
    pub fn check(&self, today: NaiveDate) -> Checked<StudentInput> {
        use student_cols as c;
        let mut e = Vec::new();
        let name = text(&mut e, c::NAME, &self.name, true, 50);
        let id = id_number(&mut e, c::ID_NUMBER, &self.id_number, today);
        if let Some(id) = &id {
            let a = age(id.birth_date(), today);
            if !(3..=20).contains(&a) {
                e.push(FieldError::new(
                    c::ID_NUMBER,
                    format!("按身份证号计算年龄为 {a} 岁，不在学生年龄范围（3–20 岁）内"),
                ));
            }
        }
        let class = text(&mut e, c::CLASS, &self.class, true, 50);
        match (name, id, class) {
            (Some(name), Some(id_number), Some(class)) if e.is_empty() => Ok(StudentInput {
                name,
                id_number,
                class,
            }),
            _ => Err(e),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct GuardianFields {
    pub student_id_number: String,
    pub student_name: String,
    pub name: String,
    pub relation: String,
    pub phone: String,
}

#[derive(Debug, Clone)]
pub struct GuardianInput {
    pub student_id_number: IdNumber,
    pub student_name: String,
    pub name: String,
    pub relation: Relation,
    pub phone: Phone,
}

impl GuardianFields {
    pub fn check(&self, today: NaiveDate) -> Checked<GuardianInput> {
        use guardian_cols as c;
        let mut e = Vec::new();
        let sid = id_number(&mut e, c::STUDENT_ID_NUMBER, &self.student_id_number, today);
        let sname = text(&mut e, c::STUDENT_NAME, &self.student_name, true, 50);
        let name = text(&mut e, c::NAME, &self.name, true, 50);
        let relation = match self.relation.trim() {
            "" => {
                e.push(FieldError::new(c::RELATION, "关系不能为空"));
                None
            }
            r => match Relation::parse_zh(r) {
                Some(r) => Some(r),
                None => {
                    e.push(FieldError::new(
                        c::RELATION,
                        "关系应为：父亲、母亲、祖父、外祖父、祖母、外祖母、监护人、其他",
                    ));
                    None
                }
            },
        };
        let ph = phone(&mut e, c::PHONE, &self.phone);
        match (sid, sname, name, relation, ph) {
            (
                Some(student_id_number),
                Some(student_name),
                Some(name),
                Some(relation),
                Some(phone),
            ) if e.is_empty() => Ok(GuardianInput {
                student_id_number,
                student_name,
                name,
                relation,
                phone,
            }),
            _ => Err(e),
        }
    }
}

// ---- views -----------------------------------------------------------------------------

/// Whether a staff member works at the school (`staff.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffStatus {
    Active,
    Left,
}

crate::text_column!(StaffStatus { Active => "active", Left => "left" });

impl StaffStatus {
    pub fn label(self) -> &'static str {
        match self {
            StaffStatus::Active => "在职",
            StaffStatus::Left => "离职",
        }
    }
}

/// Whether a student is at the school (`students.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StudentStatus {
    Active,
    Graduated,
    Left,
}

crate::text_column!(StudentStatus { Active => "active", Graduated => "graduated", Left => "left" });

impl StudentStatus {
    pub const ALL: [StudentStatus; 3] = [
        StudentStatus::Active,
        StudentStatus::Graduated,
        StudentStatus::Left,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StudentStatus::Active => "在读",
            StudentStatus::Graduated => "已毕业",
            StudentStatus::Left => "已离校",
        }
    }
}

impl Person {
    /// The status a record of this kind takes when the person leaves the school.
    pub fn left(self) -> &'static str {
        match self {
            Person::Staff => StaffStatus::Left.as_str(),
            Person::Student => StudentStatus::Left.as_str(),
        }
    }
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DepartmentView {
    pub id: i64,
    pub name: String,
    /// 成员人数
    pub members: i64,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StaffView {
    pub id: i64,
    /// 工号
    pub staff_no: String,
    pub name: String,
    /// 脱敏身份证号
    pub id_number_masked: String,
    /// 年龄（按身份证号出生日期计算）
    pub age: i32,
    /// 性别：男/女
    pub sex: String,
    /// 教龄（按起始聘用年份计算）
    pub teaching_years: Option<i32>,
    /// 教师资格证书号码
    pub qualification_no: Option<String>,
    pub education: Option<String>,
    /// 职称级别
    pub title: Option<String>,
    /// 脱敏手机号
    pub phone_masked: String,
    /// 个人简历
    pub resume: Option<String>,
    /// 起始聘用年份
    pub employed_since: Option<i16>,
    /// 工作职责
    pub duties: Option<String>,
    /// 月薪（元）
    pub monthly_salary: Option<String>,
    pub departments: Vec<String>,
    /// 担任班主任的班级
    pub homeroom_of: Vec<String>,
    /// active 在职 | left 离职
    pub status: String,
}

impl StaffView {
    /// The record's status (the JSON keeps the plain text).
    pub fn staff_status(&self) -> Option<StaffStatus> {
        StaffStatus::parse(&self.status)
    }
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct GuardianView {
    pub id: i64,
    pub name: String,
    pub relation: Relation,
    /// 关系中文
    pub relation_label: String,
    pub phone_masked: String,
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StudentView {
    pub id: i64,
    pub name: String,
    pub id_number_masked: String,
    /// 年龄（按身份证号计算）
    pub age: i32,
    /// 性别（按身份证号计算）：男/女
    pub sex: String,
    pub class_id: i64,
    /// 班级系统名称，如“三年级2班”
    pub class_name: String,
    /// 班级别名，如“向日葵班”
    pub class_alias: Option<String>,
    /// active 在读 | graduated 已毕业 | left 已离校
    pub status: String,
    pub guardians: Vec<GuardianView>,
}

impl StudentView {
    /// The record's status (the JSON keeps the plain text).
    pub fn student_status(&self) -> Option<StudentStatus> {
        StudentStatus::parse(&self.status)
    }
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StudentPage {
    pub total: i64,
    pub items: Vec<StudentView>,
}

/// A clear identity number (and phone) of one person: every read is audited.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RevealedPii {
    pub id_number: String,
    pub phone: Option<String>,
}

// ---- bulk import -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// 教职工
    Staff,
    /// 学生（xlsx 可同时包含“家长”工作表）
    Students,
    /// 家长
    Guardians,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Staff => "staff",
            ImportKind::Students => "students",
            ImportKind::Guardians => "guardians",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ImportKind::Staff => "教职工",
            ImportKind::Students => "学生",
            ImportKind::Guardians => "家长",
        }
    }

    /// The kind a job row stores (`students` for anything else, as before).
    pub fn from_db(s: &str) -> ImportKind {
        match s {
            "staff" => ImportKind::Staff,
            "guardians" => ImportKind::Guardians,
            _ => ImportKind::Students,
        }
    }
}

/// One reason a row was refused: the sheet, the row number Excel shows, the column, the
/// value (masked for personal-data columns) and the reason in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct RowError {
    pub sheet: String,
    pub row: u32,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// Where an import job stands (`import_jobs.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        [JobStatus::Running, JobStatus::Succeeded, JobStatus::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What a running import job is doing (`import_jobs.phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    Validating,
    Writing,
    Done,
}

impl JobPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            JobPhase::Validating => "validating",
            JobPhase::Writing => "writing",
            JobPhase::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<JobPhase> {
        [JobPhase::Validating, JobPhase::Writing, JobPhase::Done]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ImportJobView {
    pub id: Uuid,
    pub kind: ImportKind,
    pub file_name: String,
    /// running 进行中 | succeeded 已导入 | failed 未导入
    pub status: String,
    /// validating 校验中 | writing 写入中 | done 完成
    pub phase: String,
    pub total_rows: i32,
    pub processed_rows: i32,
    /// 新增记录数
    pub inserted: i32,
    /// 更新记录数
    pub updated: i32,
    pub error_count: i32,
    /// 结果说明（中文）
    pub message: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl ImportJobView {
    /// The job's state (the JSON keeps the plain text).
    pub fn job_status(&self) -> Option<JobStatus> {
        JobStatus::parse(&self.status)
    }

    pub fn job_phase(&self) -> Option<JobPhase> {
        JobPhase::parse(&self.phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn staff_row_reports_every_bad_field_by_column() {
        let f = StaffFields {
            staff_no: "T 01".into(),
            name: "".into(),
            id_number: "110101199003071234".into(),
            phone: "12345".into(),
            education: "小学".into(),
            employed_since: "1890".into(),
            monthly_salary: "-1".into(),
            ..Default::default()
        };
        let e = f.check(today()).unwrap_err();
        let cols: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
        for c in [
            "工号",
            "姓名",
            "身份证号",
            "手机号",
            "学历",
            "起始聘用年份",
            "月薪",
        ] {
            assert!(cols.contains(&c), "{c} missing in {cols:?}");
        }
    }

    #[test]
    fn relation_words_clerks_use_are_understood() {
        assert_eq!(Relation::parse_zh("外婆"), Some(Relation::Grandmother));
        assert_eq!(Relation::parse_zh("爸爸"), Some(Relation::Father));
        assert_eq!(Relation::parse_zh("舅舅"), None);
    }

    #[test]
    fn department_lists_split_on_chinese_and_ascii_separators() {
        assert_eq!(
            split_list("语文教研组、三年级组,语文教研组；"),
            vec!["语文教研组".to_string(), "三年级组".to_string()]
        );
    }
}
