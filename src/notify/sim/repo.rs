//! The SQL of the WeChat message simulator's tables, and nothing else.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::Fault;

pub async fn fault(c: &mut PgConnection) -> sqlx::Result<Fault> {
    let f: String = sqlx::query_scalar("select fault from platform.wxmsg_sim_control where id = 1")
        .fetch_one(c)
        .await?;
    Ok(Fault::parse(&f).unwrap_or(Fault::None))
}

pub async fn set_fault(c: &mut PgConnection, f: Fault) -> sqlx::Result<()> {
    sqlx::query("update platform.wxmsg_sim_control set fault = $1 where id = 1")
        .bind(f.as_str())
        .execute(c)
        .await?;
    Ok(())
}

/// Adds one to `refused` or `rejected`.
pub async fn count(c: &mut PgConnection, column: &'static str) -> sqlx::Result<()> {
    let sql = if column == "refused" {
        "update platform.wxmsg_sim_control set refused = refused + 1 where id = 1"
    } else {
        "update platform.wxmsg_sim_control set rejected = rejected + 1 where id = 1"
    };
    sqlx::query(sql).execute(c).await?;
    Ok(())
}

pub async fn grant(
    c: &mut PgConnection,
    openid: &str,
    template_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select status from platform.wxmsg_sim_grants where openid = $1 and template_id = $2",
    )
    .bind(openid)
    .bind(template_id)
    .fetch_optional(c)
    .await
}

pub async fn set_grant(
    c: &mut PgConnection,
    openid: &str,
    template_id: &str,
    accept: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.wxmsg_sim_grants (openid, template_id, status) values ($1, $2, $3)
         on conflict (openid, template_id) do update set status = excluded.status, updated_at = now()",
    )
    .bind(openid)
    .bind(template_id)
    .bind(if accept { "accept" } else { "reject" })
    .execute(c)
    .await?;
    Ok(())
}

pub async fn keep(
    c: &mut PgConnection,
    msgid: &str,
    openid: &str,
    template_id: &str,
    data_enc: &[u8],
    page: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.wxmsg_sim_inbox (msgid, openid, template_id, data_enc, page)
         values ($1, $2, $3, $4, nullif($5, ''))",
    )
    .bind(msgid)
    .bind(openid)
    .bind(template_id)
    .bind(data_enc)
    .bind(page)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
pub struct InboxRow {
    pub msgid: String,
    pub openid: String,
    pub template_id: String,
    pub data_enc: Vec<u8>,
    pub page: Option<String>,
    pub received_at: DateTime<Utc>,
}

pub async fn inbox(
    c: &mut PgConnection,
    openid: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<InboxRow>> {
    sqlx::query_as(
        "select msgid, openid, template_id, data_enc, page, received_at
         from platform.wxmsg_sim_inbox where $1::text is null or openid = $1
         order by id desc limit $2",
    )
    .bind(openid)
    .bind(limit)
    .fetch_all(c)
    .await
}

/// The simulator's state for the console.
#[derive(Debug, Clone)]
pub struct Counters {
    pub fault: Fault,
    pub messages: i64,
    pub grants: i64,
    pub refused: i64,
    pub rejected: i64,
}

pub async fn counters(pool: &sqlx::PgPool) -> sqlx::Result<Counters> {
    let (fault, refused, rejected, messages, grants): (String, i64, i64, i64, i64) =
        sqlx::query_as(
            "select fault, refused, rejected,
                    (select count(*) from platform.wxmsg_sim_inbox),
                    (select count(*) from platform.wxmsg_sim_grants where status = 'accept')
             from platform.wxmsg_sim_control where id = 1",
        )
        .fetch_one(pool)
        .await?;
    Ok(Counters {
        fault: Fault::parse(&fault).unwrap_or(Fault::None),
        messages,
        grants,
        refused,
        rejected,
    })
}
