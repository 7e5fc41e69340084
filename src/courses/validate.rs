//! The one validation path of a course, shared by create and update: every field checked,
//! every refusal kept so that a form shows all wrong fields at once, the schedule placed in
//! the term, and the series, venue, period, levels and teachers looked up in the tenant.

use super::error::CourseError;
use super::model::*;
use super::repo::{self};
use crate::error::{DomainError, ErrorKind};
use crate::kernel::tx::TenantTx;
use crate::school::lookup as school_lookup;
use crate::school::model::{TermRow, Weekdays};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde_json::{json, Map, Value};

// --- the one validation path --------------------------------------------------------------

/// The refusals found while checking one request, all reported at once so that a form
/// shows every wrong field together (issue 13 item 9). A failure of the server itself
/// stops the check at once.
#[derive(Default)]
pub(super) struct Problems(Vec<CourseError>);

impl Problems {
    /// The value, or `None` with the refusal kept.
    pub(super) fn take<T>(&mut self, r: Result<T, CourseError>) -> Result<Option<T>, CourseError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if matches!(e.kind(), ErrorKind::Internal | ErrorKind::Unavailable) => Err(e),
            Err(e) => {
                self.0.push(e);
                Ok(None)
            }
        }
    }

    /// Nothing found, or the first refusal (so a client that reads one error still reads
    /// the same one), as [`CourseError::Several`] when there is more than one.
    pub(super) fn finish(mut self) -> Result<(), CourseError> {
        match self.0.len() {
            0 => Ok(()),
            1 => Err(self.0.remove(0)),
            _ => Err(CourseError::Several(self.0)),
        }
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

pub(super) fn check_time(field: &'static str, s: &str) -> Result<NaiveTime, CourseError> {
    parse_time(s).ok_or_else(|| CourseError::TimeInvalid {
        field,
        value: s.into(),
    })
}

pub(super) fn check_date(
    field: &'static str,
    s: Option<&str>,
) -> Result<Option<NaiveDate>, CourseError> {
    let Some(s) = s else { return Ok(None) };
    parse_date(s)
        .map(Some)
        .ok_or_else(|| CourseError::DateInvalid {
            field,
            value: s.into(),
        })
}

pub(super) fn check_instant(field: &'static str, s: &str) -> Result<DateTime<Utc>, CourseError> {
    parse_instant(s).ok_or_else(|| CourseError::RegInstantInvalid {
        field,
        value: s.into(),
    })
}

/// Every value of `i` checked, each refusal kept in `p`; the checked course only when all
/// of it is right.
pub(super) fn check_input(i: &Input, p: &mut Problems) -> Result<Option<Checked>, CourseError> {
    let name = p.take(CourseName::parse(&i.name))?;
    let category = p.take(Category::parse(&i.category))?;
    let intro = p.take(Intro::parse(&i.intro))?;
    let weekdays =
        p.take(
            Weekdays::parse(&i.weekdays).ok_or_else(|| CourseError::WeekdaysInvalid {
                value: i.weekdays.clone(),
            }),
        )?;
    let starts_at = p.take(check_time("starts_at", &i.starts_at))?;
    let ends_at = p.take(check_time("ends_at", &i.ends_at))?;
    if let (Some(s), Some(e)) = (starts_at, ends_at) {
        if e <= s {
            p.take::<()>(Err(CourseError::EndsBeforeStart {
                starts_at: s,
                ends_at: e,
            }))?;
        }
    }
    let starts_on = p.take(check_date("starts_on", i.starts_on.as_deref()))?;
    let ends_on = p.take(check_date("ends_on", i.ends_on.as_deref()))?;
    let capacity = p.take(Capacity::parse(i.capacity))?;
    let price = p.take(Price::parse(&i.price))?;
    if i.pricing != i.class_type.pricing() {
        p.take::<()>(Err(CourseError::PricingMismatch {
            class_type: i.class_type,
            pricing: i.pricing,
        }))?;
    }
    let levels = p.take(EligibleLevels::parse(&i.eligible_levels))?;
    let reg_opens_at = p.take(check_instant("reg_opens_at", &i.reg_opens_at))?;
    let reg_closes_at = p.take(check_instant("reg_closes_at", &i.reg_closes_at))?;
    if let (Some(o), Some(c)) = (reg_opens_at, reg_closes_at) {
        if c <= o {
            p.take::<()>(Err(CourseError::RegWindowReversed {
                opens: o,
                closes: c,
            }))?;
        }
    }
    let hold_minutes = p.take(HoldMinutes::parse(i.hold_minutes))?;
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
) -> Result<(NaiveDate, NaiveDate), CourseError> {
    let starts_on = c.starts_on.unwrap_or(term.starts_on);
    let ends_on = c.ends_on.unwrap_or(term.ends_on);
    if ends_on < starts_on {
        return Err(CourseError::DatesReversed { starts_on, ends_on });
    }
    if dates_sent && (starts_on < term.starts_on || ends_on > term.ends_on) {
        return Err(CourseError::OutsideTerm {
            starts_on,
            ends_on,
            term_name: term.name.clone(),
            term_starts_on: term.starts_on,
            term_ends_on: term.ends_on,
        });
    }
    let course_end = china_instant(ends_on, c.ends_at)
        .ok_or_else(|| CourseError::Invariant("no China Standard Time offset".into()))?;
    if c.reg_closes_at > course_end {
        return Err(CourseError::RegClosesAfterCourse {
            reg_closes_at: c.reg_closes_at,
            course_ends_at: course_end,
            ends_on,
            ends_at: c.ends_at,
        });
    }
    Ok((starts_on, ends_on))
}

pub(super) async fn check_period(tx: &mut TenantTx, id: i64) -> Result<i64, CourseError> {
    match school_lookup::period(tx.conn(), id).await? {
        Some(p) => Ok(p.id),
        None => Err(CourseError::PeriodNotFound { id }),
    }
}

pub(super) async fn check_venue(tx: &mut TenantTx, id: i64) -> Result<i64, CourseError> {
    match school_lookup::venue(tx.conn(), id).await? {
        Some(v) => Ok(v.id),
        None => Err(CourseError::VenueNotFound { id }),
    }
}

/// Every eligible level must be a grade the school has.
pub(super) async fn check_levels_exist(
    tx: &mut TenantTx,
    levels: &EligibleLevels,
) -> Result<(), CourseError> {
    let have: Vec<i16> = school_lookup::grades(tx.conn())
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
    Err(CourseError::LevelsMissing { missing })
}

/// The teachers, each an active staff member of the school; sorted, without repeats.
pub(super) async fn check_teachers(
    tx: &mut TenantTx,
    ids: &[i64],
) -> Result<Vec<i64>, CourseError> {
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
        return Err(CourseError::TeacherNotFound { missing });
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
) -> Result<i64, CourseError> {
    let Some(p) = repo::course_by_code(tx.conn(), parent_code).await? else {
        return Err(CourseError::series_not_found(parent_code));
    };
    if child == Some(p.id) {
        return Err(CourseError::series_itself(parent_code));
    }
    if p.parent_id.is_some() {
        return Err(CourseError::series_parent_is_sub_item(parent_code, &p.name));
    }
    if p.term_id != term_id {
        return Err(CourseError::series_other_term(parent_code, &p.name));
    }
    if p.course_status() == CourseStatus::Closed {
        return Err(CourseError::series_closed(parent_code, &p.name));
    }
    if let Some(id) = child {
        if repo::count_sub_items(tx.conn(), id).await? > 0 {
            return Err(CourseError::series_has_sub_items(parent_code));
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
