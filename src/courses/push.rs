//! The courses' part of the city supervision push (R-X01): the outbox handler of
//! `courses.changed` (written by the triggers of migration `0004_change_events.sql` when a
//! published or closed course changes, or a teacher joins or leaves one) turns the course
//! as it is now into an F2 record and its teachers into F3 records (personal fields from
//! `people`, decrypted here and sealed again by `supervision::push`).
//!
//! A draft course is not pushed; a course gone since is skipped. Safe to run twice: the
//! records are keyed by the event they came from.

use std::sync::Arc;

use crate::kernel::ctx::Ctx;
use crate::kernel::tx::TenantTx;
use crate::outbox::{Delivery, Event};
use crate::people::lookup::{teacher_facts, TeacherFacts};
use crate::supervision::model::{time_slot, FieldSet, Op, Record};
use crate::tenancy::model::TenantContext;

use super::model::{CourseStatus, CourseView};

/// The outbox event kind the course triggers write.
pub const EVENT: &str = "courses.changed";

pub fn deliver(st: Arc<Ctx>, events: Vec<Event>) -> Delivery {
    Box::pin(async move { crate::outbox::one_by_one(&events, |ev| handle(&st, ev)).await })
}

/// The outbox event kind the staff trigger writes: a teacher's details changed.
pub const TEACHER_EVENT: &str = "courses.teacher_changed";

/// The handler of [`TEACHER_EVENT`]: one `courses.changed` event per course the teacher
/// teaches that the city knows of (each then pushes the teacher's F3 record again, in
/// order with the course's other changes).
pub fn deliver_teacher(st: Arc<Ctx>, events: Vec<Event>) -> Delivery {
    Box::pin(async move { crate::outbox::one_by_one(&events, |ev| teacher_changed(&st, ev)).await })
}

async fn teacher_changed(st: &Ctx, ev: &Event) -> Result<(), String> {
    let tenant = tenant(st, ev).await?;
    let staff_id = ev.payload["staff_id"]
        .as_i64()
        .ok_or("事件缺少教职工编号")?;
    let mut tx = TenantTx::begin(&st.db_app, &tenant)
        .await
        .map_err(|e| e.to_string())?;
    let courses = super::repo::pushed_courses_of_teacher(tx.conn(), staff_id)
        .await
        .map_err(|e| e.to_string())?;
    let events: Vec<crate::outbox::NewEvent> = courses
        .iter()
        .map(|id| {
            crate::outbox::NewEvent::new(
                EVENT,
                format!("course:{}:{id}", tenant.schema),
                serde_json::json!({ "course_id": id, "staff_id": staff_id, "removed": false }),
            )
            .keyed(format!("{}:course:{id}", ev.id))
        })
        .collect();
    tx.leave_role().await.map_err(|e| e.to_string())?;
    crate::outbox::emit_many(tx.conn(), Some(tenant.id), &events)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

/// The tenant of an event written by a tenant table's trigger.
pub(crate) async fn tenant(st: &Ctx, ev: &Event) -> Result<TenantContext, String> {
    let id = ev.tenant_id.ok_or("事件没有租户")?;
    let rec = crate::tenancy::lookup::find_by_id(&st.db_app, id)
        .await
        .map_err(|e| e.to_string())?;
    rec.as_ref()
        .and_then(TenantContext::from_record)
        .ok_or_else(|| format!("租户 {id} 不存在"))
}

/// 班级编号 at the receiver: the school's code and the course's.
pub fn class_no(tenant: &TenantContext, code: &str) -> String {
    format!("{}-{code}", tenant.code.as_str())
}

async fn handle(st: &Ctx, ev: &Event) -> Result<(), String> {
    let tenant = tenant(st, ev).await?;
    let course_id = ev.payload["course_id"].as_i64().ok_or("事件缺少课程编号")?;
    let mut tx = TenantTx::begin(&st.db_app, &tenant)
        .await
        .map_err(|e| e.to_string())?;
    let course = match super::service::any_status(&mut tx, course_id).await {
        Ok(c) => c,
        Err(super::error::CourseError::NotFound { .. }) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    if course.status == CourseStatus::Draft {
        return Ok(());
    }
    let class_no = class_no(&tenant, &course.code);
    let mut records = Vec::new();
    match ev.payload["staff_id"].as_i64() {
        Some(staff_id) => {
            let facts = teacher_facts(st, &mut tx, &[staff_id])
                .await
                .map_err(|e| e.to_string())?;
            for t in &facts {
                if ev.payload["removed"].as_bool() == Some(true) {
                    records.push(Record::new(
                        FieldSet::F3,
                        Op::Delete,
                        teacher_record_id(&class_no, t),
                    ));
                } else {
                    records.push(teacher_record(&tenant, &class_no, t));
                }
            }
        }
        None => {
            records.push(class_record(&class_no, &course));
            let ids: Vec<i64> = course.teachers.iter().map(|t| t.id).collect();
            let facts = teacher_facts(st, &mut tx, &ids)
                .await
                .map_err(|e| e.to_string())?;
            records.extend(facts.iter().map(|t| teacher_record(&tenant, &class_no, t)));
        }
    }
    commit_records(tx, &st.keys.pii, records, ev.id).await
}

fn teacher_record_id(class_no: &str, t: &TeacherFacts) -> String {
    format!("{class_no}-{}", t.staff_no)
}

/// F2 培训班级.
pub fn class_record(class_no: &str, c: &CourseView) -> Record {
    Record::new(FieldSet::F2, Op::Upsert, class_no)
        .with("classNo", class_no)
        .with("classType", c.class_type.label())
        .with("className", c.name.clone())
        .with("capacity", c.capacity)
        .with("timeSlot", time_slot(&c.weekdays, &c.starts_at))
        .with("startTime", format!("{} {}", c.starts_on, c.starts_at))
        .with("endTime", format!("{} {}", c.ends_on, c.ends_at))
        .with("category", c.category.clone())
        .with("intro", c.intro.clone())
        .with(
            "status",
            if c.status == CourseStatus::Closed {
                "已结束"
            } else {
                "开班中"
            },
        )
}

/// F3 教师.
fn teacher_record(tenant: &TenantContext, class_no: &str, t: &TeacherFacts) -> Record {
    Record::new(FieldSet::F3, Op::Upsert, teacher_record_id(class_no, t))
        .with(
            "teacherNo",
            format!("{}-{}", tenant.code.as_str(), t.staff_no),
        )
        .with("classNo", class_no)
        .with("teacherName", t.name.clone())
        .with("idNo", t.id_number.clone())
        .with("age", t.age)
        .with("teachingYears", t.teaching_years)
        .with("qualificationNo", t.qualification_no.clone())
        .with("education", t.education.clone())
        .with("title", t.title.clone())
        .with("phone", t.phone.clone())
        .with("resume", t.resume.clone())
        .with("employedSince", t.employed_since)
        .with("duties", t.duties.clone())
        .with("monthlySalary", t.monthly_salary.clone())
}

/// A full re-sync of a school's courses (`afterschool supervision resync`): one
/// `courses.changed` event per published or closed course, handled like any change.
pub async fn resync(st: &Ctx, tenant: &TenantContext) -> Result<u64, String> {
    let mut tx = TenantTx::begin(&st.db_app, tenant)
        .await
        .map_err(|e| e.to_string())?;
    let ids = super::repo::pushed_course_ids(tx.conn())
        .await
        .map_err(|e| e.to_string())?;
    let events: Vec<crate::outbox::NewEvent> = ids
        .iter()
        .map(|id| {
            crate::outbox::NewEvent::new(
                EVENT,
                format!("course:{}:{id}", tenant.schema),
                serde_json::json!({ "course_id": id }),
            )
        })
        .collect();
    let n = crate::outbox::emit_many(tx.conn(), Some(tenant.id), &events)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(n)
}

/// A handler's last step: the records it built in the tenant transaction `tx`, written
/// keyed by the event `source` (out of the tenant role: keyed events are checked against
/// earlier keys, which tenant roles may not read), then the commit.
pub async fn commit_records(
    mut tx: crate::kernel::tx::TenantTx,
    keys: &crate::pii::Keyring,
    records: Vec<crate::supervision::model::Record>,
    source: i64,
) -> Result<(), String> {
    let tenant_id = tx.tenant().id;
    tx.leave_role().await.map_err(|e| e.to_string())?;
    crate::supervision::push::records_from(tx.conn(), keys, Some(tenant_id), records, source)
        .await
        .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}
