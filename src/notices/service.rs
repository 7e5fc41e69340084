//! What senders and parents do with notices. Every change is audited in its transaction;
//! the messages of a publication are outbox events written in the same transaction, keyed
//! by notice and parent, so each parent is messaged once however often it is retried.

use bytes::Bytes;
use serde_json::{json, Value};

use super::error::NoticeError;
use super::model::*;
use super::repo::{self, NoticeRow, Target};
use crate::audit::{AuditEvent, Outcome};
use crate::auth::model::Domain;
use crate::courses::service::PictureUpload;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::people::service::{self as people, Scope};
use crate::storage::{ObjectKey, StoredObject, UploadPolicy};

const PICTURE_CATEGORY: &str = "notices";

async fn record(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    action: &str,
    id: i64,
    details: Value,
) -> Result<(), NoticeError> {
    let ev = AuditEvent::new(action, format!("notice:{id}"), Outcome::Success).details(details);
    Ok(tx.audit(who.st, who.auth, ev).await?)
}

pub fn picture_url(id: i64, position: usize) -> String {
    format!("/api/v1/school/notices/{id}/pictures/{position}")
}

/// The audience's words: 全校, the grades' or the classes' names.
async fn audience_label(tx: &mut TenantTx, r: &NoticeRow) -> Result<String, NoticeError> {
    Ok(match r.audience {
        Audience::School => Audience::School.label().to_string(),
        _ => repo::target_names(tx.conn(), &r.grade_ids, &r.class_ids)
            .await?
            .join("、"),
    })
}

async fn view(tx: &mut TenantTx, r: &NoticeRow) -> Result<NoticeView, NoticeError> {
    Ok(NoticeView {
        id: r.id,
        title: r.title.clone(),
        body: r.body.clone(),
        audience: r.audience,
        audience_label: audience_label(tx, r).await?,
        grade_ids: r.grade_ids.clone(),
        class_ids: r.class_ids.clone(),
        status: r.status,
        status_label: r.status.label().into(),
        sender: r.sender_label.clone(),
        created_at: r.created_at,
        published_at: r.published_at,
        edited_at: r.edited_at,
        withdrawn_at: r.withdrawn_at,
        pictures: (1..=r.pictures.len())
            .map(|p| picture_url(r.id, p))
            .collect(),
        messaged: r.messaged,
        read: None,
        audience_size: None,
        read_by_me: None,
    })
}

/// The sender's view: with how many of today's audience have read it.
async fn sender_view(tx: &mut TenantTx, r: &NoticeRow) -> Result<NoticeView, NoticeError> {
    let mut v = view(tx, r).await?;
    if r.status != NoticeStatus::Draft {
        let readers = repo::audience(tx.conn(), r.id).await?;
        v.read = Some(readers.iter().filter(|x| x.read).count() as i64);
        v.audience_size = Some(readers.len() as i64);
    }
    Ok(v)
}

fn parse_title(s: &str) -> Result<String, NoticeError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > TITLE_MAX {
        return Err(NoticeError::TitleInvalid);
    }
    Ok(t.to_string())
}

fn parse_body(s: &str) -> Result<String, NoticeError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > BODY_MAX {
        return Err(NoticeError::BodyInvalid);
    }
    Ok(t.to_string())
}

/// A request's text and audience, checked against the school and the sender's scope.
struct Checked {
    title: String,
    body: String,
    audience: Audience,
    grades: Vec<i64>,
    classes: Vec<i64>,
}

async fn check(tx: &mut TenantTx, scope: &Scope, req: &NewNotice) -> Result<Checked, NoticeError> {
    let title = parse_title(&req.title)?;
    let body = parse_body(&req.body)?;
    let audience =
        Audience::parse(req.audience.trim()).ok_or_else(|| NoticeError::AudienceInvalid {
            value: req.audience.clone(),
        })?;
    let dedup = |ids: &[i64]| {
        let mut v = ids.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (grades, classes) = match audience {
        Audience::School => (Vec::new(), Vec::new()),
        Audience::Grades => (dedup(&req.grade_ids), Vec::new()),
        Audience::Classes => (Vec::new(), dedup(&req.class_ids)),
    };
    if audience != Audience::School && grades.is_empty() && classes.is_empty() {
        return Err(NoticeError::TargetsMissing {
            audience: audience.label(),
        });
    }
    // A homeroom teacher: their own classes, nothing wider.
    if let Scope::Classes(mine) = scope {
        if audience != Audience::Classes {
            return Err(NoticeError::ScopeForbidden { class_id: None });
        }
        if let Some(c) = classes.iter().find(|c| !mine.contains(c)) {
            return Err(NoticeError::ScopeForbidden { class_id: Some(*c) });
        }
    }
    let (table, ids) = if grades.is_empty() {
        (Target::Class, &classes)
    } else {
        (Target::Grade, &grades)
    };
    let found = repo::existing(tx.conn(), table, ids).await?;
    if let Some(id) = ids.iter().find(|i| !found.contains(i)) {
        return Err(match table {
            Target::Grade => NoticeError::GradeNotFound { id: *id },
            Target::Class => NoticeError::ClassNotFound { id: *id },
        });
    }
    Ok(Checked {
        title,
        body,
        audience,
        grades,
        classes,
    })
}

/// The sender's notice, locked: an admin's any of the school's, a teacher's only their own.
async fn own(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    scope: &Scope,
    id: i64,
) -> Result<NoticeRow, NoticeError> {
    repo::lock(tx.conn(), id)
        .await?
        .filter(|r| matches!(scope, Scope::All) || r.created_by == who.auth.account_id)
        .ok_or(NoticeError::NotFound { id })
}

/// Refuses `action` unless the notice is `want`.
fn require(cur: &NoticeRow, want: NoticeStatus, action: &'static str) -> Result<(), NoticeError> {
    if cur.status == want {
        return Ok(());
    }
    Err(NoticeError::StatusInvalid {
        id: cur.id,
        status: cur.status.label(),
        action,
    })
}

fn sender_label(who: &Actor<'_>, scope: &Scope) -> String {
    match scope {
        Scope::All => "学校".to_string(),
        Scope::Classes(_) => format!("班主任 {}", who.auth.display_name),
    }
}

/// The notices the caller sent (an admin: the school's), newest first.
pub async fn sent(tx: &mut TenantTx, who: &Actor<'_>) -> Result<Vec<NoticeView>, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let author = match scope {
        Scope::All => None,
        Scope::Classes(_) => Some(who.auth.account_id),
    };
    let mut out = Vec::new();
    for r in repo::sent(tx.conn(), author).await? {
        out.push(sender_view(tx, &r).await?);
    }
    Ok(out)
}

/// One of the caller's notices, as its sender sees it.
pub async fn sent_one(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let r = own(tx, who, &scope, id).await?;
    sender_view(tx, &r).await
}

/// A new draft.
pub async fn create(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: &NewNotice,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let c = check(tx, &scope, req).await?;
    let now = who.st.clock.now();
    let label = sender_label(who, &scope);
    let id = repo::insert(
        tx.conn(),
        &c.title,
        &c.body,
        c.audience,
        who.auth.account_id,
        &label,
        now,
    )
    .await?;
    repo::set_targets(tx.conn(), id, &c.grades, &c.classes).await?;
    record(
        tx,
        who,
        "notices.create",
        id,
        json!({ "audience": c.audience.as_str(), "grades": c.grades, "classes": c.classes }),
    )
    .await?;
    sent_one(tx, who, id).await
}

/// A draft rewritten (text and audience), or a published notice's text edited (its
/// audience stays: it was messaged already).
pub async fn update(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    req: &NewNotice,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let cur = own(tx, who, &scope, id).await?;
    let c = check(tx, &scope, req).await?;
    match cur.status {
        NoticeStatus::Draft => {
            repo::update_draft(tx.conn(), id, &c.title, &c.body, c.audience).await?;
            repo::set_targets(tx.conn(), id, &c.grades, &c.classes).await?;
        }
        NoticeStatus::Published => {
            if c.audience != cur.audience || c.grades != cur.grade_ids || c.classes != cur.class_ids
            {
                return Err(NoticeError::AudienceLocked);
            }
            repo::edit(tx.conn(), id, &c.title, &c.body, who.st.clock.now()).await?;
        }
        NoticeStatus::Withdrawn => {
            return Err(NoticeError::StatusInvalid {
                id,
                status: cur.status.label(),
                action: "修改",
            })
        }
    }
    record(
        tx,
        who,
        "notices.update",
        id,
        json!({ "status": cur.status.as_str(), "title_changed": c.title != cur.title,
                "body_changed": c.body != cur.body }),
    )
    .await?;
    sent_one(tx, who, id).await
}

/// Adds a picture (JPEG, PNG or WebP by its bytes, at most 5 MB) after the others.
pub async fn add_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    up: PictureUpload,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let cur = own(tx, who, &scope, id).await?;
    if cur.status == NoticeStatus::Withdrawn {
        return Err(NoticeError::StatusInvalid {
            id,
            status: cur.status.label(),
            action: "添加图片",
        });
    }
    if cur.pictures.len() >= PICTURES_MAX {
        return Err(NoticeError::TooManyPictures { max: PICTURES_MAX });
    }
    let kind = UploadPolicy::pictures(PICTURE_MAX_BYTES)
        .check_upload(&up.bytes, up.declared.as_deref())?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), PICTURE_CATEGORY, kind)?;
    let size = up.bytes.len();
    // Stored before the row points at it: a failure after this leaves an unreferenced
    // object, never a reference to a missing one.
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await?;
    let position = repo::add_picture(
        tx.conn(),
        id,
        key.as_str(),
        size as i32,
        PICTURES_MAX as i32,
    )
    .await?
    .ok_or(NoticeError::TooManyPictures { max: PICTURES_MAX })?;
    if cur.status == NoticeStatus::Published {
        repo::edit(tx.conn(), id, &cur.title, &cur.body, who.st.clock.now()).await?;
    }
    record(
        tx,
        who,
        "notices.picture.add",
        id,
        json!({ "position": position, "key": key.as_str(), "bytes": size }),
    )
    .await?;
    sent_one(tx, who, id).await
}

pub async fn remove_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    position: i32,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let cur = own(tx, who, &scope, id).await?;
    if !repo::remove_picture(tx.conn(), id, position).await? {
        return Err(NoticeError::PictureNotFound { position });
    }
    if cur.status == NoticeStatus::Published {
        repo::edit(tx.conn(), id, &cur.title, &cur.body, who.st.clock.now()).await?;
    }
    record(
        tx,
        who,
        "notices.picture.remove",
        id,
        json!({ "position": position }),
    )
    .await?;
    sent_one(tx, who, id).await
}

/// Publishes a draft: each parent of its audience now is messaged once (学校通知).
pub async fn publish(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let cur = own(tx, who, &scope, id).await?;
    require(&cur, NoticeStatus::Draft, "再次发布")?;
    // A teacher who no longer leads a class of the draft cannot send it there.
    if let Scope::Classes(mine) = &scope {
        if let Some(c) = cur.class_ids.iter().find(|c| !mine.contains(c)) {
            return Err(NoticeError::ScopeForbidden { class_id: Some(*c) });
        }
    }
    let now = who.st.clock.now();
    let readers = repo::audience(tx.conn(), id).await?;
    let tenant_id = tx.tenant().id;
    let when = crate::notify::model::time(now);
    tx.leave_role().await?;
    let mut messaged = 0;
    for r in &readers {
        let m = crate::notify::Message::new(
            crate::notify::Kind::SchoolNotice,
            r.account_id,
            format!("notice:{id}"),
        )
        .tenant(tenant_id)
        .field("thing1", &cur.title)
        .field("thing2", &cur.sender_label)
        .field("time3", &when);
        if crate::notify::emit(tx.conn(), &who.st.keys, &m).await? {
            messaged += 1;
        }
    }
    tx.enter_role().await?;
    repo::publish(tx.conn(), id, messaged, now).await?;
    record(
        tx,
        who,
        "notices.publish",
        id,
        json!({ "audience": cur.audience.as_str(), "parents": readers.len(), "messaged": messaged }),
    )
    .await?;
    sent_one(tx, who, id).await
}

/// Withdraws a published notice: parents no longer see it.
pub async fn withdraw(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<NoticeView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    let cur = own(tx, who, &scope, id).await?;
    require(&cur, NoticeStatus::Published, "撤回")?;
    repo::withdraw(tx.conn(), id, who.st.clock.now()).await?;
    record(tx, who, "notices.withdraw", id, json!({})).await?;
    sent_one(tx, who, id).await
}

/// Who of the audience has read it, and the list of who has not.
pub async fn reads(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<NoticeReadsView, NoticeError> {
    let scope = people::scope(who.st, who.auth, tx).await?;
    own(tx, who, &scope, id).await?;
    let readers = repo::audience(tx.conn(), id).await?;
    let read = readers.iter().filter(|r| r.read).count() as i64;
    Ok(NoticeReadsView {
        notice_id: id,
        audience_size: readers.len() as i64,
        read,
        unread: readers
            .into_iter()
            .filter(|r| !r.read)
            .map(|r| UnreadParent {
                account_id: r.account_id,
                guardian_name: r.guardian_name,
                children: r.children,
            })
            .collect(),
    })
}

/// The parent's notices: published, addressed to a class of one of their children.
pub async fn inbox(tx: &mut TenantTx, who: &Actor<'_>) -> Result<Vec<NoticeView>, NoticeError> {
    let mut out = Vec::new();
    for (r, read) in repo::inbox(tx.conn(), who.auth.account_id).await? {
        let mut v = view(tx, &r).await?;
        v.read_by_me = Some(read);
        out.push(v);
    }
    Ok(out)
}

/// A parent opens a notice addressed to them: recorded as read.
pub async fn open(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<NoticeView, NoticeError> {
    let r = addressed(tx, who, id).await?;
    repo::mark_read(tx.conn(), id, who.auth.account_id, who.st.clock.now()).await?;
    let mut v = view(tx, &r).await?;
    v.read_by_me = Some(true);
    Ok(v)
}

/// The notice, published and addressed to the parent; withdrawn says so.
async fn addressed(tx: &mut TenantTx, who: &Actor<'_>, id: i64) -> Result<NoticeRow, NoticeError> {
    let r = repo::notice(tx.conn(), id)
        .await?
        .filter(|r| r.status != NoticeStatus::Draft)
        .ok_or(NoticeError::NotFound { id })?;
    if !repo::addressed_to(tx.conn(), id, who.auth.account_id).await? {
        return Err(NoticeError::NotFound { id });
    }
    if r.status == NoticeStatus::Withdrawn {
        return Err(NoticeError::Withdrawn { id });
    }
    Ok(r)
}

/// A picture of a notice, for its sender (an admin: any of the school's) or a parent it is
/// addressed to.
pub async fn picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    position: usize,
) -> Result<StoredObject, NoticeError> {
    let roles = who.auth.roles_in_tenant(tx.tenant().id);
    let sends = who
        .st
        .authz
        .any_allows(&roles, Domain::School, "school.notices", "send");
    let mut mine = None;
    if sends {
        let scope = people::scope(who.st, who.auth, tx).await?;
        mine = repo::notice(tx.conn(), id)
            .await?
            .filter(|r| matches!(scope, Scope::All) || r.created_by == who.auth.account_id);
    }
    let r = match mine {
        Some(r) => r,
        None => addressed(tx, who, id).await?,
    };
    let stored = position
        .checked_sub(1)
        .and_then(|i| r.pictures.get(i))
        .ok_or(NoticeError::PictureNotFound {
            position: position as i32,
        })?;
    let key =
        ObjectKey::stored(tx.tenant().code.as_str(), stored).map_err(NoticeError::Invariant)?;
    Ok(who.st.storage.get(&key).await?)
}
