//! Venues (R-S05): the school's rooms and fields with their kind and capacity, listed,
//! created, changed and deleted. A venue can be a class's home classroom; courses and
//! later custody rooms name venues too.
//!
//! Must never delete a venue anything references, and never re-check a stored value a
//! change did not send (a value stored before these rules stays as it is).

use serde_json::{json, Map, Value};

use super::{note_change, record, sent};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::school::error::SchoolError;
use crate::school::model::{
    Code, Name, NewVenue, VenueChange, VenueFields, VenueKind, VenuePatch, VenueView, CAPACITY,
};
use crate::school::repo;

/// Every venue, by code.
pub async fn venues(tx: &mut TenantTx) -> Result<Vec<VenueView>, SchoolError> {
    Ok(repo::venues(tx.conn()).await?)
}

fn check_capacity(capacity: i32) -> Result<i32, SchoolError> {
    if CAPACITY.contains(&capacity) {
        Ok(capacity)
    } else {
        Err(SchoolError::CapacityInvalid { capacity })
    }
}

/// `e` as the refusal of the code `code` when another venue has it.
fn code_taken(e: sqlx::Error, code: &str) -> SchoolError {
    SchoolError::on_constraint(e, &["venues_code_key"], || SchoolError::VenueCodeTaken {
        code: code.to_string(),
    })
}

pub async fn create_venue(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewVenue,
) -> Result<VenueView, SchoolError> {
    let fields = VenueFields {
        code: Code::parse_field("code", &req.code)?,
        name: Name::parse_field("name", &req.name)?,
        kind: VenueKind::parse_field(&req.kind)?,
        capacity: check_capacity(req.capacity)?,
    };
    let v = repo::insert_venue(tx.conn(), &fields)
        .await
        .map_err(|e| code_taken(e, fields.code.as_str()))?;
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

/// Only the fields sent are checked and written.
pub async fn update_venue(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: VenuePatch,
) -> Result<VenueView, SchoolError> {
    let cur = repo::venue(tx.conn(), id)
        .await?
        .ok_or(SchoolError::VenueNotFound { id })?;
    let change = VenueChange {
        code: sent(req.code.as_deref(), |c| Code::parse_field("code", c))?,
        name: sent(req.name.as_deref(), |n| Name::parse_field("name", n))?,
        kind: sent(req.kind.as_deref(), VenueKind::parse_field)?,
        capacity: req.capacity.map(check_capacity).transpose()?,
    };
    let code = change.code.as_ref().map_or(cur.code.as_str(), Code::as_str);
    let name = change.name.as_ref().map_or(cur.name.as_str(), Name::as_str);
    let mut changes = Map::new();
    note_change(&mut changes, "code", cur.code.as_str(), code);
    note_change(&mut changes, "name", cur.name.as_str(), name);
    note_change(
        &mut changes,
        "kind",
        &cur.kind,
        &change.kind.unwrap_or(cur.kind),
    );
    let capacity = change.capacity.unwrap_or(cur.capacity);
    note_change(&mut changes, "capacity", &cur.capacity, &capacity);
    if changes.is_empty() {
        return Ok(cur);
    }
    let v = repo::update_venue(tx.conn(), id, &change)
        .await
        .map_err(|e| code_taken(e, code))?;
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

pub async fn delete_venue(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<(), SchoolError> {
    let cur = repo::venue(tx.conn(), id)
        .await?
        .ok_or(SchoolError::VenueNotFound { id })?;
    let classes = repo::classes_using_venue(tx.conn(), id).await?;
    if !classes.is_empty() {
        return Err(SchoolError::VenueIsClassroom {
            venue: cur.name,
            classes,
        });
    }
    // Courses (and later activities, custody rooms) reference venues too.
    repo::delete_venue(tx.conn(), id).await.map_err(|e| {
        SchoolError::on_constraint(
            e,
            &["classes_venue_id_fkey", "courses_venue_id_fkey"],
            || SchoolError::VenueInUse {
                venue: cur.name.clone(),
            },
        )
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
