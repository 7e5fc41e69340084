//! Editing a school's organisation and calendar: grades, classes and the yearly promotion
//! (R-S02), venues, periods, terms and their exception days (R-S05).
//!
//! Each function checks its rules before it writes, maps constraint violations to 409s and
//! records the change with [`TenantTx::audit`] last, inside the caller's transaction. Must
//! never commit: the handler does, so a refused request leaves nothing behind.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveTime};
use poem_openapi::types::MaybeUndefined;
use serde_json::{json, Map, Value};

use super::calendar::{DayKind, TermCalendar};
use super::model::{
    CalendarDay, ClassPatch, ClassRow, ClassView, Code, GradePatch, GradeRow, GradeView, Name,
    NewClass, NewGrade, NewPeriod, NewTerm, NewVenue, PeriodFields, PeriodPatch, PeriodView,
    PromoteRequest, PromotionResult, PromotionStep, PromotionSummary, TermDayRequest, TermFields,
    TermPatch, TermView, VenueFields, VenuePatch, VenueView, Weekdays, NAME_MAX, PERIOD_KINDS,
    VENUE_KINDS,
};
use super::{repo, service};
use crate::audit::{AuditEvent, Outcome};
use crate::error::{ApiError, ErrorKind};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;

/// Longest term, in days (both ends included).
const TERM_MAX_DAYS: i64 = 200;
const LEVELS: std::ops::RangeInclusive<i16> = 1..=12;
const CAPACITY: std::ops::RangeInclusive<i32> = 1..=10_000;
const SCHOOL_YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;
const DAY_KINDS: [&str; 3] = ["holiday", "makeup", "closure"];

// --- errors and parsing -----------------------------------------------------------------

fn unprocessable(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Unprocessable, code, message, details)
}

fn conflict(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Conflict, code, message, details)
}

fn not_found(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::NotFound, code, message, details)
}

fn code_taken(err_code: &str, what: &str, code: &str) -> ApiError {
    conflict(
        err_code,
        format!("{what}代码“{code}”已被使用"),
        json!({ "code": code }),
    )
}

/// `e` as `err` when it is a unique violation (SQLSTATE 23505), else a logged 500.
fn unique_or_internal(e: sqlx::Error, err: impl FnOnce() -> ApiError) -> ApiError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => err(),
        _ => ApiError::internal(e),
    }
}

/// `e` as `err` when it is a foreign-key violation (SQLSTATE 23503), else a logged 500.
fn fk_or_internal(e: sqlx::Error, err: impl FnOnce() -> ApiError) -> ApiError {
    match e.as_database_error() {
        Some(d) if d.is_foreign_key_violation() => err(),
        _ => ApiError::internal(e),
    }
}

fn parse_code(field: &str, s: &str) -> Result<Code, ApiError> {
    Code::parse(s).ok_or_else(|| {
        unprocessable(
            "CODE_INVALID",
            format!(
                "代码“{s}”不合法：须以小写字母或数字开头，只含小写字母、数字、下划线和连字符，最长 32 个字符"
            ),
            json!({ "field": field, "value": s }),
        )
    })
}

fn parse_name(field: &str, s: &str) -> Result<Name, ApiError> {
    Name::parse(s).ok_or_else(|| {
        unprocessable(
            "NAME_INVALID",
            format!("名称不能为空，且不超过 {NAME_MAX} 个字"),
            json!({ "field": field, "max": NAME_MAX }),
        )
    })
}

/// An alias: blank means none.
fn parse_alias(s: &str) -> Result<Option<String>, ApiError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(parse_name("alias", s)?.as_str().to_string()))
}

fn parse_weekdays(field: &str, days: &[i16]) -> Result<Weekdays, ApiError> {
    Weekdays::parse(days).ok_or_else(|| {
        unprocessable(
            "WEEKDAYS_INVALID",
            "星期应为 1（周一）到 7（周日）之间不重复的数字，且至少一天",
            json!({ "field": field, "value": days }),
        )
    })
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        unprocessable(
            "DATE_INVALID",
            format!("日期“{s}”格式不正确，应为 YYYY-MM-DD"),
            json!({ "field": field, "value": s }),
        )
    })
}

fn parse_time(field: &str, s: &str) -> Result<NaiveTime, ApiError> {
    let t = s.trim();
    NaiveTime::parse_from_str(t, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S"))
        .map_err(|_| {
            unprocessable(
                "PERIOD_TIME_INVALID",
                format!("时间“{s}”格式不正确，应为 HH:MM，如 12:00"),
                json!({ "field": field, "value": s }),
            )
        })
}

fn parse_kind(s: &str, allowed: &[&'static str]) -> Result<&'static str, ApiError> {
    allowed.iter().copied().find(|k| *k == s).ok_or_else(|| {
        unprocessable(
            "KIND_INVALID",
            format!("类型“{s}”无效，应为 {}", allowed.join("、")),
            json!({ "field": "kind", "value": s, "allowed": allowed }),
        )
    })
}

/// Adds `{field: {from, to}}` to `out` when the value changed.
fn note_change<T: serde::Serialize + PartialEq>(
    out: &mut Map<String, Value>,
    field: &str,
    from: &T,
    to: &T,
) {
    if from != to {
        out.insert(field.into(), json!({ "from": from, "to": to }));
    }
}

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    object: String,
    details: Value,
) -> Result<(), ApiError> {
    let ev = AuditEvent::new(action, object, Outcome::Success).details(details);
    tx.audit(who.st, who.auth, ev).await
}

// --- grades -----------------------------------------------------------------------------

fn grade_not_found(id: i64) -> ApiError {
    not_found("GRADE_NOT_FOUND", "找不到该年级", json!({ "id": id }))
}

async fn grade_view(tx: &mut TenantTx, g: GradeRow) -> Result<GradeView, ApiError> {
    let classes = repo::classes(tx.conn(), false)
        .await?
        .into_iter()
        .filter(|c| c.grade_id == g.id)
        .collect();
    Ok(GradeView {
        id: g.id,
        code: g.code,
        name: g.name,
        level: g.level,
        classes,
    })
}

pub async fn create_grade(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewGrade,
) -> Result<GradeView, ApiError> {
    let code = parse_code("code", &req.code)?;
    let name = parse_name("name", &req.name)?;
    if !LEVELS.contains(&req.level) {
        return Err(unprocessable(
            "LEVEL_INVALID",
            "年级序号应在 1 到 12 之间",
            json!({ "field": "level", "min": 1, "max": 12 }),
        ));
    }
    // Promotion moves a class to the grade of the next level: two grades of one level
    // would make that ambiguous.
    if let Some(other) = repo::grade_with_level(tx.conn(), req.level).await? {
        return Err(conflict(
            "GRADE_LEVEL_TAKEN",
            format!("年级序号 {} 已由年级“{other}”使用", req.level),
            json!({ "level": req.level, "grade": other }),
        ));
    }
    let g = repo::insert_grade(tx.conn(), code.as_str(), name.as_str(), req.level)
        .await
        .map_err(|e| {
            unique_or_internal(e, || code_taken("GRADE_CODE_TAKEN", "年级", code.as_str()))
        })?;
    record(
        tx,
        who,
        "school.grade.create",
        format!("grade:{}", g.id),
        json!({ "code": g.code, "name": g.name, "level": g.level }),
    )
    .await?;
    Ok(GradeView {
        id: g.id,
        code: g.code,
        name: g.name,
        level: g.level,
        classes: Vec::new(),
    })
}

pub async fn update_grade(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: GradePatch,
) -> Result<GradeView, ApiError> {
    let name = parse_name("name", &req.name)?;
    let mut g = repo::grade(tx.conn(), id)
        .await?
        .ok_or_else(|| grade_not_found(id))?;
    if g.name != name.as_str() {
        repo::rename_grade(tx.conn(), id, name.as_str()).await?;
        record(
            tx,
            who,
            "school.grade.update",
            format!("grade:{id}"),
            json!({ "code": g.code, "name": { "from": g.name, "to": name.as_str() } }),
        )
        .await?;
        g.name = name.as_str().to_string();
    }
    grade_view(tx, g).await
}

pub async fn delete_grade(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), ApiError> {
    let g = repo::grade(tx.conn(), id)
        .await?
        .ok_or_else(|| grade_not_found(id))?;
    let has_classes = |n: i64| {
        conflict(
            "GRADE_HAS_CLASSES",
            format!("年级“{}”下还有班级，不能删除", g.name),
            json!({ "classes": n }),
        )
    };
    let n = repo::count_classes_in_grade(tx.conn(), id).await?;
    if n > 0 {
        return Err(has_classes(n));
    }
    repo::delete_grade(tx.conn(), id)
        .await
        .map_err(|e| fk_or_internal(e, || has_classes(0)))?;
    record(
        tx,
        who,
        "school.grade.delete",
        format!("grade:{id}"),
        json!({ "code": g.code, "name": g.name, "level": g.level }),
    )
    .await
}

// --- classes ----------------------------------------------------------------------------

fn class_not_found(id: i64) -> ApiError {
    not_found("CLASS_NOT_FOUND", "找不到该班级", json!({ "id": id }))
}

/// The venue a class names as its home classroom must exist.
async fn require_venue(tx: &mut TenantTx, id: i64) -> Result<VenueView, ApiError> {
    repo::venue(tx.conn(), id).await?.ok_or_else(|| {
        unprocessable(
            "VENUE_NOT_FOUND",
            "所选场地不存在",
            json!({ "field": "venue_id", "id": id }),
        )
    })
}

async fn class_view(tx: &mut TenantTx, id: i64) -> Result<ClassView, ApiError> {
    repo::class_view(tx.conn(), id)
        .await?
        .ok_or_else(|| class_not_found(id))
}

pub async fn create_class(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewClass,
) -> Result<ClassView, ApiError> {
    let code = parse_code("code", &req.code)?;
    let name = parse_name("name", &req.name)?;
    let alias = match req.alias.as_deref() {
        Some(a) => parse_alias(a)?,
        None => None,
    };
    let grade = repo::grade(tx.conn(), req.grade_id).await?.ok_or_else(|| {
        unprocessable(
            "GRADE_NOT_FOUND",
            "所选年级不存在",
            json!({ "field": "grade_id", "id": req.grade_id }),
        )
    })?;
    if let Some(v) = req.venue_id {
        require_venue(tx, v).await?;
    }
    let id = repo::insert_class(
        tx.conn(),
        grade.id,
        code.as_str(),
        name.as_str(),
        alias.as_deref(),
        req.venue_id,
    )
    .await
    .map_err(|e| unique_or_internal(e, || code_taken("CLASS_CODE_TAKEN", "班级", code.as_str())))?;
    record(
        tx,
        who,
        "school.class.create",
        format!("class:{id}"),
        json!({
            "code": code.as_str(), "name": name.as_str(), "alias": alias,
            "grade": grade.code, "venue_id": req.venue_id,
        }),
    )
    .await?;
    class_view(tx, id).await
}

pub async fn update_class(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: ClassPatch,
) -> Result<ClassView, ApiError> {
    let cur = repo::class_row(tx.conn(), id)
        .await?
        .ok_or_else(|| class_not_found(id))?;
    let name = match req.name.as_deref() {
        Some(n) => parse_name("name", n)?.as_str().to_string(),
        None => cur.name.clone(),
    };
    let alias = match &req.alias {
        MaybeUndefined::Undefined => cur.alias.clone(),
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(a) => parse_alias(a)?,
    };
    let venue_id = match req.venue_id {
        MaybeUndefined::Undefined => cur.venue_id,
        MaybeUndefined::Null => None,
        MaybeUndefined::Value(v) => Some(require_venue(tx, v).await?.id),
    };
    let mut changes = Map::new();
    note_change(&mut changes, "name", &cur.name, &name);
    note_change(&mut changes, "alias", &cur.alias, &alias);
    note_change(&mut changes, "venue_id", &cur.venue_id, &venue_id);
    if !changes.is_empty() {
        repo::update_class(tx.conn(), id, &name, alias.as_deref(), venue_id).await?;
        changes.insert("code".into(), json!(cur.code));
        record(
            tx,
            who,
            "school.class.update",
            format!("class:{id}"),
            Value::Object(changes),
        )
        .await?;
    }
    class_view(tx, id).await
}

pub async fn delete_class(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), ApiError> {
    let cur = repo::class_row(tx.conn(), id)
        .await?
        .ok_or_else(|| class_not_found(id))?;
    let n = repo::count_students_in_class(tx.conn(), id).await?;
    if n > 0 {
        return Err(conflict(
            "CLASS_HAS_STUDENTS",
            format!("班级“{}”还有 {n} 名学生，不能删除", cur.name),
            json!({ "students": n }),
        ));
    }
    repo::delete_class(tx.conn(), id).await.map_err(|e| {
        fk_or_internal(e, || {
            conflict(
                "CLASS_IN_USE",
                format!("班级“{}”正被其他记录引用，不能删除", cur.name),
                json!({ "students": 0 }),
            )
        })
    })?;
    record(
        tx,
        who,
        "school.class.delete",
        format!("class:{id}"),
        json!({ "code": cur.code, "name": cur.name, "alias": cur.alias }),
    )
    .await
}

// --- promotion --------------------------------------------------------------------------

/// One class's part in a promotion.
#[derive(Debug, Clone)]
struct Move {
    step: PromotionStep,
    /// None: the class graduates.
    to_grade_id: Option<i64>,
    from_level: i16,
}

/// `s` with its leading `old` replaced by `new`; unchanged when it does not start with `old`.
fn replace_prefix(s: &str, old: &str, new: &str) -> String {
    match s.strip_prefix(old) {
        Some(rest) if !old.is_empty() => format!("{new}{rest}"),
        _ => s.to_string(),
    }
}

/// What promotion does to every active class, highest grade first: the classes of the
/// highest grade graduate under `<code>@<year>`, the others move to the grade of the next
/// higher level with the grade's code and name prefixes renamed. Refuses plans whose codes
/// would collide (with each other or with graduated classes' codes).
fn plan_promotion(
    grades: &[GradeRow],
    classes: &[ClassRow],
    archived_codes: &[String],
    school_year: i16,
) -> Result<Vec<Move>, ApiError> {
    let by_id: HashMap<i64, &GradeRow> = grades.iter().map(|g| (g.id, g)).collect();
    let mut moves = Vec::with_capacity(classes.len());
    for c in classes {
        let Some(from) = by_id.get(&c.grade_id) else {
            return Err(ApiError::internal(format!(
                "class {} references missing grade {}",
                c.id, c.grade_id
            )));
        };
        let next_level = grades
            .iter()
            .map(|g| g.level)
            .filter(|l| *l > from.level)
            .min();
        let to = match next_level {
            None => None,
            Some(level) => {
                let at: Vec<&GradeRow> = grades.iter().filter(|g| g.level == level).collect();
                if at.len() > 1 {
                    return Err(conflict(
                        "GRADE_LEVEL_AMBIGUOUS",
                        format!("有多个年级的序号都是 {level}，无法确定升入哪个年级"),
                        json!({
                            "level": level,
                            "grades": at.iter().map(|g| g.code.as_str()).collect::<Vec<_>>(),
                        }),
                    ));
                }
                at.first().copied()
            }
        };
        let (new_code, new_name) = match to {
            Some(g) => (
                replace_prefix(&c.code, &from.code, &g.code),
                replace_prefix(&c.name, &from.name, &g.name),
            ),
            None => (format!("{}@{school_year}", c.code), c.name.clone()),
        };
        moves.push(Move {
            step: PromotionStep {
                class_id: c.id,
                code: c.code.clone(),
                new_code,
                name: c.name.clone(),
                new_name,
                alias: c.alias.clone(),
                from_grade: from.code.clone(),
                to_grade: to.map(|g| g.code.clone()),
                graduating: to.is_none(),
                graduating_students: 0,
            },
            to_grade_id: to.map(|g| g.id),
            from_level: from.level,
        });
    }
    moves.sort_by(|a, b| {
        b.from_level
            .cmp(&a.from_level)
            .then_with(|| a.step.code.cmp(&b.step.code))
    });
    let mut seen: HashSet<&str> = archived_codes.iter().map(String::as_str).collect();
    let clashes: Vec<&str> = moves
        .iter()
        .map(|m| m.step.new_code.as_str())
        .filter(|code| !seen.insert(code))
        .collect();
    if !clashes.is_empty() {
        return Err(conflict(
            "PROMOTION_CODE_CONFLICT",
            format!("升级后班级代码重复：{}", clashes.join("、")),
            json!({ "codes": clashes }),
        ));
    }
    Ok(moves)
}

fn already_promoted(school_year: i16) -> ApiError {
    conflict(
        "ALREADY_PROMOTED",
        format!("{school_year} 学年已经升级过，不能重复升级"),
        json!({ "school_year": school_year }),
    )
}

pub async fn promote(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: PromoteRequest,
) -> Result<PromotionResult, ApiError> {
    let year = req.school_year;
    if !SCHOOL_YEARS.contains(&year) {
        return Err(unprocessable(
            "SCHOOL_YEAR_INVALID",
            "学年应在 2000 到 2100 之间",
            json!({ "field": "school_year", "min": 2000, "max": 2100 }),
        ));
    }
    let graduated_on = match req.graduation_date.as_deref() {
        Some(s) => parse_date("graduation_date", s)?,
        None => who.st.clock.today(),
    };
    match repo::latest_promotion(tx.conn()).await? {
        Some(last) if last == year => return Err(already_promoted(year)),
        Some(last) if last > year => {
            return Err(conflict(
                "PROMOTION_OUT_OF_ORDER",
                format!("已按 {last} 学年升级，不能再按更早的 {year} 学年升级"),
                json!({ "school_year": year, "latest": last }),
            ))
        }
        _ => {}
    }
    if !req.dry_run {
        repo::insert_promotion(tx.conn(), year, who.st.clock.now(), who.auth.account_id)
            .await
            .map_err(|e| unique_or_internal(e, || already_promoted(year)))?;
    }
    let grades = repo::grades(tx.conn()).await?;
    let classes = repo::lock_active_classes(tx.conn()).await?;
    let archived = repo::inactive_class_codes(tx.conn()).await?;
    let mut moves = plan_promotion(&grades, &classes, &archived, year)?;

    let graduating: Vec<i64> = moves
        .iter()
        .filter(|m| m.step.graduating)
        .map(|m| m.step.class_id)
        .collect();
    let students: HashMap<i64, i64> = repo::active_students_by_class(tx.conn(), &graduating)
        .await?
        .into_iter()
        .collect();
    for m in moves.iter_mut().filter(|m| m.step.graduating) {
        m.step.graduating_students = students.get(&m.step.class_id).copied().unwrap_or(0);
    }
    let mut summary = PromotionSummary {
        school_year: year,
        promoted: moves.iter().filter(|m| !m.step.graduating).count() as i64,
        graduated_classes: graduating.len() as i64,
        graduated_students: students.values().sum(),
    };

    if !req.dry_run {
        // Highest grade first: each class takes codes the classes above it have just freed.
        for m in &moves {
            let s = &m.step;
            match m.to_grade_id {
                Some(g) => repo::move_class(tx.conn(), s.class_id, g, &s.new_code, &s.new_name)
                    .await
                    .map_err(|e| unique_or_internal(e, || promotion_clash(&s.new_code)))?,
                None => repo::graduate_class(tx.conn(), s.class_id, &s.new_code, graduated_on)
                    .await
                    .map_err(|e| unique_or_internal(e, || promotion_clash(&s.new_code)))?,
            }
        }
        summary.graduated_students = repo::graduate_students(tx.conn(), &graduating).await? as i64;
        let summary_json = json!({
            "promoted": summary.promoted,
            "graduated_classes": summary.graduated_classes,
            "graduated_students": summary.graduated_students,
        });
        repo::set_promotion_summary(tx.conn(), year, &summary_json).await?;
        let mut details = summary_json;
        details["school_year"] = json!(year);
        details["graduation_date"] = json!(graduated_on);
        record(
            tx,
            who,
            "school.class.promote",
            format!("promotion:{year}"),
            details,
        )
        .await?;
    }
    Ok(PromotionResult {
        dry_run: req.dry_run,
        summary,
        plan: moves.into_iter().map(|m| m.step).collect(),
    })
}

fn promotion_clash(code: &str) -> ApiError {
    conflict(
        "PROMOTION_CODE_CONFLICT",
        format!("升级后班级代码重复：{code}"),
        json!({ "codes": [code] }),
    )
}

// --- venues -----------------------------------------------------------------------------

fn venue_not_found(id: i64) -> ApiError {
    not_found("VENUE_NOT_FOUND", "找不到该场地", json!({ "id": id }))
}

fn check_capacity(capacity: i32) -> Result<i32, ApiError> {
    if CAPACITY.contains(&capacity) {
        Ok(capacity)
    } else {
        Err(unprocessable(
            "CAPACITY_INVALID",
            "场地容量应在 1 到 10000 人之间",
            json!({ "field": "capacity", "min": 1, "max": 10_000 }),
        ))
    }
}

pub async fn create_venue(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewVenue,
) -> Result<VenueView, ApiError> {
    let fields = VenueFields {
        code: parse_code("code", &req.code)?.as_str().to_string(),
        name: parse_name("name", &req.name)?.as_str().to_string(),
        kind: parse_kind(&req.kind, &VENUE_KINDS)?.to_string(),
        capacity: check_capacity(req.capacity)?,
    };
    let v = repo::insert_venue(tx.conn(), &fields).await.map_err(|e| {
        unique_or_internal(e, || code_taken("VENUE_CODE_TAKEN", "场地", &fields.code))
    })?;
    record(
        tx,
        who,
        "school.venue.create",
        format!("venue:{}", v.id),
        json!({ "code": v.code, "name": v.name, "kind": v.kind, "capacity": v.capacity }),
    )
    .await?;
    Ok(v)
}

/// Only the fields sent are checked: a value stored before these rules stays as it is.
pub async fn update_venue(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: VenuePatch,
) -> Result<VenueView, ApiError> {
    let cur = repo::venue(tx.conn(), id)
        .await?
        .ok_or_else(|| venue_not_found(id))?;
    let fields = VenueFields {
        code: match req.code.as_deref() {
            Some(c) => parse_code("code", c)?.as_str().to_string(),
            None => cur.code.clone(),
        },
        name: match req.name.as_deref() {
            Some(n) => parse_name("name", n)?.as_str().to_string(),
            None => cur.name.clone(),
        },
        kind: match req.kind.as_deref() {
            Some(k) => parse_kind(k, &VENUE_KINDS)?.to_string(),
            None => cur.kind.clone(),
        },
        capacity: match req.capacity {
            Some(c) => check_capacity(c)?,
            None => cur.capacity,
        },
    };
    let mut changes = Map::new();
    note_change(&mut changes, "code", &cur.code, &fields.code);
    note_change(&mut changes, "name", &cur.name, &fields.name);
    note_change(&mut changes, "kind", &cur.kind, &fields.kind);
    note_change(&mut changes, "capacity", &cur.capacity, &fields.capacity);
    if changes.is_empty() {
        return Ok(cur);
    }
    let v = repo::update_venue(tx.conn(), id, &fields)
        .await
        .map_err(|e| {
            unique_or_internal(e, || code_taken("VENUE_CODE_TAKEN", "场地", &fields.code))
        })?;
    record(
        tx,
        who,
        "school.venue.update",
        format!("venue:{id}"),
        Value::Object(changes),
    )
    .await?;
    Ok(v)
}

pub async fn delete_venue(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), ApiError> {
    let cur = repo::venue(tx.conn(), id)
        .await?
        .ok_or_else(|| venue_not_found(id))?;
    let classes = repo::classes_using_venue(tx.conn(), id).await?;
    if !classes.is_empty() {
        return Err(conflict(
            "VENUE_IN_USE",
            format!(
                "场地“{}”是{}的班级教室，不能删除",
                cur.name,
                classes.join("、")
            ),
            json!({ "classes": classes }),
        ));
    }
    // Later tables (activities, custody rooms) reference venues too.
    repo::delete_venue(tx.conn(), id).await.map_err(|e| {
        fk_or_internal(e, || {
            conflict(
                "VENUE_IN_USE",
                format!("场地“{}”正被其他记录使用，不能删除", cur.name),
                json!({ "classes": [] }),
            )
        })
    })?;
    record(
        tx,
        who,
        "school.venue.delete",
        format!("venue:{id}"),
        json!({ "code": cur.code, "name": cur.name, "kind": cur.kind, "capacity": cur.capacity }),
    )
    .await
}

// --- periods ----------------------------------------------------------------------------

fn period_not_found(id: i64) -> ApiError {
    not_found("PERIOD_NOT_FOUND", "找不到该时段", json!({ "id": id }))
}

fn check_period_times(starts_at: NaiveTime, ends_at: NaiveTime) -> Result<(), ApiError> {
    if ends_at > starts_at {
        return Ok(());
    }
    Err(unprocessable(
        "PERIOD_TIME_INVALID",
        "时段结束时间必须晚于开始时间",
        json!({
            "starts_at": starts_at.format("%H:%M").to_string(),
            "ends_at": ends_at.format("%H:%M").to_string(),
        }),
    ))
}

fn period_details(p: &PeriodView) -> Value {
    json!({
        "code": p.code, "name": p.name, "kind": p.kind,
        "starts_at": p.starts_at.format("%H:%M").to_string(),
        "ends_at": p.ends_at.format("%H:%M").to_string(),
        "weekdays": p.weekdays,
    })
}

pub async fn create_period(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewPeriod,
) -> Result<PeriodView, ApiError> {
    let fields = PeriodFields {
        code: parse_code("code", &req.code)?.as_str().to_string(),
        name: parse_name("name", &req.name)?.as_str().to_string(),
        kind: parse_kind(&req.kind, &PERIOD_KINDS)?.to_string(),
        starts_at: parse_time("starts_at", &req.starts_at)?,
        ends_at: parse_time("ends_at", &req.ends_at)?,
        weekdays: parse_weekdays("weekdays", &req.weekdays)?
            .as_slice()
            .to_vec(),
    };
    check_period_times(fields.starts_at, fields.ends_at)?;
    let p = repo::insert_period(tx.conn(), &fields).await.map_err(|e| {
        unique_or_internal(e, || code_taken("PERIOD_CODE_TAKEN", "时段", &fields.code))
    })?;
    record(
        tx,
        who,
        "school.period.create",
        format!("period:{}", p.id),
        period_details(&p),
    )
    .await?;
    Ok(p)
}

pub async fn update_period(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: PeriodPatch,
) -> Result<PeriodView, ApiError> {
    let cur = repo::period(tx.conn(), id)
        .await?
        .ok_or_else(|| period_not_found(id))?;
    let fields = PeriodFields {
        code: match req.code.as_deref() {
            Some(c) => parse_code("code", c)?.as_str().to_string(),
            None => cur.code.clone(),
        },
        name: match req.name.as_deref() {
            Some(n) => parse_name("name", n)?.as_str().to_string(),
            None => cur.name.clone(),
        },
        kind: match req.kind.as_deref() {
            Some(k) => parse_kind(k, &PERIOD_KINDS)?.to_string(),
            None => cur.kind.clone(),
        },
        starts_at: match req.starts_at.as_deref() {
            Some(t) => parse_time("starts_at", t)?,
            None => cur.starts_at,
        },
        ends_at: match req.ends_at.as_deref() {
            Some(t) => parse_time("ends_at", t)?,
            None => cur.ends_at,
        },
        weekdays: match req.weekdays.as_deref() {
            Some(d) => parse_weekdays("weekdays", d)?.as_slice().to_vec(),
            None => cur.weekdays.clone(),
        },
    };
    check_period_times(fields.starts_at, fields.ends_at)?;
    let p = repo::update_period(tx.conn(), id, &fields)
        .await
        .map_err(|e| {
            unique_or_internal(e, || code_taken("PERIOD_CODE_TAKEN", "时段", &fields.code))
        })?;
    let (before, after) = (period_details(&cur), period_details(&p));
    let mut changes = Map::new();
    for key in ["code", "name", "kind", "starts_at", "ends_at", "weekdays"] {
        note_change(&mut changes, key, &before[key], &after[key]);
    }
    if !changes.is_empty() {
        record(
            tx,
            who,
            "school.period.update",
            format!("period:{id}"),
            Value::Object(changes),
        )
        .await?;
    }
    Ok(p)
}

pub async fn delete_period(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), ApiError> {
    let cur = repo::period(tx.conn(), id)
        .await?
        .ok_or_else(|| period_not_found(id))?;
    // Later tables (custody sessions, bookings) reference periods.
    repo::delete_period(tx.conn(), id).await.map_err(|e| {
        fk_or_internal(e, || {
            conflict(
                "PERIOD_IN_USE",
                format!("时段“{}”正被其他记录使用，不能删除", cur.name),
                json!({ "id": id }),
            )
        })
    })?;
    record(
        tx,
        who,
        "school.period.delete",
        format!("period:{id}"),
        period_details(&cur),
    )
    .await
}

// --- terms and calendar days ------------------------------------------------------------

fn check_term_dates(starts_on: NaiveDate, ends_on: NaiveDate) -> Result<(), ApiError> {
    let days = (ends_on - starts_on).num_days() + 1;
    if !(1..=TERM_MAX_DAYS).contains(&days) {
        return Err(unprocessable(
            "TERM_DATES_INVALID",
            format!("学期结束日期不能早于开始日期，且学期不超过 {TERM_MAX_DAYS} 天"),
            json!({ "starts_on": starts_on, "ends_on": ends_on, "max_days": TERM_MAX_DAYS }),
        ));
    }
    Ok(())
}

/// Terms must not share days: the calendar of a day would be ambiguous.
async fn check_no_overlap(
    tx: &mut TenantTx,
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    except: Option<i64>,
) -> Result<(), ApiError> {
    match repo::overlapping_term(tx.conn(), starts_on, ends_on, except).await? {
        Some(other) => Err(conflict(
            "TERM_OVERLAP",
            format!("与学期“{other}”的日期重叠"),
            json!({ "term": other }),
        )),
        None => Ok(()),
    }
}

async fn term(tx: &mut TenantTx, code: &str) -> Result<super::model::TermRow, ApiError> {
    repo::term_by_code(tx.conn(), code)
        .await?
        .ok_or_else(|| service::term_not_found(code))
}

fn term_details(t: &TermFields) -> Value {
    json!({
        "code": t.code, "name": t.name, "starts_on": t.starts_on, "ends_on": t.ends_on,
        "teaching_weekdays": t.teaching_weekdays,
    })
}

pub async fn create_term(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewTerm,
) -> Result<TermView, ApiError> {
    let fields = TermFields {
        code: parse_code("code", &req.code)?.as_str().to_string(),
        name: parse_name("name", &req.name)?.as_str().to_string(),
        starts_on: parse_date("starts_on", &req.starts_on)?,
        ends_on: parse_date("ends_on", &req.ends_on)?,
        teaching_weekdays: parse_weekdays("teaching_weekdays", &req.teaching_weekdays)?
            .as_slice()
            .to_vec(),
    };
    check_term_dates(fields.starts_on, fields.ends_on)?;
    check_no_overlap(tx, fields.starts_on, fields.ends_on, None).await?;
    let t = repo::insert_term(tx.conn(), &fields).await.map_err(|e| {
        unique_or_internal(e, || code_taken("TERM_CODE_TAKEN", "学期", &fields.code))
    })?;
    record(
        tx,
        who,
        "school.term.create",
        format!("term:{}", t.id),
        term_details(&fields),
    )
    .await?;
    let cal = service::term_calendar(tx, &t).await?;
    Ok(service::term_view(&t, &cal))
}

/// Refuses a change that would leave an exception outside the term, or a make-up day on
/// what becomes a teaching weekday.
pub async fn update_term(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    req: TermPatch,
) -> Result<TermView, ApiError> {
    let cur = term(tx, code).await?;
    let fields = TermFields {
        code: cur.code.clone(),
        name: match req.name.as_deref() {
            Some(n) => parse_name("name", n)?.as_str().to_string(),
            None => cur.name.clone(),
        },
        starts_on: match req.starts_on.as_deref() {
            Some(d) => parse_date("starts_on", d)?,
            None => cur.starts_on,
        },
        ends_on: match req.ends_on.as_deref() {
            Some(d) => parse_date("ends_on", d)?,
            None => cur.ends_on,
        },
        teaching_weekdays: match req.teaching_weekdays.as_deref() {
            Some(d) => parse_weekdays("teaching_weekdays", d)?.as_slice().to_vec(),
            None => cur.teaching_weekdays.clone(),
        },
    };
    check_term_dates(fields.starts_on, fields.ends_on)?;
    check_no_overlap(tx, fields.starts_on, fields.ends_on, Some(cur.id)).await?;
    let mut cal = service::term_calendar(tx, &cur).await?;
    cal.starts_on = fields.starts_on;
    cal.ends_on = fields.ends_on;
    cal.teaching_weekdays = fields.teaching_weekdays.clone();
    check_exceptions_fit(&cal)?;

    let before = term_details(&TermFields {
        code: cur.code.clone(),
        name: cur.name.clone(),
        starts_on: cur.starts_on,
        ends_on: cur.ends_on,
        teaching_weekdays: cur.teaching_weekdays.clone(),
    });
    let after = term_details(&fields);
    let mut changes = Map::new();
    for key in ["name", "starts_on", "ends_on", "teaching_weekdays"] {
        note_change(&mut changes, key, &before[key], &after[key]);
    }
    if changes.is_empty() {
        return Ok(service::term_view(&cur, &cal));
    }
    let t = repo::update_term(tx.conn(), cur.id, &fields).await?;
    changes.insert("code".into(), json!(t.code));
    record(
        tx,
        who,
        "school.term.update",
        format!("term:{}", t.id),
        Value::Object(changes),
    )
    .await?;
    Ok(service::term_view(&t, &cal))
}

/// Every stored exception must stay inside the term, and every make-up day off the
/// teaching weekdays.
fn check_exceptions_fit(cal: &TermCalendar) -> Result<(), ApiError> {
    let mut outside: Vec<NaiveDate> = Vec::new();
    let mut makeups: Vec<NaiveDate> = Vec::new();
    for (day, (kind, _)) in &cal.exceptions {
        match cal.weekly_kind(*day) {
            DayKind::OutsideTerm => outside.push(*day),
            DayKind::Teaching if *kind == DayKind::Makeup => makeups.push(*day),
            _ => {}
        }
    }
    outside.sort();
    makeups.sort();
    if !outside.is_empty() {
        return Err(unprocessable(
            "EXCEPTION_OUTSIDE_TERM",
            format!(
                "修改后有 {} 个放假、调休或停课日落在学期之外，请先删除这些日子",
                outside.len()
            ),
            json!({ "days": outside }),
        ));
    }
    if !makeups.is_empty() {
        return Err(unprocessable(
            "MAKEUP_ON_TEACHING_DAY",
            "修改后有调休上课日落在每周上课日上，请先删除这些调休日",
            json!({ "days": makeups }),
        ));
    }
    Ok(())
}

/// Sets or replaces the exception of one day of the term: a holiday or closure takes a day
/// school would run by the weekly rule; a make-up day (调休上课) one it would not.
pub async fn set_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    date: &str,
    req: TermDayRequest,
) -> Result<CalendarDay, ApiError> {
    let day = parse_date("date", date)?;
    let kind_str = parse_kind(&req.kind, &DAY_KINDS)?;
    let name = parse_name("name", &req.name)?;
    let t = term(tx, code).await?;
    let mut cal = service::term_calendar(tx, &t).await?;
    let kind = DayKind::parse_exception(kind_str).unwrap_or(DayKind::Holiday);
    match (cal.weekly_kind(day), kind) {
        (DayKind::OutsideTerm, _) => {
            return Err(unprocessable(
                "DAY_OUTSIDE_TERM",
                format!(
                    "{day} 不在学期“{}”内（{} 至 {}）",
                    t.name, t.starts_on, t.ends_on
                ),
                json!({ "day": day, "starts_on": t.starts_on, "ends_on": t.ends_on }),
            ))
        }
        (DayKind::Teaching, DayKind::Makeup) => {
            return Err(unprocessable(
                "MAKEUP_ON_TEACHING_DAY",
                format!("{day} 本来就是上课日，不能设为调休上课日"),
                json!({ "day": day }),
            ))
        }
        (weekly, DayKind::Holiday | DayKind::Closure) if weekly != DayKind::Teaching => {
            return Err(unprocessable(
                "NOT_A_SCHOOL_DAY",
                format!("{day} 本来就不上课，无需设为放假或停课"),
                json!({ "day": day }),
            ))
        }
        _ => {}
    }
    repo::upsert_exception(tx.conn(), t.id, day, kind_str, name.as_str()).await?;
    let previous = cal
        .exceptions
        .insert(day, (kind, name.as_str().to_string()))
        .map(|(k, n)| json!({ "kind": k.as_str(), "name": n }));
    record(
        tx,
        who,
        "school.term.day_set",
        format!("term:{}", t.id),
        json!({
            "term": t.code, "day": day, "kind": kind_str, "name": name.as_str(),
            "previous": previous,
        }),
    )
    .await?;
    Ok(service::calendar_day(&cal, day))
}

/// Removes the exception of one day: the weekly rule applies to it again.
pub async fn delete_day(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    code: &str,
    date: &str,
) -> Result<CalendarDay, ApiError> {
    let day = parse_date("date", date)?;
    let t = term(tx, code).await?;
    let mut cal = service::term_calendar(tx, &t).await?;
    let Some((kind, name)) = cal.exceptions.remove(&day) else {
        return Err(not_found(
            "DAY_NOT_FOUND",
            format!("{day} 没有设置放假、调休或停课"),
            json!({ "term": t.code, "day": day }),
        ));
    };
    repo::delete_exception(tx.conn(), t.id, day).await?;
    record(
        tx,
        who,
        "school.term.day_delete",
        format!("term:{}", t.id),
        json!({
            "term": t.code, "day": day,
            "previous": { "kind": kind.as_str(), "name": name },
        }),
    )
    .await?;
    Ok(service::calendar_day(&cal, day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grade(id: i64, level: i16) -> GradeRow {
        let names = [
            "",
            "一年级",
            "二年级",
            "三年级",
            "四年级",
            "五年级",
            "六年级",
        ];
        GradeRow {
            id,
            code: format!("g{level}"),
            name: names[level as usize].to_string(),
            level,
        }
    }

    fn class(id: i64, grade_id: i64, code: &str, name: &str) -> ClassRow {
        ClassRow {
            id,
            grade_id,
            code: code.into(),
            name: name.into(),
            alias: Some("向日葵班".into()),
            status: "active".into(),
            venue_id: None,
        }
    }

    #[test]
    fn classes_move_up_with_renamed_prefixes_and_the_top_grade_graduates() {
        let grades = [grade(1, 1), grade(2, 2), grade(3, 3)];
        let classes = [
            class(10, 1, "g1c1", "一年级1班"),
            class(20, 2, "g2c1", "二年级1班"),
            class(30, 3, "g3c1", "三年级1班"),
            class(11, 1, "chorus", "合唱班"),
        ];

        let plan = plan_promotion(&grades, &classes, &[], 2027).unwrap();

        let steps: Vec<(&str, &str, &str, bool)> = plan
            .iter()
            .map(|m| {
                (
                    m.step.code.as_str(),
                    m.step.new_code.as_str(),
                    m.step.new_name.as_str(),
                    m.step.graduating,
                )
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("g3c1", "g3c1@2027", "三年级1班", true),
                ("g2c1", "g3c1", "三年级1班", false),
                ("chorus", "chorus", "合唱班", false),
                ("g1c1", "g2c1", "二年级1班", false),
            ]
        );
        assert!(plan
            .iter()
            .all(|m| m.step.alias.as_deref() == Some("向日葵班")));
    }

    #[test]
    fn a_gap_in_levels_moves_to_the_next_existing_level() {
        let grades = [grade(1, 1), grade(3, 3)];
        let plan =
            plan_promotion(&grades, &[class(10, 1, "g1c1", "一年级1班")], &[], 2027).unwrap();
        assert_eq!(plan[0].to_grade_id, Some(3));
        assert_eq!(plan[0].step.new_code, "g3c1");
    }

    #[test]
    fn colliding_codes_are_refused_before_anything_is_written() {
        let grades = [grade(1, 1), grade(2, 2)];
        let classes = [class(30, 2, "g2c1", "二年级1班")];
        let err = plan_promotion(&grades, &classes, &["g2c1@2027".into()], 2027).unwrap_err();
        assert_eq!(err.body().code, "PROMOTION_CODE_CONFLICT");
    }

    #[test]
    fn two_grades_on_the_next_level_are_ambiguous() {
        let mut twin = grade(3, 2);
        twin.code = "g2b".into();
        let grades = [grade(1, 1), grade(2, 2), twin];
        let err =
            plan_promotion(&grades, &[class(10, 1, "g1c1", "一年级1班")], &[], 2027).unwrap_err();
        assert_eq!(err.body().code, "GRADE_LEVEL_AMBIGUOUS");
    }

    #[test]
    fn prefixes_are_replaced_only_at_the_start() {
        assert_eq!(replace_prefix("g3c2", "g3", "g4"), "g4c2");
        assert_eq!(replace_prefix("三年级2班", "三年级", "四年级"), "四年级2班");
        assert_eq!(replace_prefix("art-g3", "g3", "g4"), "art-g3");
        assert_eq!(replace_prefix("x", "", "g4"), "x");
    }

    #[test]
    fn a_term_is_one_to_two_hundred_days() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(check_term_dates(d("2027-02-20"), d("2027-02-20")).is_ok());
        assert!(check_term_dates(d("2027-02-20"), d("2027-09-07")).is_ok()); // 200 days
        assert!(check_term_dates(d("2027-02-20"), d("2027-09-08")).is_err());
        assert!(check_term_dates(d("2027-02-20"), d("2027-02-19")).is_err());
    }
}
