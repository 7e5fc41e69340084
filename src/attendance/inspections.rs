//! Inspections (巡课): an inspector sees the school's sessions of the day, records what was
//! seen at one (with an optional photo under the school's prefix); an admin sees every
//! inspection, an inspector their own.

use bytes::Bytes;
use serde_json::json;

use super::error::AttendanceError;
use super::model::*;
use super::repo::{self, InspectionRow};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::Role;
use crate::courses::service::PictureUpload;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::storage::{ObjectKey, StoredObject, UploadPolicy};

const PICTURE_MAX_BYTES: usize = 5 * 1024 * 1024;

pub fn picture_url(id: i64) -> String {
    format!("/api/v1/school/inspections/{id}/picture")
}

fn view(r: &InspectionRow) -> InspectionView {
    InspectionView {
        id: r.id,
        course_id: r.course_id,
        course_name: r.course_name.clone(),
        day: r.day,
        inspector_name: r.inspector_name.clone(),
        observed_at: r.observed_at,
        notes: r.notes.clone(),
        picture: r.picture_key.as_ref().map(|_| picture_url(r.id)),
    }
}

/// Whether the caller sees the school's inspections (an admin) or only their own.
fn sees_all(tx: &TenantTx, who: &Actor<'_>) -> bool {
    who.auth
        .roles_in_tenant(tx.tenant().id)
        .contains(&Role::SchoolAdmin)
}

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    id: i64,
    details: serde_json::Value,
) -> Result<(), AttendanceError> {
    let ev = AuditEvent::new(action, format!("inspection:{id}"), Outcome::Success).details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

/// Records an inspection of a session that runs on its day, now.
pub async fn create(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: &NewInspection,
) -> Result<InspectionView, AttendanceError> {
    let notes = req.notes.trim();
    if notes.is_empty() || notes.chars().count() > 500 {
        return Err(AttendanceError::NotesInvalid);
    }
    let c = repo::course(tx.conn(), req.course_id)
        .await?
        .ok_or(AttendanceError::NoSession {
            course_id: req.course_id,
            day: req.day,
        })?;
    super::service::runs(tx, &c, req.day).await?;
    let id = repo::insert_inspection(
        tx.conn(),
        c.id,
        req.day,
        who.auth.account_id,
        &who.auth.display_name,
        who.st.clock.now(),
        notes,
    )
    .await?;
    record(
        tx,
        who,
        "inspections.create",
        id,
        json!({ "course_id": c.id, "day": req.day }),
    )
    .await?;
    one(tx, who, id).await
}

async fn mine(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<InspectionRow, AttendanceError> {
    let all = sees_all(tx, who);
    repo::inspection(tx.conn(), id)
        .await?
        .filter(|r| all || r.inspector_account == who.auth.account_id)
        .ok_or(AttendanceError::InspectionNotFound { id })
}

pub async fn one(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<InspectionView, AttendanceError> {
    Ok(view(&mine(tx, who, id).await?))
}

/// The photo of an inspection (JPEG, PNG or WebP by its bytes, at most 5 MB), replacing one.
pub async fn set_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    up: PictureUpload,
) -> Result<InspectionView, AttendanceError> {
    mine(tx, who, id).await?;
    let kind = UploadPolicy::pictures(PICTURE_MAX_BYTES)
        .check_upload(&up.bytes, up.declared.as_deref())?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), "inspections", kind)?;
    let size = up.bytes.len();
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await?;
    repo::set_inspection_picture(tx.conn(), id, key.as_str(), size as i32).await?;
    record(tx, who, "inspections.picture", id, json!({ "bytes": size })).await?;
    one(tx, who, id).await
}

pub async fn picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<StoredObject, AttendanceError> {
    let r = mine(tx, who, id).await?;
    let stored = r.picture_key.ok_or(AttendanceError::Storage(
        crate::storage::StorageError::NotFound(format!("inspection {id}")),
    ))?;
    let key = ObjectKey::stored(tx.tenant().code.as_str(), &stored)
        .map_err(|e| AttendanceError::Storage(crate::storage::StorageError::InvalidKey(e)))?;
    Ok(who.st.storage.get(&key).await?)
}

/// The inspections of `day` (every day when `None`): an admin's the school's, an
/// inspector's their own.
pub async fn list(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    day: Option<chrono::NaiveDate>,
) -> Result<Vec<InspectionView>, AttendanceError> {
    let account = (!sees_all(tx, who)).then_some(who.auth.account_id);
    Ok(repo::inspections(tx.conn(), day, account)
        .await?
        .iter()
        .map(view)
        .collect())
}
