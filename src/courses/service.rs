//! Rules of courses: the one validation path shared by create and update, the series
//! (parent and sub-items) rules, the draft → published → closed life cycle, pictures in the
//! object store, and who sees which courses.
//!
//! Every function checks its rules before it writes and records the change with
//! [`TenantTx::audit`] last, inside the caller's transaction. Must never commit: the handler
//! does, so a refused request leaves nothing behind.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::NaiveTime;
use poem_openapi::types::MaybeUndefined;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use super::model::*;
use super::repo::{self, CourseFilter, CourseViewRow};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::Role;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::lookup as school_lookup;
use crate::storage::{ContentKind, ObjectKey, StoredObject, UploadPolicy};

const ALL_STATUSES: [&str; 3] = [
    CourseStatus::Draft.as_str(),
    CourseStatus::Published.as_str(),
    CourseStatus::Closed.as_str(),
];
const PUBLISHED_ONLY: [&str; 1] = [CourseStatus::Published.as_str()];

use super::error::CourseError;
use super::validate::*;

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    course_id: i64,
    details: Value,
) -> Result<(), CourseError> {
    let ev =
        AuditEvent::new(action, format!("course:{course_id}"), Outcome::Success).details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

// --- create and update ----------------------------------------------------------------------

/// A code for a course created without one (`c0001`, `c0002`, …: the first number no
/// course of the school uses). Two admins saving at the same instant may pick the same
/// number; the unique index refuses the second with `COURSE_CODE_TAKEN`, and saving again
/// picks the next.
async fn generated_code(tx: &mut TenantTx) -> Result<String, CourseError> {
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
) -> Result<CourseView, CourseError> {
    let mut p = Problems::default();
    let code = match req.code.trim() {
        // School staff need not invent an ASCII code: one is made up when none is given.
        "" => Some(generated_code(tx).await?),
        _ => p
            .take(CourseCode::parse(&req.code))?
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
    let term = school_lookup::term_by_code(tx.conn(), req.term_code.trim()).await?;
    let term = p.take(term.ok_or_else(|| CourseError::TermNotFound {
        code: req.term_code.clone(),
    }))?;
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
        return Err(CourseError::Invariant(
            "course check passed with a value missing".into(),
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
    let id = repo::insert_course(tx.conn(), &f).await?;
    crate::enrollment::seats::open(tx.conn(), id, f.capacity).await?;
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
) -> Result<CourseView, CourseError> {
    repo::lock_course(tx.conn(), id)
        .await?
        .ok_or(CourseError::NotFound { id })?;
    let cur = repo::course_view(tx.conn(), id)
        .await?
        .ok_or(CourseError::NotFound { id })?;
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
    let term = school_lookup::term_by_code(tx.conn(), &cur.term_code)
        .await?
        .ok_or_else(|| CourseError::Invariant(format!("course {id} has no term")))?;
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
        return Err(CourseError::Invariant(
            "course check passed with a value missing".into(),
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
        && !crate::enrollment::seats::set_capacity(tx.conn(), id, after.capacity).await?
    {
        let taken = crate::enrollment::seats::taken(tx.conn(), id).await?;
        return Err(CourseError::CapacityBelowTaken {
            capacity: after.capacity,
            taken,
        });
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
pub async fn publish(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<CourseView, CourseError> {
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
pub async fn close(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<CourseView, CourseError> {
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
) -> Result<CourseView, CourseError> {
    let cur = repo::lock_course(tx.conn(), id)
        .await?
        .ok_or(CourseError::NotFound { id })?;
    let status = CourseStatus::from_db(&cur.status);
    if status != from {
        return Err(CourseError::StatusInvalid {
            status,
            required: from,
            to,
        });
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

/// JPEG, PNG or WebP by their bytes, at most 5 MB.
fn check_picture(up: &PictureUpload) -> Result<ContentKind, CourseError> {
    Ok(
        UploadPolicy::pictures(PICTURE_MAX_BYTES)
            .check_upload(&up.bytes, up.declared.as_deref())?,
    )
}

/// Stores the picture under the tenant's prefix and appends its key to the course (at most
/// [`PICTURES_MAX`]).
pub async fn add_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    up: PictureUpload,
) -> Result<CourseView, CourseError> {
    let cur = repo::lock_course(tx.conn(), id)
        .await?
        .ok_or(CourseError::NotFound { id })?;
    let have = repo::pictures(tx.conn(), id)
        .await?
        .map(|p| p.len())
        .unwrap_or_default();
    if have >= PICTURES_MAX {
        return Err(CourseError::PicturesFull);
    }
    let kind = check_picture(&up)?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), PICTURE_CATEGORY, kind)?;
    let size = up.bytes.len();
    // Stored before the row points at it: a failure after this leaves an unreferenced
    // object, never a reference to a missing one.
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await?;
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
) -> Result<StoredObject, CourseError> {
    let statuses = visible_statuses(tx, who);
    let visible = repo::course_for_booking(tx.conn(), id)
        .await?
        .is_some_and(|c| statuses.contains(&c.status.as_str()));
    if !visible {
        return Err(CourseError::NotFound { id });
    }
    let keys = repo::pictures(tx.conn(), id).await?.unwrap_or_default();
    let stored = usize::try_from(n)
        .ok()
        .and_then(|i| keys.get(i))
        .ok_or(CourseError::PictureNotFound)?;
    let key = stored_key(tx, stored)?;
    Ok(who.st.storage.get(&key).await?)
}

/// A stored key back as an [`ObjectKey`]; one outside this tenant's prefix is never served.
fn stored_key(tx: &TenantTx, stored: &str) -> Result<ObjectKey, CourseError> {
    ObjectKey::stored(tx.tenant().code.as_str(), stored).map_err(CourseError::Invariant)
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
) -> Result<CourseView, CourseError> {
    let row = repo::course_view(tx.conn(), id)
        .await?
        .filter(|r| statuses.contains(&r.status.as_str()))
        .ok_or(CourseError::NotFound { id })?;
    let subs = repo::sub_item_views(tx.conn(), &[id], statuses)
        .await?
        .into_iter()
        .map(|r| view(r, Vec::new()))
        .collect();
    Ok(view(row, subs))
}

/// One course whatever its status (the supervision push's handler).
pub(super) async fn any_status(tx: &mut TenantTx, id: i64) -> Result<CourseView, CourseError> {
    course_view(tx, id, &ALL_STATUSES).await
}

pub async fn get(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<CourseView, CourseError> {
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
) -> Result<Vec<CourseView>, CourseError> {
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
