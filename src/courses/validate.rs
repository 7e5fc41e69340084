//! The one validation path of a course, shared by create and update: every field checked,
//! every refusal kept so that a form shows all wrong fields at once, the schedule placed in
//! the term, and the series, venue, period, levels and teachers looked up in the tenant.

use super::error::*;
use super::model::*;
use super::repo::{self};
use crate::error::{ApiError, ErrorKind};
use crate::kernel::tx::TenantTx;
use crate::school::model::{TermRow, Weekdays};
use crate::school::repo as school_repo;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Map, Value};

// --- the one validation path --------------------------------------------------------------

/// The refusals found while checking one request, all reported at once so that a form
/// shows every wrong field together (issue 13 item 9). A failure of the server itself
/// stops the check at once.
#[derive(Default)]
pub(super) struct Problems(Vec<ApiError>);

impl Problems {
    /// The value, or `None` with the refusal kept.
    pub(super) fn take<T>(&mut self, r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
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
    pub(super) fn finish(self) -> Result<(), ApiError> {
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
pub(super) struct Input {
    pub(super) class_type: CourseClassType,
    pub(super) name: String,
    pub(super) category: String,
    pub(super) intro: String,
    pub(super) weekdays: Vec<i16>,
    pub(super) starts_at: String,
    pub(super) ends_at: String,
    pub(super) starts_on: Option<String>,
    pub(super) ends_on: Option<String>,
    pub(super) capacity: i32,
    pub(super) price: String,
    pub(super) pricing: CoursePricing,
    pub(super) eligible_levels: Vec<i16>,
    pub(super) reg_opens_at: String,
    pub(super) reg_closes_at: String,
    pub(super) allocation: CourseAllocation,
    pub(super) hold_minutes: i32,
}

/// [`Input`] with every value checked on its own and against the others; dates not yet
/// placed in the term.
pub(super) struct Checked {
    pub(super) class_type: CourseClassType,
    pub(super) name: CourseName,
    pub(super) category: Category,
    pub(super) intro: Intro,
    pub(super) weekdays: Weekdays,
    pub(super) starts_at: NaiveTime,
    pub(super) ends_at: NaiveTime,
    pub(super) starts_on: Option<NaiveDate>,
    pub(super) ends_on: Option<NaiveDate>,
    pub(super) capacity: Capacity,
    pub(super) price: Price,
    pub(super) pricing: CoursePricing,
    pub(super) levels: EligibleLevels,
    pub(super) reg_opens_at: DateTime<Utc>,
    pub(super) reg_closes_at: DateTime<Utc>,
    pub(super) allocation: CourseAllocation,
    pub(super) hold_minutes: HoldMinutes,
}

pub(super) fn check_time(field: &str, s: &str) -> Result<NaiveTime, ApiError> {
    parse_time(s).ok_or_else(|| {
        schedule_invalid(
            format!("时间“{s}”格式不正确，应为 HH:MM，如 16:30"),
            json!({ "field": field, "value": s }),
        )
    })
}

pub(super) fn check_date(field: &str, s: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    let Some(s) = s else { return Ok(None) };
    parse_date(s).map(Some).ok_or_else(|| {
        schedule_invalid(
            format!("日期“{s}”格式不正确，应为 YYYY-MM-DD"),
            json!({ "field": field, "value": s }),
        )
    })
}

pub(super) fn check_instant(field: &str, s: &str) -> Result<DateTime<Utc>, ApiError> {
    parse_instant(s).ok_or_else(|| {
        reg_window_invalid(
            format!("报名时间“{s}”格式不正确，应为 RFC 3339，如 2026-08-20T09:00:00+08:00"),
            json!({ "field": field, "value": s }),
        )
    })
}

/// Every value of `i` checked, each refusal kept in `p`; the checked course only when all
/// of it is right.
pub(super) fn check_input(i: &Input, p: &mut Problems) -> Result<Option<Checked>, ApiError> {
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
pub(super) fn place_in_term(
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

pub(super) fn term_not_found(code: &str) -> ApiError {
    unprocessable(
        "TERM_NOT_FOUND",
        format!("找不到学期“{code}”"),
        json!({ "field": "term_code", "value": code }),
    )
}

pub(super) async fn check_period(tx: &mut TenantTx, id: i64) -> Result<i64, ApiError> {
    match school_repo::period(tx.conn(), id).await? {
        Some(p) => Ok(p.id),
        None => Err(unprocessable(
            "PERIOD_NOT_FOUND",
            "所选开班时段不存在",
            json!({ "field": "period_id", "id": id }),
        )),
    }
}

pub(super) async fn check_venue(tx: &mut TenantTx, id: i64) -> Result<i64, ApiError> {
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
pub(super) async fn check_levels_exist(
    tx: &mut TenantTx,
    levels: &EligibleLevels,
) -> Result<(), ApiError> {
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
pub(super) async fn check_teachers(tx: &mut TenantTx, ids: &[i64]) -> Result<Vec<i64>, ApiError> {
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
pub(super) async fn series_parent(
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

pub(super) fn fields_of(
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
pub(super) fn details(f: &CourseFields, teacher_ids: &[i64]) -> Map<String, Value> {
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
