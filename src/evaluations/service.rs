//! What parents and admins do with evaluations. A new or edited evaluation is audited and
//! written for the city push (F6) in its transaction.

use serde_json::json;

use super::error::EvaluationError;
use super::model::*;
use super::repo::{self, EvaluationRow};
use crate::audit::{AuditEvent, Outcome};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;

fn view(r: &EvaluationRow) -> EvaluationView {
    EvaluationView {
        id: r.id,
        course_id: r.course_id,
        student_id: r.student_id,
        score: i32::from(r.score),
        content: r.content.clone(),
        created_at: r.created_at,
        updated_at: r.updated_at,
    }
}

fn checked(input: &EvaluationInput) -> Result<(i16, String), EvaluationError> {
    if !(1..=5).contains(&input.score) {
        return Err(EvaluationError::ScoreInvalid { value: input.score });
    }
    let content = input.content.trim().to_string();
    if content.chars().count() > CONTENT_MAX {
        return Err(EvaluationError::ContentInvalid);
    }
    Ok((input.score as i16, content))
}

async fn own_child(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student: i64,
) -> Result<(), EvaluationError> {
    if repo::is_guardian(tx.conn(), student, who.auth.account_id).await? {
        Ok(())
    } else {
        Err(EvaluationError::ChildNotFound {
            student_id: student,
        })
    }
}

/// The child's courses (confirmed places) with the evaluation of each, if any.
pub async fn of_child(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student: i64,
) -> Result<Vec<ChildCourseEvaluation>, EvaluationError> {
    own_child(tx, who, student).await?;
    let courses = repo::attended(tx.conn(), student).await?;
    let done = repo::of_student(tx.conn(), student).await?;
    Ok(courses
        .into_iter()
        .map(|c| ChildCourseEvaluation {
            evaluation: done.iter().find(|e| e.course_id == c.course_id).map(view),
            course_id: c.course_id,
            course_name: c.name,
            teachers: c.teachers,
            term_name: c.term_name,
        })
        .collect())
}

/// The F6 record of an evaluation, in the caller's transaction (outside the tenant role).
async fn push(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    r: &EvaluationRow,
) -> Result<(), EvaluationError> {
    let code = repo::course_code(tx.conn(), r.course_id).await?;
    let tenant = tx.tenant().clone();
    let record = crate::supervision::push::evaluation_record(
        &format!("{}-V{}", tenant.code.as_str(), r.id),
        &format!("{}-S{}", tenant.code.as_str(), r.student_id),
        &crate::courses::push::class_no(&tenant, &code),
        r.score as u8,
        &r.content,
    );
    tx.leave_role().await?;
    crate::supervision::push::record(tx.conn(), &who.st.keys.pii, Some(tenant.id), record).await?;
    tx.enter_role().await?;
    Ok(())
}

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    r: &EvaluationRow,
) -> Result<(), EvaluationError> {
    let ev = AuditEvent::new(action, format!("evaluation:{}", r.id), Outcome::Success)
        .details(json!({ "course_id": r.course_id, "student_id": r.student_id, "score": r.score }));
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

/// A parent rates a course their child attends, once per term.
pub async fn create(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student: i64,
    input: &EvaluationInput,
) -> Result<EvaluationView, EvaluationError> {
    own_child(tx, who, student).await?;
    let course = input.course_id.ok_or(EvaluationError::CourseMissing)?;
    let (score, content) = checked(input)?;
    let c = repo::attended(tx.conn(), student)
        .await?
        .into_iter()
        .find(|c| c.course_id == course)
        .ok_or(EvaluationError::NotAttending { course_id: course })?;
    let now = who.st.clock.now();
    let id = repo::insert(
        tx.conn(),
        course,
        student,
        c.term_id,
        who.auth.account_id,
        score,
        &content,
        now,
    )
    .await?
    .map_err(|id| EvaluationError::Exists { id })?;
    let r = repo::lock(tx.conn(), id)
        .await?
        .ok_or(EvaluationError::NotFound { id })?;
    record(tx, who, "evaluations.create", &r).await?;
    push(tx, who, &r).await?;
    Ok(view(&r))
}

/// The parent edits their child's evaluation.
pub async fn update(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    input: &EvaluationInput,
) -> Result<EvaluationView, EvaluationError> {
    let cur = repo::lock(tx.conn(), id)
        .await?
        .ok_or(EvaluationError::NotFound { id })?;
    if !repo::is_guardian(tx.conn(), cur.student_id, who.auth.account_id).await? {
        return Err(EvaluationError::NotFound { id });
    }
    let (score, content) = checked(input)?;
    repo::update(tx.conn(), id, score, &content, who.st.clock.now()).await?;
    let r = repo::lock(tx.conn(), id)
        .await?
        .ok_or(EvaluationError::NotFound { id })?;
    record(tx, who, "evaluations.update", &r).await?;
    push(tx, who, &r).await?;
    Ok(view(&r))
}

/// Each evaluated course's and each teacher's scores, with the latest comments (no names).
pub async fn summary(tx: &mut TenantTx) -> Result<EvaluationSummary, EvaluationError> {
    let comments = repo::comments(tx.conn(), 5).await?;
    let courses = repo::course_scores(tx.conn())
        .await?
        .into_iter()
        .map(|(id, name, teachers, count, average)| CourseScore {
            course_id: id,
            course_name: name,
            teachers,
            count,
            average,
            comments: comments
                .iter()
                .filter(|c| c.0 == id)
                .map(|c| CourseComment {
                    score: i32::from(c.1),
                    content: c.2.clone(),
                    at: c.3,
                })
                .collect(),
        })
        .collect();
    let teachers = repo::teacher_scores(tx.conn())
        .await?
        .into_iter()
        .map(|(teacher_name, courses, count, average)| TeacherScore {
            teacher_name,
            courses,
            count,
            average,
        })
        .collect();
    Ok(EvaluationSummary { courses, teachers })
}
