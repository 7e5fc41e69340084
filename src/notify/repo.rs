//! The SQL of `platform.notify_subscriptions` and `platform.notify_messages`, and the
//! read-only lookups of a recipient (the openid payments bound, the account's phone).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub kind: String,
    pub status: String,
    pub openid: Option<String>,
    pub changed_at: DateTime<Utc>,
}

pub async fn subscriptions(
    c: &mut PgConnection,
    account_id: i64,
) -> sqlx::Result<Vec<SubscriptionRow>> {
    sqlx::query_as(
        "select kind, status, openid, changed_at from platform.notify_subscriptions
         where account_id = $1",
    )
    .bind(account_id)
    .fetch_all(c)
    .await
}

pub async fn set_subscription(
    c: &mut PgConnection,
    account_id: i64,
    kind: &str,
    status: &str,
    openid: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.notify_subscriptions (account_id, kind, status, openid)
         values ($1, $2, $3, $4)
         on conflict (account_id, kind) do update
           set status = excluded.status,
               openid = coalesce(excluded.openid, platform.notify_subscriptions.openid),
               changed_at = now()",
    )
    .bind(account_id)
    .bind(kind)
    .bind(status)
    .bind(openid)
    .execute(c)
    .await?;
    Ok(())
}

/// The openid payments bound for the account under `appid` (read only).
pub async fn openid(
    c: &mut PgConnection,
    account_id: i64,
    appid: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select openid from platform.wx_openids where account_id = $1 and appid = $2",
    )
    .bind(account_id)
    .bind(appid)
    .fetch_optional(c)
    .await
}

/// The account's phone, encrypted as auth stores it (read only).
pub async fn phone_enc(c: &mut PgConnection, account_id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("select phone_enc from platform.accounts where id = $1")
        .bind(account_id)
        .fetch_optional(c)
        .await
}

/// Messages sent to the account in the last `window_secs` (by the database's clock), and
/// the milliseconds until the oldest of them leaves the window.
pub async fn sent_within(
    c: &mut PgConnection,
    account_id: i64,
    window_secs: i64,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "select count(*),
                coalesce(ceil(extract(epoch from
                    min(sent_at) + make_interval(secs => $2) - clock_timestamp()) * 1000), 0)::int8
         from platform.notify_messages
         where account_id = $1 and sent_at > clock_timestamp() - make_interval(secs => $2)
           and status in ('sent', 'unknown')",
    )
    .bind(account_id)
    .bind(window_secs as f64)
    .fetch_one(c)
    .await
}

/// The message's state, if it was ever claimed.
pub async fn status(c: &mut PgConnection, idem_key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select status from platform.notify_messages where idem_key = $1")
        .bind(idem_key)
        .fetch_optional(c)
        .await
}

/// What claiming a message's row found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send (new, or a definite failure before).
    Send(i64),
    /// Sent before, or left in doubt by a crash: never sent again.
    Settled(String),
}

/// Takes the message's row for sending: written as `sending` when new or failed before.
pub async fn claim(
    c: &mut PgConnection,
    idem_key: &str,
    account_id: i64,
    tenant_id: Option<i64>,
    kind: &str,
    fields_enc: &[u8],
) -> sqlx::Result<Claim> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into platform.notify_messages (idem_key, account_id, tenant_id, kind, status, fields_enc)
         values ($1, $2, $3, $4, 'sending', $5)
         on conflict (idem_key) do update set status = 'sending'
           where platform.notify_messages.status = 'failed'
         returning id",
    )
    .bind(idem_key)
    .bind(account_id)
    .bind(tenant_id)
    .bind(kind)
    .bind(fields_enc)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(id) = id {
        return Ok(Claim::Send(id));
    }
    // `sending` here means a worker stopped between claiming and recording: the message
    // may have gone out, so it is not sent again.
    let status: String = sqlx::query_scalar(
        "update platform.notify_messages
         set status = case when status = 'sending' then 'unknown' else status end,
             detail = case when status = 'sending' then '发送中断，为免重复不再发送' else detail end,
             sent_at = case when status = 'sending' then now() else sent_at end
         where idem_key = $1 returning status",
    )
    .bind(idem_key)
    .fetch_one(c)
    .await?;
    Ok(Claim::Settled(status))
}

pub async fn finish(
    c: &mut PgConnection,
    id: i64,
    status: &str,
    channel: Option<&str>,
    detail: Option<&str>,
    wx_msgid: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.notify_messages
         set status = $2, channel = coalesce($3, channel), detail = $4, wx_msgid = $5,
             sent_at = case when $2 in ('sent', 'unknown') then now() else sent_at end
         where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(channel)
    .bind(detail)
    .bind(wx_msgid)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub account_id: i64,
    pub display_name: String,
    pub tenant_id: Option<i64>,
    pub kind: String,
    pub channel: Option<String>,
    pub status: String,
    pub fields_enc: Vec<u8>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The newest messages, of one recipient or of everyone.
pub async fn messages(
    c: &mut PgConnection,
    account_id: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<MessageRow>> {
    sqlx::query_as(
        "select m.id, m.account_id, a.display_name, m.tenant_id, m.kind, m.channel, m.status,
                m.fields_enc, m.detail, m.created_at, m.sent_at
         from platform.notify_messages m
         join platform.accounts a on a.id = m.account_id
         where $1::bigint is null or m.account_id = $1
         order by m.id desc limit $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(c)
    .await
}
