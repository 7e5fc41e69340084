//! The notices' tables (`tenant/school/0009_notices.sql`), run under the tenant role, and
//! the reads of classes, students and guardians that find a notice's audience.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::model::{Audience, NoticeStatus};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoticeRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub audience: Audience,
    pub status: NoticeStatus,
    pub created_by: i64,
    pub sender_label: String,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub edited_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub messaged: i32,
    pub grade_ids: Vec<i64>,
    pub class_ids: Vec<i64>,
    /// The pictures' object keys, by position.
    pub pictures: Vec<String>,
}

const SELECT: &str = "select n.id, n.title, n.body, n.audience, n.status, n.created_by,
        n.sender_label, n.created_at, n.published_at, n.edited_at, n.withdrawn_at, n.messaged,
        coalesce((select array_agg(t.grade_id order by t.grade_id) from notice_targets t
                  where t.notice_id = n.id and t.grade_id is not null), '{}') as grade_ids,
        coalesce((select array_agg(t.class_id order by t.class_id) from notice_targets t
                  where t.notice_id = n.id and t.class_id is not null), '{}') as class_ids,
        coalesce((select array_agg(p.object_key order by p.position) from notice_pictures p
                  where p.notice_id = n.id), '{}') as pictures
    from notices n";

/// Whether class `c` (a `classes` row alias) is in notice `n`'s scope.
const COVERS: &str = "(n.audience = 'school'
        or (n.audience = 'grades' and exists (select 1 from notice_targets t
                where t.notice_id = n.id and t.grade_id = c.grade_id))
        or (n.audience = 'classes' and exists (select 1 from notice_targets t
                where t.notice_id = n.id and t.class_id = c.id)))";

pub async fn notice(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<NoticeRow>> {
    sqlx::query_as(&format!("{SELECT} where n.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn lock(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<NoticeRow>> {
    sqlx::query_as(&format!("{SELECT} where n.id = $1 for update of n"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// Notices written by `author` (all the school's when `None`), newest first.
pub async fn sent(c: &mut PgConnection, author: Option<i64>) -> sqlx::Result<Vec<NoticeRow>> {
    sqlx::query_as(&format!(
        "{SELECT} where ($1::bigint is null or n.created_by = $1)
         order by coalesce(n.published_at, n.created_at) desc, n.id desc limit 200"
    ))
    .bind(author)
    .fetch_all(&mut *c)
    .await
}

/// The published notices addressed to a class of one of the account's active children,
/// newest first, with whether the account has read each.
pub async fn inbox(c: &mut PgConnection, account: i64) -> sqlx::Result<Vec<(NoticeRow, bool)>> {
    let rows: Vec<InboxRow> = sqlx::query_as(&format!(
        "select x.*, exists (select 1 from notice_reads r
                             where r.notice_id = x.id and r.account_id = $1) as read_by_me
         from ({SELECT} where n.status = 'published' and exists (
                 select 1 from students s
                 join classes c on c.id = s.class_id
                 join student_guardians sg on sg.student_id = s.id
                 join guardians g on g.id = sg.guardian_id
                 where g.account_id = $1 and s.status = 'active' and {COVERS})) x
         order by x.published_at desc, x.id desc limit 200"
    ))
    .bind(account)
    .fetch_all(&mut *c)
    .await?;
    Ok(rows.into_iter().map(|r| (r.notice, r.read_by_me)).collect())
}

#[derive(sqlx::FromRow)]
struct InboxRow {
    #[sqlx(flatten)]
    notice: NoticeRow,
    read_by_me: bool,
}

/// Whether the account is a guardian of an active child in the notice's scope.
pub async fn addressed_to(c: &mut PgConnection, id: i64, account: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!(
        "select exists (select 1 from notices n, students s
                 join classes c on c.id = s.class_id
                 join student_guardians sg on sg.student_id = s.id
                 join guardians g on g.id = sg.guardian_id
                 where n.id = $1 and g.account_id = $2 and s.status = 'active' and {COVERS})"
    ))
    .bind(id)
    .bind(account)
    .fetch_one(&mut *c)
    .await
}

/// One parent of the audience: account, guardian name, and the children in scope with
/// their class.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reader {
    pub account_id: i64,
    pub guardian_name: String,
    pub children: Vec<String>,
    pub read: bool,
}

/// The notice's audience now: the registered guardians of the active children of the
/// classes in its scope, each once, with whether they read it; by class, then name.
pub async fn audience(c: &mut PgConnection, id: i64) -> sqlx::Result<Vec<Reader>> {
    sqlx::query_as(&format!(
        "select g.account_id, min(g.name) as guardian_name,
                array_agg(distinct s.name || '（' || c.name || '）') as children,
                exists (select 1 from notice_reads r
                        where r.notice_id = n.id and r.account_id = g.account_id) as read
         from notices n, students s
         join classes c on c.id = s.class_id
         join student_guardians sg on sg.student_id = s.id
         join guardians g on g.id = sg.guardian_id
         where n.id = $1 and g.account_id is not null and s.status = 'active' and {COVERS}
         group by n.id, g.account_id
         order by min(c.name), min(g.name), g.account_id"
    ))
    .bind(id)
    .fetch_all(&mut *c)
    .await
}

pub async fn insert(
    c: &mut PgConnection,
    title: &str,
    body: &str,
    audience: Audience,
    by: i64,
    sender_label: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into notices (title, body, audience, created_by, sender_label, created_at)
         values ($1, $2, $3, $4, $5, $6) returning id",
    )
    .bind(title)
    .bind(body)
    .bind(audience)
    .bind(by)
    .bind(sender_label)
    .bind(now)
    .fetch_one(&mut *c)
    .await
}

/// A draft's text and audience.
pub async fn update_draft(
    c: &mut PgConnection,
    id: i64,
    title: &str,
    body: &str,
    audience: Audience,
) -> sqlx::Result<()> {
    sqlx::query("update notices set title = $2, body = $3, audience = $4 where id = $1")
        .bind(id)
        .bind(title)
        .bind(body)
        .bind(audience)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A published notice's text, edited.
pub async fn edit(
    c: &mut PgConnection,
    id: i64,
    title: &str,
    body: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update notices set title = $2, body = $3, edited_at = $4 where id = $1")
        .bind(id)
        .bind(title)
        .bind(body)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Replaces the targets: grades or classes (one of the two is empty).
pub async fn set_targets(
    c: &mut PgConnection,
    id: i64,
    grades: &[i64],
    classes: &[i64],
) -> sqlx::Result<()> {
    sqlx::query("delete from notice_targets where notice_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "insert into notice_targets (notice_id, grade_id, class_id)
         select $1, g, null from unnest($2::bigint[]) g
         union all select $1, null, k from unnest($3::bigint[]) k",
    )
    .bind(id)
    .bind(grades)
    .bind(classes)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// The ids among `ids` that are grades (or classes) of the school.
pub async fn existing(c: &mut PgConnection, table: Target, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    let sql = match table {
        Target::Grade => "select id from grades where id = any($1)",
        Target::Class => "select id from classes where id = any($1)",
    };
    sqlx::query_scalar(sql).bind(ids).fetch_all(&mut *c).await
}

#[derive(Debug, Clone, Copy)]
pub enum Target {
    Grade,
    Class,
}

/// Grade and class names by id, for the audience label.
pub async fn target_names(
    c: &mut PgConnection,
    grades: &[i64],
    classes: &[i64],
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select name from (select name, 0 as k, level::bigint as o from grades where id = any($1)
                           union all
                           select c.name, 1, g.level * 1000 + c.id from classes c
                           join grades g on g.id = c.grade_id where c.id = any($2)) x
         order by k, o",
    )
    .bind(grades)
    .bind(classes)
    .fetch_all(&mut *c)
    .await
}

pub async fn publish(
    c: &mut PgConnection,
    id: i64,
    messaged: i32,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update notices set status = 'published', published_at = $2, messaged = $3
         where id = $1",
    )
    .bind(id)
    .bind(now)
    .bind(messaged)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn withdraw(c: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("update notices set status = 'withdrawn', withdrawn_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// Records a read (the first and the latest).
pub async fn mark_read(
    c: &mut PgConnection,
    id: i64,
    account: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into notice_reads (notice_id, account_id, first_read_at, last_read_at)
         values ($1, $2, $3, $3)
         on conflict (notice_id, account_id) do update set last_read_at = excluded.last_read_at",
    )
    .bind(id)
    .bind(account)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

/// Appends a picture after the last one; `None` when the notice holds `max` already.
pub async fn add_picture(
    c: &mut PgConnection,
    id: i64,
    key: &str,
    bytes: i32,
    max: i32,
) -> sqlx::Result<Option<i32>> {
    sqlx::query_scalar(
        "insert into notice_pictures (notice_id, position, object_key, bytes)
         select $1, coalesce(max(position), 0) + 1, $2, $3 from notice_pictures
         where notice_id = $1
         having coalesce(max(position), 0) < $4
         returning position",
    )
    .bind(id)
    .bind(key)
    .bind(bytes)
    .bind(max)
    .fetch_optional(&mut *c)
    .await
}

/// Removes a picture and closes the gap; `false` when there was none at `position`.
pub async fn remove_picture(c: &mut PgConnection, id: i64, position: i32) -> sqlx::Result<bool> {
    let gone = sqlx::query("delete from notice_pictures where notice_id = $1 and position = $2")
        .bind(id)
        .bind(position)
        .execute(&mut *c)
        .await?
        .rows_affected();
    if gone == 0 {
        return Ok(false);
    }
    // Two steps so that no two rows share a position in between (the key).
    sqlx::query(
        "update notice_pictures set position = -position where notice_id = $1 and position > $2",
    )
    .bind(id)
    .bind(position)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "update notice_pictures set position = -position - 1 where notice_id = $1 and position < 0",
    )
    .bind(id)
    .execute(&mut *c)
    .await?;
    Ok(true)
}
