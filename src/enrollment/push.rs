//! Enrollment's part of the city supervision push (R-X01, F4): the outbox handler of
//! `enrollment.place` (written by the triggers of migration `0004_change_events.sql` when a
//! place is confirmed or a confirmed place ends) pushes the student with the course
//! (upsert) or the end of the place (delete). Personal fields come from `people`, and are
//! sealed again by `supervision::push`. Safe to run twice: records are keyed by the event.

use std::sync::Arc;

use crate::courses::push::{class_no, commit_records, tenant};
use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::outbox::{Delivery, Event};
use crate::people::lookup::student_facts;
use crate::supervision::model::{FieldSet, Op, Record};

use super::model::EnrollmentStatus;
use super::repo;

pub const EVENT: &str = "enrollment.place";

pub fn deliver(st: Arc<Ctx>, events: Vec<Event>) -> Delivery {
    Box::pin(async move { crate::outbox::one_by_one(&events, |ev| handle(&st, ev)).await })
}

async fn handle(st: &Ctx, ev: &Event) -> Result<(), String> {
    let tenant = tenant(st, ev).await?;
    let id = ev.payload["enrollment_id"]
        .as_i64()
        .ok_or("事件缺少报名编号")?;
    let mut tx = TenantTx::begin(&st.db_app, &tenant)
        .await
        .map_err(|e| e.to_string())?;
    let Some(e) = repo::enrollment(tx.conn(), id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let Some(course) = crate::courses::lookup::course_for_booking(tx.conn(), e.course_id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    let class_no = class_no(&tenant, &course.code);
    let record_id = format!("{}-E{id}", tenant.code.as_str());
    // The event says what happened; the row, what is true now (a later event follows).
    let ended = ev.payload["ended"]
        .as_bool()
        .unwrap_or(e.status != EnrollmentStatus::Confirmed);
    let record = if ended {
        Record::new(FieldSet::F4, Op::Delete, record_id).with("classNo", class_no)
    } else {
        let facts = student_facts(st, &mut tx, &[e.student_id])
            .await
            .map_err(|e| e.to_string())?;
        let Some(s) = facts.into_iter().next() else {
            return Ok(());
        };
        Record::new(FieldSet::F4, Op::Upsert, record_id)
            .with("classNo", class_no)
            .with("studentName", s.name)
            .with("idNo", s.id_number)
            .with("age", s.age)
            .with("sex", s.sex)
            .with("schoolName", tenant.name.clone())
            .with("schoolClass", s.class_name)
    };
    commit_records(tx, &st.keys.pii, vec![record], ev.id).await
}

/// A full re-sync of a school's confirmed places (`afterschool supervision resync`).
pub async fn resync(
    st: &Ctx,
    tenant: &crate::tenancy::model::TenantContext,
) -> Result<u64, String> {
    let mut tx = TenantTx::begin(&st.db_app, tenant)
        .await
        .map_err(|e| e.to_string())?;
    let ids = repo::confirmed_ids(tx.conn())
        .await
        .map_err(|e| e.to_string())?;
    let events: Vec<crate::outbox::NewEvent> = ids
        .iter()
        .map(|id| {
            crate::outbox::NewEvent::new(
                EVENT,
                format!("enrollment:{}:{id}", tenant.schema),
                serde_json::json!({ "enrollment_id": id, "ended": false }),
            )
        })
        .collect();
    let n = crate::outbox::emit_many(tx.conn(), Some(tenant.id), &events)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(n)
}
