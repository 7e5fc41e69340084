//! Rules of courses: the one validation path shared by create and update, the series
//! (parent and sub-items) rules, the draft → published → closed life cycle, pictures in the
//! object store, and who sees which courses.
//!
//! Every function checks its rules before it writes and records the change with
//! [`TenantTx::audit`] last, inside the caller's transaction. Must never commit: the handler
//! does, so a refused request leaves nothing behind.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use poem_openapi::types::MaybeUndefined;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::model::*;
use super::repo::{self, CourseFilter, CourseViewRow};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::Role;
use crate::error::{ApiError, ErrorKind};
use crate::school::config::Actor;
use crate::school::model::{TermRow, Weekdays};
use crate::school::repo as school_repo;
use crate::storage::{sniff, ContentKind, ObjectKey, StorageError, StoredObject, UploadPolicy};
use crate::tenancy::context::TenantTx;

const ALL_STATUSES: [&str; 3] = ["draft", "published", "closed"];
const PUBLISHED_ONLY: [&str; 1] = ["published"];

// --- errors -------------------------------------------------------------------------------

fn unprocessable(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Unprocessable, code, message, details)
}

fn conflict(code: &str, message: impl Into<String>, details: Value) -> ApiError {
    ApiError::new(ErrorKind::Conflict, code, message, details)
}

fn course_not_found(id: i64) -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "COURSE_NOT_FOUND",
        "找不到该课程",
        json!({ "id": id }),
    )
}

fn schedule_invalid(message: impl Into<String>, details: Value) -> ApiError {
    unprocessable("SCHEDULE_INVALID", message, details)
}

fn reg_window_invalid(message: impl Into<String>, details: Value) -> ApiError {
    unprocessable("REG_WINDOW_INVALID", message, details)
}

fn series_invalid(message: impl Into<String>, parent_code: &str) -> ApiError {
    unprocessable(
        "SERIES_INVALID",
        message,
        json!({ "field": "parent_code", "value": parent_code }),
    )
}

fn code_taken(code: &str) -> ApiError {
    conflict(
        "COURSE_CODE_TAKEN",
        format!("课程代码“{code}”已被使用"),
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

/// The store's refusals as the user sees them. A key the server built itself that the
/// store calls invalid is our bug, not the user's.
fn storage_error(e: StorageError) -> ApiError {
    match &e {
        StorageError::UnsupportedContent => unprocessable(
            e.code(),
            "只能上传 JPEG、PNG 或 WebP 格式的图片",
            json!({ "allowed": ["image/jpeg", "image/png", "image/webp"] }),
        ),
        StorageError::TooLarge { max_bytes, .. } => unprocessable(
            e.code(),
            e.user_message(),
            json!({ "max_bytes": max_bytes }),
        ),
        StorageError::Empty | StorageError::ContentTypeMismatch { .. } => {
            unprocessable(e.code(), e.user_message(), json!({}))
        }
        StorageError::NotFound(_) => picture_not_found(),
        StorageError::Backend(_) => {
            tracing::error!(error = %e, "object store failed");
            ApiError::new(
                ErrorKind::Unavailable,
                e.code(),
                e.user_message(),
                json!({}),
            )
        }
        StorageError::InvalidKey(_) | StorageError::Config(_) => ApiError::internal(e),
    }
}

fn picture_not_found() -> ApiError {
    ApiError::new(
        ErrorKind::NotFound,
        "PICTURE_NOT_FOUND",
        "找不到该图片",
        json!({}),
    )
}

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    course_id: i64,
    details: Value,
) -> Result<(), ApiError> {
    let ev =
        AuditEvent::new(action, format!("course:{course_id}"), Outcome::Success).details(details);
    tx.audit(who.st, who.auth, ev).await
}

// --- the one validation path --------------------------------------------------------------

/// The refusals found while checking one request, all reported at once so that a form
/// shows every wrong field together (issue 13 item 9). A failure of the server itself
/// stops the check at once.
#[derive(Default)]
struct Problems(Vec<ApiError>);

impl Problems {
    /// The value, or `None` with the refusal kept.
    fn take<T>(&mut self, r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e @ (ApiError::Internal(_) | ApiError::Unavailable(_))) => Err(e),
            Err(e) => {
                self.0.push(e);
                Ok(None)
            }
        }
    }

    /// Nothing found, or the first refusal (its code, message and details, so a client
    /// that reads one error still reads the same one) with `details.errors` listing every
    /// refusal as `{code, message, field}` when there is more than one.
    fn finish(self) -> Result<(), ApiError> {
        let mut all = self.0.into_iter();
        let Some(first) = all.next() else {
            return Ok(());
        };
        let rest: Vec<ApiError> = all.collect();
        if rest.is_empty() {
            return Err(first);
        }
        let entry = |e: &ApiError| {
            let b = e.body();
            json!({ "code": b.code, "message": b.message, "field": b.details.get("field"), "details": b.details })
        };
        let b = first.body();
        let mut details = match &b.details {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let errors: Vec<Value> = std::iter::once(&first).chain(&rest).map(entry).collect();
        details.insert("errors".into(), Value::Array(errors));
        let kind = match first {
            ApiError::Conflict(_) => ErrorKind::Conflict,
            ApiError::NotFound(_) => ErrorKind::NotFound,
            _ => ErrorKind::Unprocessable,
        };
        Err(ApiError::new(
            kind,
            &b.code,
            format!("{}（共 {} 处需要修改）", b.message, rest.len() + 1),
            Value::Object(details),
        ))
    }
}

/// A course's fields as the caller typed them (create), or as stored with the caller's
/// changes laid over them (update).
struct Input {
    class_type: CourseClassType,
    name: String,
    category: String,
    intro: String,
    weekdays: Vec<i16>,
    starts_at: String,
    ends_at: String,
    starts_on: Option<String>,
    ends_on: Option<String>,
    capacity: i32,
    price: String,
    pricing: CoursePricing,
    eligible_levels: Vec<i16>,
    reg_opens_at: String,
    reg_closes_at: String,
    allocation: CourseAllocation,
    hold_minutes: i32,
}

/// [`Input`] with every value checked on its own and against the others; dates not yet
/// placed in the term.
struct Checked {
    class_type: CourseClassType,
    name: CourseName,
    category: Category,
    intro: Intro,
    weekdays: Weekdays,
    starts_at: NaiveTime,
    ends_at: NaiveTime,
    starts_on: Option<NaiveDate>,
    ends_on: Option<NaiveDate>,
    capacity: Capacity,
    price: Price,
    pricing: CoursePricing,
    levels: EligibleLevels,
    reg_opens_at: DateTime<Utc>,
    reg_closes_at: DateTime<Utc>,
    allocation: CourseAllocation,
    hold_minutes: HoldMinutes,
}

fn check_time(field: &str, s: &str) -> Result<NaiveTime, ApiError> {
    parse_time(s).ok_or_else(|| {
        schedule_invalid(
            format!("时间“{s}”格式不正确，应为 HH:MM，如 16:30"),
            json!({ "field": field, "value": s }),
        )
    })
}

fn check_date(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(s) = s else { return Ok(None) };
    parse_date(s).map(Some).ok_or_else(|| {
        schedule_invalid(
            format!("日期“{s}”格式不正确，应为 YYYY-MM-DD"),
            json!({ "field": field, "value": s }),
        )
    })
}

fn check_instant(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_instant(s).ok_or_else(|| {
        reg_window_invalid(
            format!("报名时间“{s}”格式不正确，应为 RFC 3339，如 2026-08-20T09:00:00+08:00"),
            json!({ "field": field, "value": s }),
        )
    })
}

/// Every value of `i` checked, each refusal kept in `p`; the checked course only when all
/// of it is right.
fn check_input(i: &Input, p: &mut Problems) -> Result<Option<Checked>, ApiError> {
    let name = p.take(CourseName::parse(&i.name).ok_or_else(|| {
        unprocessable(
            "NAME_INVALID",
            format!("班级名称不能为空，且不超过 {NAME_MAX} 个字"),
            json!({ "field": "name", "max": NAME_MAX }),
        )
    }))?;
    let category = p.take(Category::parse(&i.category).ok_or_else(|| {
        unprocessable(
            "NAME_INVALID",
            format!("培训类目不能为空，且不超过 {CATEGORY_MAX} 个字"),
            json!({ "field": "category", "max": CATEGORY_MAX }),
        )
    }))?;
    let intro = p.take(Intro::parse(&i.intro).ok_or_else(|| {
        unprocessable(
            "INTRO_INVALID",
            format!("简介不超过 {INTRO_MAX} 个字"),
            json!({ "field": "intro", "max": INTRO_MAX }),
        )
    }))?;
    let weekdays = p.take(Weekdays::parse(&i.weekdays).ok_or_else(|| {
        unprocessable(
            "WEEKDAYS_INVALID",
            "上课星期应为 1（周一）到 7（周日）之间不重复的数字，且至少一天",
            json!({ "field": "weekdays", "value": i.weekdays }),
        )
    }))?;
    let starts_at = p.take(check_time("starts_at", &i.starts_at))?;
    let ends_at = p.take(check_time("ends_at", &i.ends_at))?;
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            p.take::<()>(Err(schedule_invalid(
                "下课时间必须晚于上课时间",
                json!({
                    "starts_at": s.format("%H:%M").to_string(),
                    "ends_at": e.format("%H:%M").to_string(),
                }),
            )))?;
        }
    }
    let starts_on = p.take(check_date("starts_on", i.starts_on.as_deref()))?;
    let ends_on = p.take(check_date("ends_on", i.ends_on.as_deref()))?;
    let capacity = p.take(Capacity::parse(i.capacity).ok_or_else(|| {
        unprocessable(
            "CAPACITY_INVALID",
            format!("开班规模应在 1 到 {} 人之间", Capacity::MAX),
            json!({ "field": "capacity", "value": i.capacity, "min": 1, "max": Capacity::MAX }),
        )
    }))?;
    let price = p.take(Price::parse(&i.price).ok_or_else(|| {
        unprocessable(
            "PRICE_INVALID",
            format!(
                "价格应为 0 到 {} 元之间的金额，最多两位小数，如 120.00",
                Price::MAX_YUAN
            ),
            json!({ "field": "price", "value": i.price, "max": Price::MAX_YUAN }),
        )
    }))?;
    if i.pricing != i.class_type.pricing() {
        p.take::<()>(Err(unprocessable(
            "PRICING_MISMATCH",
            "托管班须按天计费（per_day），培训班须按课程计费（per_course）",
            json!({
                "class_type": i.class_type.as_str(),
                "pricing": i.pricing.as_str(),
                "expected": i.class_type.pricing().as_str(),
            }),
        )))?;
    }
    let levels = p.take(EligibleLevels::parse(&i.eligible_levels).ok_or_else(|| {
        unprocessable(
            "LEVELS_INVALID",
            "可报名年级应为 1 到 9 之间不重复的年级序号，且至少一个",
            json!({ "field": "eligible_levels", "value": i.eligible_levels }),
        )
    }))?;
    let reg_opens_at = p.take(check_instant("reg_opens_at", &i.reg_opens_at))?;
    let reg_closes_at = p.take(check_instant("reg_closes_at", &i.reg_closes_at))?;
    if let (Some(o), Some(c)) = (reg_opens_at, reg_closes_at) {
        if c <= o {
            p.take::<()>(Err(reg_window_invalid(
                "报名截止时间必须晚于报名开始时间",
                json!({ "reg_opens_at": o, "reg_closes_at": c }),
            )))?;
        }
    }
    let hold_minutes = p.take(HoldMinutes::parse(i.hold_minutes).ok_or_else(|| {
        unprocessable(
            "HOLD_INVALID",
            "名额保留时间应在 5 到 1440 分钟之间",
            json!({ "field": "hold_minutes", "value": i.hold_minutes, "min": 5, "max": 1440 }),
        )
    }))?;
    if !p.0.is_empty() {
        return Ok(None);
    }
    let (
        Some(name),
        Some(category),
        Some(intro),
        Some(weekdays),
        Some(starts_at),
        Some(ends_at),
        Some(starts_on),
        Some(ends_on),
        Some(capacity),
        Some(price),
        Some(levels),
        Some(reg_opens_at),
        Some(reg_closes_at),
        Some(hold_minutes),
    ) = (
        name,
        category,
        intro,
        weekdays,
        starts_at,
        ends_at,
        starts_on,
        ends_on,
        capacity,
        price,
        levels,
        reg_opens_at,
        reg_closes_at,
        hold_minutes,
    )
    else {
        return Ok(None);
    };
    Ok(Some(Checked {
        class_type: i.class_type,
        name,
        category,
        intro,
        weekdays,
        starts_at,
        ends_at,
        starts_on,
        ends_on,
        capacity,
        price,
        pricing: i.pricing,
        levels,
        reg_opens_at,
        reg_closes_at,
        allocation: i.allocation,
        hold_minutes,
    }))
}

/// The course's dates, by default the term's. Dates the caller sent must lie within the
/// term; registration must close by the time the course ends.
fn place_in_term(
    c: &Checked,
    term: &TermRow,
    dates_sent: bool,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let starts_on = c.starts_on.unwrap_or(term.starts_on);
    let ends_on = c.ends_on.unwrap_or(term.ends_on);
    if ends_on < starts_on {
        return Err(schedule_invalid(
            "结课日期不能早于开课日期",
            json!({ "starts_on": starts_on, "ends_on": ends_on }),
        ));
    }
    if dates_sent && (starts_on < term.starts_on || ends_on > term.ends_on) {
        return Err(schedule_invalid(
            format!(
                "开课和结课日期须在学期“{}”内（{} 至 {}）",
                term.name, term.starts_on, term.ends_on
            ),
            json!({
                "starts_on": starts_on, "ends_on": ends_on,
                "term_starts_on": term.starts_on, "term_ends_on": term.ends_on,
            }),
        ));
    }
    let course_end = china_instant(ends_on, c.ends_at)
        .ok_or_else(|| ApiError::internal("no China Standard Time offset"))?;
    if c.reg_closes_at > course_end {
        return Err(reg_window_invalid(
            format!(
                "报名截止时间不能晚于课程结束时间（{ends_on} {}）",
                c.ends_at.format("%H:%M")
            ),
            json!({ "reg_closes_at": c.reg_closes_at, "course_ends_at": course_end }),
        ));
    }
    Ok((starts_on, ends_on))
}

fn term_not_found(code: &str) -> ApiError {
    unprocessable(
        "TERM_NOT_FOUND",
        format!("找不到学期“{code}”"),
        json!({ "field": "term_code", "value": code }),
    )
}

async fn check_period(tx: &mut TenantTx, id: i64) -> Result<i64, ApiError> {
    match school_repo::period(tx.conn(), id).await? {
        Some(p) => Ok(p.id),
        None => Err(unprocessable(
            "PERIOD_NOT_FOUND",
            "所选开班时段不存在",
            json!({ "field": "period_id", "id": id }),
        )),
    }
}

async fn check_venue(tx: &mut TenantTx, id: i64) -> Result<i64, ApiError> {
    match school_repo::venue(tx.conn(), id).await? {
        Some(v) => Ok(v.id),
        None => Err(unprocessable(
            "VENUE_NOT_FOUND",
            "所选场地不存在",
            json!({ "field": "venue_id", "id": id }),
        )),
    }
}

/// Every eligible level must be a grade the school has.
async fn check_levels_exist(tx: &mut TenantTx, levels: &EligibleLevels) -> Result<(), ApiError> {
    let have: Vec<i16> = school_repo::grades(tx.conn())
        .await?
        .into_iter()
        .map(|g| g.level)
        .collect();
    let missing: Vec<i16> = levels
        .as_slice()
        .iter()
        .copied()
        .filter(|l| !have.contains(l))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(unprocessable(
        "LEVELS_INVALID",
        format!(
            "本校没有序号为 {} 的年级",
            missing
                .iter()
                .map(i16::to_string)
                .collect::<Vec<_>>()
                .join("、")
        ),
        json!({ "field": "eligible_levels", "missing": missing }),
    ))
}

/// The teachers, each an active staff member of the school; sorted, without repeats.
async fn check_teachers(tx: &mut TenantTx, ids: &[i64]) -> Result<Vec<i64>, ApiError> {
    let mut want = ids.to_vec();
    want.sort_unstable();
    want.dedup();
    let found = repo::active_staff(tx.conn(), &want).await?;
    let missing: Vec<i64> = want
        .iter()
        .copied()
        .filter(|id| !found.contains(id))
        .collect();
    if !missing.is_empty() {
        return Err(unprocessable(
            "TEACHER_NOT_FOUND",
            "所选授课教师不存在或已离职",
            json!({ "field": "teacher_ids", "missing": missing }),
        ));
    }
    Ok(want)
}

/// The id of the series course named `parent_code`, for a course of `term_id` (`child`:
/// the course itself when it exists already). A sub-item shares its parent's term, and
/// series are one level deep: a sub-item cannot be a parent, nor a parent a sub-item.
async fn series_parent(
    tx: &mut TenantTx,
    parent_code: &str,
    term_id: i64,
    child: Option<i64>,
) -> Result<i64, ApiError> {
    let Some(p) = repo::course_by_code(tx.conn(), parent_code).await? else {
        return Err(series_invalid(
            format!("找不到系列课程“{parent_code}”"),
            parent_code,
        ));
    };
    if child == Some(p.id) {
        return Err(series_invalid("课程不能作为自己的子项目", parent_code));
    }
    if p.parent_id.is_some() {
        return Err(series_invalid(
            format!("“{}”本身是子项目，不能再包含子项目", p.name),
            parent_code,
        ));
    }
    if p.term_id != term_id {
        return Err(series_invalid(
            format!("子项目须与系列课程“{}”在同一学期", p.name),
            parent_code,
        ));
    }
    if p.status == CourseStatus::Closed.as_str() {
        return Err(series_invalid(
            format!("系列课程“{}”已关闭，不能再添加子项目", p.name),
            parent_code,
        ));
    }
    if let Some(id) = child {
        if repo::count_sub_items(tx.conn(), id).await? > 0 {
            return Err(series_invalid(
                "该课程本身是系列课程（已有子项目），不能作为其他课程的子项目",
                parent_code,
            ));
        }
    }
    Ok(p.id)
}

fn fields_of(
    code: String,
    term_id: i64,
    parent_id: Option<i64>,
    c: Checked,
    (starts_on, ends_on): (NaiveDate, NaiveDate),
    (period_id, venue_id): (Option<i64>, Option<i64>),
) -> CourseFields {
    CourseFields {
        code,
        parent_id,
        class_type: c.class_type,
        name: c.name.as_str().to_string(),
        category: c.category.as_str().to_string(),
        intro: c.intro.as_str().to_string(),
        term_id,
        period_id,
        venue_id,
        weekdays: c.weekdays.as_slice().to_vec(),
        starts_at: c.starts_at,
        ends_at: c.ends_at,
        starts_on,
        ends_on,
        capacity: c.capacity.get(),
        price: c.price.get(),
        pricing: c.pricing,
        eligible_levels: c.levels.as_slice().to_vec(),
        reg_opens_at: c.reg_opens_at,
        reg_closes_at: c.reg_closes_at,
        allocation: c.allocation,
        hold_minutes: c.hold_minutes.get(),
    }
}

/// The fields as the audit trail records them.
fn details(f: &CourseFields, teacher_ids: &[i64]) -> Map<String, Value> {
    let v = json!({
        "code": f.code, "parent_id": f.parent_id, "class_type": f.class_type.as_str(),
        "name": f.name, "category": f.category, "intro": f.intro, "term_id": f.term_id,
        "period_id": f.period_id, "venue_id": f.venue_id, "weekdays": f.weekdays,
        "starts_at": f.starts_at.format("%H:%M").to_string(),
        "ends_at": f.ends_at.format("%H:%M").to_string(),
        "starts_on": f.starts_on, "ends_on": f.ends_on, "capacity": f.capacity,
        "price": Price::display(f.price), "pricing": f.pricing.as_str(),
        "eligible_levels": f.eligible_levels, "reg_opens_at": f.reg_opens_at,
        "reg_closes_at": f.reg_closes_at, "allocation": f.allocation.as_str(),
        "hold_minutes": f.hold_minutes, "teacher_ids": teacher_ids,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

// --- create and update ----------------------------------------------------------------------

/// A code for a course created without one (`c0001`, `c0002`, …: the first number no
/// course of the school uses). Two admins saving at the same instant may pick the same
/// number; the unique index refuses the second with `COURSE_CODE_TAKEN`, and saving again
/// picks the next.
async fn generated_code(tx: &mut TenantTx) -> Result<String, ApiError> {
    let mut n = repo::course_count(tx.conn()).await? + 1;
    loop {
        let code = format!("c{n:04}");
        if repo::course_by_code(tx.conn(), &code).await?.is_none() {
            return Ok(code);
        }
        n += 1;
    }
}

pub async fn create(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewCourse,
) -> Result<CourseView, ApiError> {
    let mut p = Problems::default();
    let code = match req.code.trim() {
        // School staff need not invent an ASCII code: one is made up when none is given.
        "" => Some(generated_code(tx).await?),
        typed => p
            .take(CourseCode::parse(typed).ok_or_else(|| {
                unprocessable(
                    "COURSE_CODE_INVALID",
                    format!(
                        "课程代码“{}”不合法：须以小写字母或数字开头，只含小写字母、数字、下划线和连字符，最长 32 个字符；也可以不填，由系统生成",
                        req.code
                    ),
                    json!({ "field": "code", "value": req.code }),
                )
            }))?
            .map(|c| c.as_str().to_string()),
    };
    let checked = check_input(
        &Input {
            class_type: req.class_type,
            name: req.name,
            category: req.category,
            intro: req.intro,
            weekdays: req.weekdays,
            starts_at: req.starts_at,
            ends_at: req.ends_at,
            starts_on: req.starts_on,
            ends_on: req.ends_on,
            capacity: req.capacity,
            price: req.price,
            pricing: req.pricing,
            eligible_levels: req.eligible_levels,
            reg_opens_at: req.reg_opens_at,
            reg_closes_at: req.reg_closes_at,
            allocation: req.allocation.unwrap_or(CourseAllocation::Fcfs),
            hold_minutes: req.hold_minutes.unwrap_or(HoldMinutes::DEFAULT),
        },
        &mut p,
    )?;
    let term = school_repo::term_by_code(tx.conn(), req.term_code.trim()).await?;
    let term = p.take(term.ok_or_else(|| term_not_found(&req.term_code)))?;
    let dates = match (&checked, &term) {
        (Some(c), Some(t)) => p.take(place_in_term(c, t, true))?,
        _ => None,
    };
    let parent_id = match (req.parent_code.as_deref().map(str::trim), &term) {
        (None | Some(""), _) => Some(None),
        (Some(pc), Some(t)) => p.take(series_parent(tx, pc, t.id, None).await)?.map(Some),
        (Some(_), None) => None,
    };
    let period_id = match req.period_id {
        Some(id) => p.take(check_period(tx, id).await)?.map(Some),
        None => Some(None),
    };
    let venue_id = match req.venue_id {
        Some(id) => p.take(check_venue(tx, id).await)?.map(Some),
        None => Some(None),
    };
    if let Some(c) = &checked {
        p.take(check_levels_exist(tx, &c.levels).await)?;
    }
    let teachers = p.take(check_teachers(tx, &req.teacher_ids).await)?;
    p.finish()?;
    let (
        Some(code),
        Some(checked),
        Some(term),
        Some(dates),
        Some(parent_id),
        Some(period_id),
        Some(venue_id),
        Some(teachers),
    ) = (
        code, checked, term, dates, parent_id, period_id, venue_id, teachers,
    )
    else {
        return Err(ApiError::internal(
            "course check passed with a value missing",
        ));
    };
    let f = fields_of(
        code,
        term.id,
        parent_id,
        checked,
        dates,
        (period_id, venue_id),
    );
    let id = repo::insert_course(tx.conn(), &f)
        .await
        .map_err(|e| unique_or_internal(e, || code_taken(&f.code)))?;
    repo::insert_seats(tx.conn(), id, f.capacity).await?;
    repo::set_teachers(tx.conn(), id, &teachers).await?;
    let mut d = details(&f, &teachers);
    d.insert("term".into(), json!(term.code));
    record(tx, who, "courses.course.create", id, Value::Object(d)).await?;
    course_view(tx, id, &ALL_STATUSES).await
}

/// The stored course as [`CourseFields`], for comparing with the changed one.
fn stored_fields(r: &CourseViewRow) -> CourseFields {
    CourseFields {
        code: r.code.clone(),
        parent_id: r.parent_id,
        class_type: CourseClassType::from_db(&r.class_type),
        name: r.name.clone(),
        category: r.category.clone(),
        intro: r.intro.clone(),
        term_id: r.term_id,
        period_id: r.period_id,
        venue_id: r.venue_id,
        weekdays: r.weekdays.clone(),
        starts_at: r.starts_at,
        ends_at: r.ends_at,
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        capacity: r.capacity,
        price: r.price,
        pricing: CoursePricing::from_db(&r.pricing),
        eligible_levels: r.eligible_levels.clone(),
        reg_opens_at: r.reg_opens_at,
        reg_closes_at: r.reg_closes_at,
        allocation: CourseAllocation::from_db(&r.allocation),
        hold_minutes: r.hold_minutes,
    }
}

fn time_text(t: NaiveTime) -> String {
    t.format("%H:%M:%S").to_string()
}

fn decimal_text(d: Decimal) -> String {
    d.to_string()
}

/// Changes the fields sent. Relations among fields (times, dates, registration window,
/// pricing) are checked on the course as it will be; references to other records (term
/// dates, grades, staff, period, venue, series) only for the fields sent, so a course is
/// not refused for a grade deleted since or a teacher who has left.
pub async fn update(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: CoursePatch,
) -> Result<CourseView, ApiError> {
    repo::lock_course(tx.conn(), id)
        .await?
        .ok_or_else(|| course_not_found(id))?;
    let cur = repo::course_view(tx.conn(), id)
        .await?
        .ok_or_else(|| course_not_found(id))?;
    let before = stored_fields(&cur);
    let dates_sent = req.starts_on.is_some() || req.ends_on.is_some();
    let levels_sent = req.eligible_levels.is_some();
    let mut p = Problems::default();
    let checked = check_input(
        &Input {
            class_type: req.class_type.unwrap_or(before.class_type),
            name: req.name.unwrap_or_else(|| before.name.clone()),
            category: req.category.unwrap_or_else(|| before.category.clone()),
            intro: req.intro.unwrap_or_else(|| before.intro.clone()),
            weekdays: req.weekdays.unwrap_or_else(|| before.weekdays.clone()),
            starts_at: req.starts_at.unwrap_or_else(|| time_text(before.starts_at)),
            ends_at: req.ends_at.unwrap_or_else(|| time_text(before.ends_at)),
            starts_on: Some(
                req.starts_on
                    .unwrap_or_else(|| before.starts_on.to_string()),
            ),
            ends_on: Some(req.ends_on.unwrap_or_else(|| before.ends_on.to_string())),
            capacity: req.capacity.unwrap_or(before.capacity),
            price: req.price.unwrap_or_else(|| decimal_text(before.price)),
            pricing: req.pricing.unwrap_or(before.pricing),
            eligible_levels: req
                .eligible_levels
                .unwrap_or_else(|| before.eligible_levels.clone()),
            reg_opens_at: req
                .reg_opens_at
                .unwrap_or_else(|| before.reg_opens_at.to_rfc3339()),
            reg_closes_at: req
                .reg_closes_at
                .unwrap_or_else(|| before.reg_closes_at.to_rfc3339()),
            allocation: req.allocation.unwrap_or(before.allocation),
            hold_minutes: req.hold_minutes.unwrap_or(before.hold_minutes),
        },
        &mut p,
    )?;
    let term = school_repo::term_by_code(tx.conn(), &cur.term_code)
        .await?
        .ok_or_else(|| ApiError::internal(format!("course {id} has no term")))?;
    let dates = match &checked {
        Some(c) => p.take(place_in_term(c, &term, dates_sent))?,
        None => None,
    };
    let parent_id = match req.parent_code {
        MaybeUndefined::Undefined => Some(before.parent_id),
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(pc) => p
            .take(series_parent(tx, pc.trim(), term.id, Some(id)).await)?
            .map(Some),
    };
    let period_id = match req.period_id {
        MaybeUndefined::Undefined => Some(before.period_id),
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => p.take(check_period(tx, v).await)?.map(Some),
    };
    let venue_id = match req.venue_id {
        MaybeUndefined::Undefined => Some(before.venue_id),
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => p.take(check_venue(tx, v).await)?.map(Some),
    };
    if let (true, Some(c)) = (levels_sent, &checked) {
        p.take(check_levels_exist(tx, &c.levels).await)?;
    }
    let teachers = match req.teacher_ids {
        Some(ids) => p.take(check_teachers(tx, &ids).await)?,
        None => {
            let mut t = cur.teacher_ids.clone();
            t.sort_unstable();
            Some(t)
        }
    };
    p.finish()?;
    let (
        Some(checked),
        Some(dates),
        Some(parent_id),
        Some(period_id),
        Some(venue_id),
        Some(teachers),
    ) = (checked, dates, parent_id, period_id, venue_id, teachers)
    else {
        return Err(ApiError::internal(
            "course check passed with a value missing",
        ));
    };
    let after = fields_of(
        before.code.clone(),
        before.term_id,
        parent_id,
        checked,
        dates,
        (period_id, venue_id),
    );
    let mut old_teachers = cur.teacher_ids.clone();
    old_teachers.sort_unstable();
    let (old, new) = (details(&before, &old_teachers), details(&after, &teachers));
    let mut changes = Map::new();
    for (key, to) in &new {
        let from = old.get(key).cloned().unwrap_or(Value::Null);
        if from != *to {
            changes.insert(key.clone(), json!({ "from": from, "to": to }));
        }
    }
    if changes.is_empty() {
        return course_view(tx, id, &ALL_STATUSES).await;
    }
    if after.capacity != before.capacity
        && !repo::set_seat_capacity(tx.conn(), id, after.capacity).await?
    {
        let taken = repo::seats_taken(tx.conn(), id).await?;
        return Err(conflict(
            "CAPACITY_BELOW_TAKEN",
            format!("已有 {taken} 个名额被占用，开班规模不能少于 {taken}"),
            json!({ "field": "capacity", "value": after.capacity, "taken": taken }),
        ));
    }
    repo::update_course(tx.conn(), id, &after).await?;
    if teachers != old_teachers {
        repo::set_teachers(tx.conn(), id, &teachers).await?;
    }
    changes.insert("code".into(), json!(before.code));
    record(tx, who, "courses.course.update", id, Value::Object(changes)).await?;
    course_view(tx, id, &ALL_STATUSES).await
}

// --- life cycle -----------------------------------------------------------------------------

/// Draft → published. A series course publishes its draft sub-items with it.
pub async fn publish(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<CourseView, ApiError> {
    transition(
        tx,
        who,
        id,
        CourseStatus::Draft,
        CourseStatus::Published,
        "courses.course.publish",
    )
    .await
}

/// Published → closed. A series course closes its published sub-items with it: a closed
/// series cannot be booked piece by piece either.
pub async fn close(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<CourseView, ApiError> {
    transition(
        tx,
        who,
        id,
        CourseStatus::Published,
        CourseStatus::Closed,
        "courses.course.close",
    )
    .await
}

async fn transition(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    from: CourseStatus,
    to: CourseStatus,
    action: &str,
) -> Result<CourseView, ApiError> {
    let cur = repo::lock_course(tx.conn(), id)
        .await?
        .ok_or_else(|| course_not_found(id))?;
    let status = CourseStatus::from_db(&cur.status);
    if status != from {
        return Err(conflict(
            "COURSE_STATUS_INVALID",
            format!(
                "课程当前为“{}”，只有“{}”的课程可以改为“{}”",
                status.label(),
                from.label(),
                to.label()
            ),
            json!({ "status": status.as_str(), "required": from.as_str(), "to": to.as_str() }),
        ));
    }
    let changed =
        repo::set_status_with_sub_items(tx.conn(), id, from.as_str(), to.as_str()).await?;
    let mut sub_items: Vec<i64> = changed.into_iter().filter(|c| *c != id).collect();
    sub_items.sort_unstable();
    record(
        tx,
        who,
        action,
        id,
        json!({
            "code": cur.code, "from": from.as_str(), "to": to.as_str(), "sub_items": sub_items,
        }),
    )
    .await?;
    course_view(tx, id, &ALL_STATUSES).await
}

// --- pictures -------------------------------------------------------------------------------

/// One uploaded file: its bytes and the content type the client declared, if any.
pub struct PictureUpload {
    pub bytes: Vec<u8>,
    pub declared: Option<String>,
}

/// JPEG, PNG or WebP by their bytes, at most 5 MB. A client that declares no type (or the
/// generic `application/octet-stream`) is judged by the bytes alone; a declared type must
/// match them.
fn check_picture(up: &PictureUpload) -> Result<ContentKind, ApiError> {
    let policy = UploadPolicy {
        max_bytes: PICTURE_MAX_BYTES,
        allowed: vec![ContentKind::Jpeg, ContentKind::Png, ContentKind::Webp],
    };
    let declared = match up.declared.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() && !d.starts_with("application/octet-stream") => d,
        _ => sniff(&up.bytes).map(ContentKind::mime).unwrap_or_default(),
    };
    policy.check(&up.bytes, declared).map_err(storage_error)
}

/// Stores the picture under the tenant's prefix and appends its key to the course (at most
/// [`PICTURES_MAX`]).
pub async fn add_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    up: PictureUpload,
) -> Result<CourseView, ApiError> {
    let cur = repo::lock_course(tx.conn(), id)
        .await?
        .ok_or_else(|| course_not_found(id))?;
    let have = repo::pictures(tx.conn(), id)
        .await?
        .map(|p| p.len())
        .unwrap_or_default();
    if have >= PICTURES_MAX {
        return Err(conflict(
            "PICTURES_FULL",
            format!("每门课程最多 {PICTURES_MAX} 张图片"),
            json!({ "max": PICTURES_MAX }),
        ));
    }
    let kind = check_picture(&up)?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), PICTURE_CATEGORY, kind)
        .map_err(storage_error)?;
    let size = up.bytes.len();
    // Stored before the row points at it: a failure after this leaves an unreferenced
    // object, never a reference to a missing one.
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await
        .map_err(storage_error)?;
    repo::append_picture(tx.conn(), id, key.as_str()).await?;
    record(
        tx,
        who,
        "courses.picture.add",
        id,
        json!({
            "code": cur.code, "key": key.as_str(), "content_type": kind.mime(),
            "bytes": size, "index": have,
        }),
    )
    .await?;
    course_view(tx, id, &ALL_STATUSES).await
}

/// Picture `n` (from 0) of a course the caller may see.
pub async fn picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    n: i64,
) -> Result<StoredObject, ApiError> {
    let statuses = visible_statuses(tx, who);
    let visible = repo::course_for_booking(tx.conn(), id)
        .await?
        .is_some_and(|c| statuses.contains(&c.status.as_str()));
    if !visible {
        return Err(course_not_found(id));
    }
    let keys = repo::pictures(tx.conn(), id).await?.unwrap_or_default();
    let stored = usize::try_from(n)
        .ok()
        .and_then(|i| keys.get(i))
        .ok_or_else(picture_not_found)?;
    let key = stored_key(tx, stored)?;
    who.st.storage.get(&key).await.map_err(storage_error)
}

/// A stored key back as an [`ObjectKey`]; one outside this tenant's prefix is never served.
fn stored_key(tx: &TenantTx, stored: &str) -> Result<ObjectKey, ApiError> {
    let mut parts = stored.splitn(3, '/');
    let (Some(t), Some(c), Some(n)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ApiError::internal(format!(
            "malformed picture key {stored}"
        )));
    };
    if t != tx.tenant().code.as_str() {
        return Err(ApiError::internal(format!(
            "picture key {stored} outside tenant {}",
            tx.tenant().code.as_str()
        )));
    }
    ObjectKey::new(t, c, n).map_err(ApiError::internal)
}

// --- reading --------------------------------------------------------------------------------

/// Parents see published courses only; staff roles see drafts and closed ones too.
fn visible_statuses(tx: &TenantTx, who: &Actor<'_>) -> &'static [&'static str] {
    let roles = who.auth.roles_in_tenant(tx.tenant().id);
    if roles.iter().any(|r| *r != Role::Parent) {
        &ALL_STATUSES
    } else {
        &PUBLISHED_ONLY
    }
}

fn view(r: CourseViewRow, sub_items: Vec<CourseView>) -> CourseView {
    let class_type = CourseClassType::from_db(&r.class_type);
    let status = CourseStatus::from_db(&r.status);
    let teachers = r
        .teacher_ids
        .iter()
        .zip(&r.teacher_names)
        .map(|(id, name)| CourseTeacherView {
            id: *id,
            name: name.clone(),
        })
        .collect();
    CourseView {
        pictures: (0..r.picture_count)
            .map(|n| format!("/school/courses/{}/pictures/{n}", r.id))
            .collect(),
        id: r.id,
        code: r.code,
        class_type,
        class_type_label: class_type.label().to_string(),
        name: r.name,
        category: r.category,
        intro: r.intro,
        term_code: r.term_code,
        term_name: r.term_name,
        period_id: r.period_id,
        period_name: r.period_name,
        venue_id: r.venue_id,
        venue_name: r.venue_name,
        weekdays: r.weekdays,
        starts_at: r.starts_at.format("%H:%M").to_string(),
        ends_at: r.ends_at.format("%H:%M").to_string(),
        starts_on: r.starts_on,
        ends_on: r.ends_on,
        capacity: r.capacity,
        taken: r.taken,
        remaining: (r.capacity - r.taken).max(0),
        price: Price::display(r.price),
        pricing: CoursePricing::from_db(&r.pricing),
        eligible_levels: r.eligible_levels,
        reg_opens_at: r.reg_opens_at,
        reg_closes_at: r.reg_closes_at,
        allocation: CourseAllocation::from_db(&r.allocation),
        hold_minutes: r.hold_minutes,
        status,
        status_label: status.label().to_string(),
        teachers,
        parent_id: r.parent_id,
        parent_code: r.parent_code,
        sub_items,
    }
}

/// One course with its sub-items, if its status is among `statuses`.
async fn course_view(
    tx: &mut TenantTx,
    id: i64,
    statuses: &[&str],
) -> Result<CourseView, ApiError> {
    let row = repo::course_view(tx.conn(), id)
        .await?
        .filter(|r| statuses.contains(&r.status.as_str()))
        .ok_or_else(|| course_not_found(id))?;
    let subs = repo::sub_item_views(tx.conn(), &[id], statuses)
        .await?
        .into_iter()
        .map(|r| view(r, Vec::new()))
        .collect();
    Ok(view(row, subs))
}

pub async fn get(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<CourseView, ApiError> {
    let statuses = visible_statuses(tx, who);
    course_view(tx, id, statuses).await
}

/// Filters of the course list.
#[derive(Debug, Default)]
pub struct CourseQuery {
    pub term_code: Option<String>,
    pub status: Option<CourseStatus>,
    pub class_type: Option<CourseClassType>,
}

/// Single courses and series courses (with their sub-items nested), as the caller may see
/// them.
pub async fn list(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    q: &CourseQuery,
) -> Result<Vec<CourseView>, ApiError> {
    let statuses = visible_statuses(tx, who);
    let rows = repo::top_level_views(
        tx.conn(),
        &CourseFilter {
            term_code: q.term_code.as_deref(),
            status: q.status.map(CourseStatus::as_str),
            class_type: q.class_type.map(CourseClassType::as_str),
            statuses,
        },
    )
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut subs: HashMap<i64, Vec<CourseView>> = HashMap::new();
    if !ids.is_empty() {
        for r in repo::sub_item_views(tx.conn(), &ids, statuses).await? {
            if let Some(p) = r.parent_id {
                subs.entry(p).or_default().push(view(r, Vec::new()));
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let s = subs.remove(&r.id).unwrap_or_default();
            view(r, s)
        })
        .collect())
}
