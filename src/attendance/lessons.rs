//! Lesson records and comments (R-P10, R-T07): after a session the teacher (of the course,
//! or an admin) writes what it covered, with up to nine photos, and comments on children of
//! the session (tags and text); parents read their own child's lessons.

use bytes::Bytes;
use chrono::NaiveDate;
use serde_json::json;

use super::error::AttendanceError;
use super::model::*;
use super::repo::{self, CommentRow, LessonRow};
use super::service::roll_course;
use crate::audit::{AuditEvent, Outcome};
use crate::courses::service::PictureUpload;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::storage::{ObjectKey, StoredObject, UploadPolicy};

const PICTURES_MAX: usize = 9;
const PICTURE_MAX_BYTES: usize = 5 * 1024 * 1024;

fn record_view(r: &LessonRow, picture: impl Fn(usize) -> String) -> LessonRecordView {
    LessonRecordView {
        course_id: r.course_id,
        course_name: r.course_name.clone(),
        day: r.day,
        content: r.content.clone(),
        written_at: r.written_at,
        pictures: (1..=r.pictures.len()).map(picture).collect(),
    }
}

fn comment_view(r: &CommentRow) -> CommentView {
    CommentView {
        course_id: r.course_id,
        day: r.day,
        student_id: r.student_id,
        tags: r.tags.clone(),
        content: r.content.clone(),
        written_at: r.written_at,
    }
}

/// The API's address of a record's photo (for staff).
pub fn picture_url(course: i64, day: NaiveDate, n: usize) -> String {
    format!("/api/v1/school/attendance/sessions/{course}/{day}/record/pictures/{n}")
}

async fn audit(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    course: i64,
    day: NaiveDate,
    details: serde_json::Value,
) -> Result<(), AttendanceError> {
    let ev = AuditEvent::new(action, format!("session:{course}:{day}"), Outcome::Success)
        .details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

/// A session that has begun (records are written during or after it).
async fn begun(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
) -> Result<(), AttendanceError> {
    roll_course(tx, who, course, day).await?;
    if day > who.st.clock.today() {
        return Err(AttendanceError::NotStarted {
            starts_at: day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
        });
    }
    Ok(())
}

/// The session's record and the comments on its children, as its teacher sees them.
pub async fn session(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
) -> Result<(Option<LessonRecordView>, Vec<CommentView>), AttendanceError> {
    roll_course(tx, who, course, day).await?;
    let record = repo::lesson(tx.conn(), course, day)
        .await?
        .map(|r| record_view(&r, |n| picture_url(course, day, n)));
    let comments = repo::comments_of_session(tx.conn(), course, day)
        .await?
        .iter()
        .map(comment_view)
        .collect();
    Ok((record, comments))
}

pub async fn set_record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    input: &LessonRecordInput,
) -> Result<LessonRecordView, AttendanceError> {
    let content = input.content.trim();
    if content.is_empty() || content.chars().count() > 2000 {
        return Err(AttendanceError::RecordInvalid);
    }
    begun(tx, who, course, day).await?;
    repo::set_lesson(
        tx.conn(),
        course,
        day,
        content,
        who.auth.account_id,
        who.st.clock.now(),
    )
    .await?;
    audit(
        tx,
        who,
        "lessons.record",
        course,
        day,
        json!({ "chars": content.chars().count() }),
    )
    .await?;
    let r = repo::lesson(tx.conn(), course, day)
        .await?
        .ok_or(AttendanceError::RecordFirst)?;
    Ok(record_view(&r, |n| picture_url(course, day, n)))
}

pub async fn add_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    up: PictureUpload,
) -> Result<LessonRecordView, AttendanceError> {
    roll_course(tx, who, course, day).await?;
    let cur = repo::lesson(tx.conn(), course, day)
        .await?
        .ok_or(AttendanceError::RecordFirst)?;
    if cur.pictures.len() >= PICTURES_MAX {
        return Err(AttendanceError::TooManyPictures { max: PICTURES_MAX });
    }
    let kind = UploadPolicy::pictures(PICTURE_MAX_BYTES)
        .check_upload(&up.bytes, up.declared.as_deref())?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), "lessons", kind)?;
    let size = up.bytes.len();
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await?;
    repo::add_lesson_picture(
        tx.conn(),
        course,
        day,
        key.as_str(),
        size as i32,
        PICTURES_MAX as i32,
    )
    .await?
    .ok_or(AttendanceError::TooManyPictures { max: PICTURES_MAX })?;
    audit(
        tx,
        who,
        "lessons.picture",
        course,
        day,
        json!({ "bytes": size }),
    )
    .await?;
    let r = repo::lesson(tx.conn(), course, day)
        .await?
        .ok_or(AttendanceError::RecordFirst)?;
    Ok(record_view(&r, |n| picture_url(course, day, n)))
}

/// Comments on a child of the session (replacing an earlier comment of that session).
pub async fn comment(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    student: i64,
    input: &CommentInput,
) -> Result<CommentView, AttendanceError> {
    let tags: Vec<String> = input
        .tags
        .iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    let content = input.content.trim();
    if (tags.is_empty() && content.is_empty())
        || tags.len() > 5
        || tags.iter().any(|t| t.chars().count() > 10)
        || content.chars().count() > 500
    {
        return Err(AttendanceError::CommentInvalid);
    }
    begun(tx, who, course, day).await?;
    if !repo::roll(tx.conn(), course, day)
        .await?
        .iter()
        .any(|r| r.student_id == student)
    {
        return Err(AttendanceError::NotInSession {
            student_id: student,
        });
    }
    let now = who.st.clock.now();
    repo::set_comment(
        tx.conn(),
        course,
        day,
        student,
        &tags,
        content,
        who.auth.account_id,
        now,
    )
    .await?;
    audit(
        tx,
        who,
        "lessons.comment",
        course,
        day,
        json!({ "student_id": student, "tags": tags.len() }),
    )
    .await?;
    Ok(CommentView {
        course_id: course,
        day,
        student_id: student,
        tags,
        content: content.to_string(),
        written_at: now,
    })
}

/// The parent's view: the child's sessions with their record, mark and comment.
pub async fn of_child(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student: i64,
) -> Result<Vec<ChildLesson>, AttendanceError> {
    if !repo::is_guardian(tx.conn(), student, who.auth.account_id).await? {
        return Err(AttendanceError::ChildNotFound {
            student_id: student,
        });
    }
    let comments = repo::comments_of_child(tx.conn(), student).await?;
    let mut out = Vec::new();
    for (course, name, day, mark) in repo::child_lessons(tx.conn(), student).await? {
        let record = repo::lesson(tx.conn(), course, day).await?.map(|r| {
            record_view(&r, |n| {
                format!("/api/v1/school/children/{student}/lessons/{course}/{day}/pictures/{n}")
            })
        });
        out.push(ChildLesson {
            course_id: course,
            course_name: name,
            day,
            mark_label: mark.map(|m| m.label().to_string()),
            record,
            comment: comments
                .iter()
                .find(|c| c.course_id == course && c.day == day)
                .map(comment_view),
        });
    }
    Ok(out)
}

/// A record's photo: for its staff (`student` none), or a guardian of a child in the course.
pub async fn picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    course: i64,
    day: NaiveDate,
    n: usize,
    student: Option<i64>,
) -> Result<StoredObject, AttendanceError> {
    match student {
        None => {
            roll_course(tx, who, course, day).await?;
        }
        Some(s) => {
            let mine = repo::is_guardian(tx.conn(), s, who.auth.account_id).await?
                && repo::roll(tx.conn(), course, day)
                    .await?
                    .iter()
                    .any(|r| r.student_id == s);
            if !mine {
                return Err(AttendanceError::ChildNotFound { student_id: s });
            }
        }
    }
    let r = repo::lesson(tx.conn(), course, day)
        .await?
        .ok_or(AttendanceError::RecordFirst)?;
    let stored =
        n.checked_sub(1)
            .and_then(|i| r.pictures.get(i))
            .ok_or(AttendanceError::Storage(
                crate::storage::StorageError::NotFound(format!("lesson picture {n}")),
            ))?;
    let key = ObjectKey::stored(tx.tenant().code.as_str(), stored)
        .map_err(|e| AttendanceError::Storage(crate::storage::StorageError::InvalidKey(e)))?;
    Ok(who.st.storage.get(&key).await?)
}
