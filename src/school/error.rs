//! Refusals of the school organisation and calendar rules: one variant per refusal, each
//! with its stable code, HTTP class, Chinese message and details. A refused change has
//! written nothing the caller commits. Codes are part of the API: never rename one.
//!
//! Must never name HTTP: handlers and pages turn a [`SchoolError`] into their answer
//! through [`DomainError`].

use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Value};

use super::model::{hhmm, CAPACITY, LEVELS, NAME_MAX, SCHOOL_YEARS, TERM_MAX_DAYS};
use crate::audit::AuditError;
use crate::error::{violated_constraint, DomainError, ErrorKind};

#[derive(Debug, thiserror::Error)]
pub enum SchoolError {
    // --- values that fail their rule (422) -----------------------------------------------
    #[error("{field}: invalid code {value:?}")]
    CodeInvalid { field: &'static str, value: String },
    #[error("{field}: name blank or longer than {NAME_MAX} characters")]
    NameInvalid { field: &'static str },
    #[error("{field}: invalid weekdays {value:?}")]
    WeekdaysInvalid {
        field: &'static str,
        value: Vec<i16>,
    },
    #[error("{field}: invalid date {value:?}")]
    DateInvalid { field: &'static str, value: String },
    #[error("{field}: invalid time of day {value:?}")]
    TimeInvalid { field: &'static str, value: String },
    #[error("kind {value:?} is none of {allowed:?}")]
    KindInvalid {
        value: String,
        allowed: &'static [&'static str],
    },
    #[error("grade level {level} outside {LEVELS:?}")]
    LevelInvalid { level: i16 },
    #[error("venue capacity {capacity} outside {CAPACITY:?}")]
    CapacityInvalid { capacity: i32 },
    #[error("school year {school_year} outside {SCHOOL_YEARS:?}")]
    SchoolYearInvalid { school_year: i16 },
    #[error("period ends at {ends_at}, not after it starts at {starts_at}")]
    PeriodTimesInvalid {
        starts_at: NaiveTime,
        ends_at: NaiveTime,
    },
    #[error("term {starts_on}..={ends_on} is not 1..={TERM_MAX_DAYS} days")]
    TermDatesInvalid {
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    },
    /// The grade a new class names does not exist.
    #[error("chosen grade {id} does not exist")]
    ChosenGradeMissing { id: i64 },
    /// The venue a class names as its home classroom does not exist.
    #[error("chosen venue {id} does not exist")]
    ChosenVenueMissing { id: i64 },
    /// A term change would leave exception days outside the term.
    #[error("{} exception days would fall outside the term", days.len())]
    ExceptionsOutsideTerm { days: Vec<NaiveDate> },
    /// A term change would put make-up days on teaching weekdays.
    #[error("make-up days {days:?} would fall on teaching weekdays")]
    MakeupsOnTeachingWeekdays { days: Vec<NaiveDate> },
    #[error("{day} is outside term {term} ({starts_on}..={ends_on})")]
    DayOutsideTerm {
        day: NaiveDate,
        term: String,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
    },
    #[error("{day} is a teaching day and cannot be a make-up day")]
    MakeupOnTeachingDay { day: NaiveDate },
    #[error("{day} is no school day and cannot be a holiday or closure")]
    NotASchoolDay { day: NaiveDate },

    // --- what is not there (404) -----------------------------------------------------------
    #[error("grade {id} not found")]
    GradeNotFound { id: i64 },
    #[error("class {id} not found")]
    ClassNotFound { id: i64 },
    #[error("venue {id} not found")]
    VenueNotFound { id: i64 },
    #[error("period {id} not found")]
    PeriodNotFound { id: i64 },
    #[error("term {code:?} not found")]
    TermNotFound { code: String },
    /// No term at all, so no calendar to show.
    #[error("the school has no term")]
    NoTerm,
    #[error("{day} of term {term} has no exception")]
    DayNotFound { term: String, day: NaiveDate },

    // --- conflicts with what is stored (409) -----------------------------------------------
    #[error("grade code {code:?} taken")]
    GradeCodeTaken { code: String },
    #[error("class code {code:?} taken")]
    ClassCodeTaken { code: String },
    #[error("venue code {code:?} taken")]
    VenueCodeTaken { code: String },
    #[error("period code {code:?} taken")]
    PeriodCodeTaken { code: String },
    #[error("term code {code:?} taken")]
    TermCodeTaken { code: String },
    #[error("grade level {level} taken by grade {grade}")]
    GradeLevelTaken { level: i16, grade: String },
    #[error("grade {grade} still has {classes} classes")]
    GradeHasClasses { grade: String, classes: i64 },
    #[error("class {class} still has {students} students")]
    ClassHasStudents { class: String, students: i64 },
    /// Another record references the class.
    #[error("class {class} is referenced")]
    ClassInUse { class: String },
    #[error("venue {venue} is the home classroom of {classes:?}")]
    VenueIsClassroom { venue: String, classes: Vec<String> },
    /// Another record references the venue.
    #[error("venue {venue} is referenced")]
    VenueInUse { venue: String },
    /// Another record references the period.
    #[error("period {id} ({period}) is referenced")]
    PeriodInUse { id: i64, period: String },
    #[error("term dates overlap term {other}")]
    TermOverlap { other: String },
    #[error("grades {grades:?} share level {level}")]
    GradeLevelAmbiguous { level: i16, grades: Vec<String> },
    #[error("promotion would give class codes {codes:?} twice")]
    PromotionCodeConflict { codes: Vec<String> },
    #[error("school year {school_year} already promoted")]
    AlreadyPromoted { school_year: i16 },
    #[error("school year {school_year} is before the latest promotion {latest}")]
    PromotionOutOfOrder { school_year: i16, latest: i16 },

    // --- ours (500) ------------------------------------------------------------------------
    /// A class whose grade the grade list lacks: the foreign key should make it impossible.
    #[error("class {class_id} references missing grade {grade_id}")]
    ClassWithoutGrade { class_id: i64, grade_id: i64 },
    /// The change's audit record was not written: the change is not reported as done.
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl SchoolError {
    /// `e` as `refusal` when it violated one of `constraints` (PostgreSQL's default names:
    /// `<table>_<column>_key`, `<table>_pkey`, `<table>_<column>_fkey`), else as the
    /// database error it is.
    pub(crate) fn on_constraint(
        e: sqlx::Error,
        constraints: &[&str],
        refusal: impl FnOnce() -> SchoolError,
    ) -> SchoolError {
        match violated_constraint(&e) {
            Some(c) if constraints.contains(&c) => refusal(),
            _ => SchoolError::Db(e),
        }
    }
}

/// The message of a code another grade, class, venue, period or term (`what`) has.
fn taken(what: &str, code: &str) -> String {
    format!("{what}代码“{code}”已被使用")
}

impl DomainError for SchoolError {
    fn kind(&self) -> ErrorKind {
        use SchoolError::*;
        match self {
            CodeInvalid { .. }
            | NameInvalid { .. }
            | WeekdaysInvalid { .. }
            | DateInvalid { .. }
            | TimeInvalid { .. }
            | KindInvalid { .. }
            | LevelInvalid { .. }
            | CapacityInvalid { .. }
            | SchoolYearInvalid { .. }
            | PeriodTimesInvalid { .. }
            | TermDatesInvalid { .. }
            | ChosenGradeMissing { .. }
            | ChosenVenueMissing { .. }
            | ExceptionsOutsideTerm { .. }
            | MakeupsOnTeachingWeekdays { .. }
            | DayOutsideTerm { .. }
            | MakeupOnTeachingDay { .. }
            | NotASchoolDay { .. } => ErrorKind::Unprocessable,
            GradeNotFound { .. }
            | ClassNotFound { .. }
            | VenueNotFound { .. }
            | PeriodNotFound { .. }
            | TermNotFound { .. }
            | NoTerm
            | DayNotFound { .. } => ErrorKind::NotFound,
            GradeCodeTaken { .. }
            | ClassCodeTaken { .. }
            | VenueCodeTaken { .. }
            | PeriodCodeTaken { .. }
            | TermCodeTaken { .. }
            | GradeLevelTaken { .. }
            | GradeHasClasses { .. }
            | ClassHasStudents { .. }
            | ClassInUse { .. }
            | VenueIsClassroom { .. }
            | VenueInUse { .. }
            | PeriodInUse { .. }
            | TermOverlap { .. }
            | GradeLevelAmbiguous { .. }
            | PromotionCodeConflict { .. }
            | AlreadyPromoted { .. }
            | PromotionOutOfOrder { .. } => ErrorKind::Conflict,
            ClassWithoutGrade { .. } => ErrorKind::Internal,
            Audit(e) => e.kind(),
            Db(e) => e.kind(),
        }
    }

    fn code(&self) -> &'static str {
        use SchoolError::*;
        match self {
            CodeInvalid { .. } => "CODE_INVALID",
            NameInvalid { .. } => "NAME_INVALID",
            WeekdaysInvalid { .. } => "WEEKDAYS_INVALID",
            DateInvalid { .. } => "DATE_INVALID",
            TimeInvalid { .. } | PeriodTimesInvalid { .. } => "PERIOD_TIME_INVALID",
            KindInvalid { .. } => "KIND_INVALID",
            LevelInvalid { .. } => "LEVEL_INVALID",
            CapacityInvalid { .. } => "CAPACITY_INVALID",
            SchoolYearInvalid { .. } => "SCHOOL_YEAR_INVALID",
            TermDatesInvalid { .. } => "TERM_DATES_INVALID",
            ChosenGradeMissing { .. } | GradeNotFound { .. } => "GRADE_NOT_FOUND",
            ChosenVenueMissing { .. } | VenueNotFound { .. } => "VENUE_NOT_FOUND",
            ExceptionsOutsideTerm { .. } => "EXCEPTION_OUTSIDE_TERM",
            MakeupsOnTeachingWeekdays { .. } | MakeupOnTeachingDay { .. } => {
                "MAKEUP_ON_TEACHING_DAY"
            }
            DayOutsideTerm { .. } => "DAY_OUTSIDE_TERM",
            NotASchoolDay { .. } => "NOT_A_SCHOOL_DAY",
            ClassNotFound { .. } => "CLASS_NOT_FOUND",
            PeriodNotFound { .. } => "PERIOD_NOT_FOUND",
            TermNotFound { .. } | NoTerm => "TERM_NOT_FOUND",
            DayNotFound { .. } => "DAY_NOT_FOUND",
            GradeCodeTaken { .. } => "GRADE_CODE_TAKEN",
            ClassCodeTaken { .. } => "CLASS_CODE_TAKEN",
            VenueCodeTaken { .. } => "VENUE_CODE_TAKEN",
            PeriodCodeTaken { .. } => "PERIOD_CODE_TAKEN",
            TermCodeTaken { .. } => "TERM_CODE_TAKEN",
            GradeLevelTaken { .. } => "GRADE_LEVEL_TAKEN",
            GradeHasClasses { .. } => "GRADE_HAS_CLASSES",
            ClassHasStudents { .. } => "CLASS_HAS_STUDENTS",
            ClassInUse { .. } => "CLASS_IN_USE",
            VenueIsClassroom { .. } | VenueInUse { .. } => "VENUE_IN_USE",
            PeriodInUse { .. } => "PERIOD_IN_USE",
            TermOverlap { .. } => "TERM_OVERLAP",
            GradeLevelAmbiguous { .. } => "GRADE_LEVEL_AMBIGUOUS",
            PromotionCodeConflict { .. } => "PROMOTION_CODE_CONFLICT",
            AlreadyPromoted { .. } => "ALREADY_PROMOTED",
            PromotionOutOfOrder { .. } => "PROMOTION_OUT_OF_ORDER",
            ClassWithoutGrade { .. } => "INTERNAL",
            Audit(e) => DomainError::code(e),
            Db(e) => e.code(),
        }
    }

    fn user_message(&self) -> String {
        use SchoolError::*;
        match self {
            CodeInvalid { value, .. } => format!(
                "代码“{value}”不合法：须以小写字母或数字开头，只含小写字母、数字、下划线和连字符，最长 32 个字符"
            ),
            NameInvalid { .. } => format!("名称不能为空，且不超过 {NAME_MAX} 个字"),
            WeekdaysInvalid { .. } => {
                "星期应为 1（周一）到 7（周日）之间不重复的数字，且至少一天".into()
            }
            DateInvalid { value, .. } => format!("日期“{value}”格式不正确，应为 YYYY-MM-DD"),
            TimeInvalid { value, .. } => {
                format!("时间“{value}”格式不正确，应为 HH:MM，如 12:00")
            }
            KindInvalid { value, allowed } => {
                format!("类型“{value}”无效，应为 {}", allowed.join("、"))
            }
            LevelInvalid { .. } => format!(
                "年级序号应在 {} 到 {} 之间",
                LEVELS.start(),
                LEVELS.end()
            ),
            CapacityInvalid { .. } => format!(
                "场地容量应在 {} 到 {} 人之间",
                CAPACITY.start(),
                CAPACITY.end()
            ),
            SchoolYearInvalid { .. } => format!(
                "学年应在 {} 到 {} 之间",
                SCHOOL_YEARS.start(),
                SCHOOL_YEARS.end()
            ),
            PeriodTimesInvalid { .. } => "时段结束时间必须晚于开始时间".into(),
            TermDatesInvalid { .. } => {
                format!("学期结束日期不能早于开始日期，且学期不超过 {TERM_MAX_DAYS} 天")
            }
            ChosenGradeMissing { .. } => "所选年级不存在".into(),
            ChosenVenueMissing { .. } => "所选场地不存在".into(),
            ExceptionsOutsideTerm { days } => format!(
                "修改后有 {} 个放假、调休或停课日落在学期之外，请先删除这些日子",
                days.len()
            ),
            MakeupsOnTeachingWeekdays { .. } => {
                "修改后有调休上课日落在每周上课日上，请先删除这些调休日".into()
            }
            DayOutsideTerm {
                day,
                term,
                starts_on,
                ends_on,
            } => format!("{day} 不在学期“{term}”内（{starts_on} 至 {ends_on}）"),
            MakeupOnTeachingDay { day } => {
                format!("{day} 本来就是上课日，不能设为调休上课日")
            }
            NotASchoolDay { day } => format!("{day} 本来就不上课，无需设为放假或停课"),
            GradeNotFound { .. } => "找不到该年级".into(),
            ClassNotFound { .. } => "找不到该班级".into(),
            VenueNotFound { .. } => "找不到该场地".into(),
            PeriodNotFound { .. } => "找不到该时段".into(),
            TermNotFound { code } => format!("找不到学期“{code}”"),
            NoTerm => "学校尚未设置学期校历".into(),
            DayNotFound { day, .. } => format!("{day} 没有设置放假、调休或停课"),
            GradeLevelTaken { level, grade } => {
                format!("年级序号 {level} 已由年级“{grade}”使用")
            }
            GradeHasClasses { grade, .. } => format!("年级“{grade}”下还有班级，不能删除"),
            ClassHasStudents { class, students } => {
                format!("班级“{class}”还有 {students} 名学生，不能删除")
            }
            ClassInUse { class } => format!("班级“{class}”正被其他记录引用，不能删除"),
            VenueIsClassroom { venue, classes } => format!(
                "场地“{venue}”是{}的班级教室，不能删除",
                classes.join("、")
            ),
            VenueInUse { venue } => format!("场地“{venue}”正被其他记录使用，不能删除"),
            PeriodInUse { period, .. } => {
                format!("时段“{period}”正被其他记录使用，不能删除")
            }
            TermOverlap { other } => format!("与学期“{other}”的日期重叠"),
            GradeLevelAmbiguous { level, .. } => {
                format!("有多个年级的序号都是 {level}，无法确定升入哪个年级")
            }
            PromotionCodeConflict { codes } => {
                format!("升级后班级代码重复：{}", codes.join("、"))
            }
            AlreadyPromoted { school_year } => {
                format!("{school_year} 学年已经升级过，不能重复升级")
            }
            PromotionOutOfOrder {
                school_year,
                latest,
            } => format!("已按 {latest} 学年升级，不能再按更早的 {school_year} 学年升级"),
            GradeCodeTaken { code } => taken("年级", code),
            ClassCodeTaken { code } => taken("班级", code),
            VenueCodeTaken { code } => taken("场地", code),
            PeriodCodeTaken { code } => taken("时段", code),
            TermCodeTaken { code } => taken("学期", code),
            ClassWithoutGrade { .. } | Audit(_) => "服务器内部错误，请稍后重试".into(),
            Db(e) => e.user_message(),
        }
    }

    fn details(&self) -> Value {
        use SchoolError::*;
        match self {
            CodeInvalid { field, value }
            | DateInvalid { field, value }
            | TimeInvalid { field, value } => json!({ "field": field, "value": value }),
            NameInvalid { field } => json!({ "field": field, "max": NAME_MAX }),
            WeekdaysInvalid { field, value } => json!({ "field": field, "value": value }),
            KindInvalid { value, allowed } => {
                json!({ "field": "kind", "value": value, "allowed": allowed })
            }
            LevelInvalid { .. } => {
                json!({ "field": "level", "min": LEVELS.start(), "max": LEVELS.end() })
            }
            CapacityInvalid { .. } => {
                json!({ "field": "capacity", "min": CAPACITY.start(), "max": CAPACITY.end() })
            }
            SchoolYearInvalid { .. } => json!({
                "field": "school_year", "min": SCHOOL_YEARS.start(), "max": SCHOOL_YEARS.end(),
            }),
            PeriodTimesInvalid { starts_at, ends_at } => {
                json!({ "starts_at": hhmm(*starts_at), "ends_at": hhmm(*ends_at) })
            }
            TermDatesInvalid { starts_on, ends_on } => json!({
                "starts_on": starts_on, "ends_on": ends_on, "max_days": TERM_MAX_DAYS,
            }),
            ChosenGradeMissing { id } => json!({ "field": "grade_id", "id": id }),
            ChosenVenueMissing { id } => json!({ "field": "venue_id", "id": id }),
            ExceptionsOutsideTerm { days } | MakeupsOnTeachingWeekdays { days } => {
                json!({ "days": days })
            }
            DayOutsideTerm {
                day,
                starts_on,
                ends_on,
                ..
            } => json!({ "day": day, "starts_on": starts_on, "ends_on": ends_on }),
            MakeupOnTeachingDay { day } | NotASchoolDay { day } => json!({ "day": day }),
            GradeNotFound { id }
            | ClassNotFound { id }
            | VenueNotFound { id }
            | PeriodNotFound { id }
            | PeriodInUse { id, .. } => json!({ "id": id }),
            TermNotFound { code } => json!({ "term": code }),
            DayNotFound { term, day } => json!({ "term": term, "day": day }),
            GradeCodeTaken { code }
            | ClassCodeTaken { code }
            | VenueCodeTaken { code }
            | PeriodCodeTaken { code }
            | TermCodeTaken { code } => json!({ "code": code }),
            GradeLevelTaken { level, grade } => json!({ "level": level, "grade": grade }),
            GradeHasClasses { classes, .. } => json!({ "classes": classes }),
            ClassHasStudents { students, .. } => json!({ "students": students }),
            ClassInUse { .. } => json!({ "students": 0 }),
            VenueIsClassroom { classes, .. } => json!({ "classes": classes }),
            VenueInUse { .. } => json!({ "classes": [] }),
            TermOverlap { other } => json!({ "term": other }),
            GradeLevelAmbiguous { level, grades } => json!({ "level": level, "grades": grades }),
            PromotionCodeConflict { codes } => json!({ "codes": codes }),
            AlreadyPromoted { school_year } => json!({ "school_year": school_year }),
            PromotionOutOfOrder {
                school_year,
                latest,
            } => json!({ "school_year": school_year, "latest": latest }),
            NoTerm | ClassWithoutGrade { .. } | Audit(_) => json!({}),
            Db(e) => e.details(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn refusals_keep_their_codes_classes_and_details() {
        let e = SchoolError::ClassCodeTaken {
            code: "g1c1".into(),
        };
        assert_eq!(
            (e.kind(), e.code(), e.user_message().as_str()),
            (
                ErrorKind::Conflict,
                "CLASS_CODE_TAKEN",
                "班级代码“g1c1”已被使用"
            )
        );
        assert_eq!(e.details(), json!({ "code": "g1c1" }));

        let e = SchoolError::ChosenGradeMissing { id: 7 };
        assert_eq!(
            (e.kind(), e.code()),
            (ErrorKind::Unprocessable, "GRADE_NOT_FOUND")
        );
        assert_eq!(e.details(), json!({ "field": "grade_id", "id": 7 }));

        let e = SchoolError::TermDatesInvalid {
            starts_on: d("2027-02-20"),
            ends_on: d("2027-02-19"),
        };
        assert_eq!(
            e.details(),
            json!({ "starts_on": "2027-02-20", "ends_on": "2027-02-19", "max_days": 200 })
        );
        assert_eq!(
            SchoolError::LevelInvalid { level: 13 }.user_message(),
            "年级序号应在 1 到 12 之间"
        );
        assert_eq!(
            SchoolError::CapacityInvalid { capacity: 0 }.details(),
            json!({ "field": "capacity", "min": 1, "max": 10_000 })
        );
        assert_eq!(
            SchoolError::from(AuditError::Corrupt("head".into())).kind(),
            ErrorKind::Internal
        );
    }

    #[test]
    fn a_day_outside_the_term_names_the_term_and_its_dates() {
        let e = SchoolError::DayOutsideTerm {
            day: d("2027-03-01"),
            term: "2027 春季".into(),
            starts_on: d("2027-02-20"),
            ends_on: d("2027-02-28"),
        };
        assert_eq!(
            e.user_message(),
            "2027-03-01 不在学期“2027 春季”内（2027-02-20 至 2027-02-28）"
        );
        assert_eq!(
            e.details(),
            json!({ "day": "2027-03-01", "starts_on": "2027-02-20", "ends_on": "2027-02-28" })
        );
    }
}
