//! SQL on the platform's account tables. The only place in `auth` with SQL.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::model::{Assignment, Role};

/// `platform.accounts.status`: a disabled account cannot sign in or keep a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    Disabled,
}
crate::text_column!(AccountStatus { Active => "active", Disabled => "disabled" });

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub display_name: String,
    pub phone_enc: Vec<u8>,
    pub password_hash: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub totp_secret_enc: Option<Vec<u8>>,
    pub totp_enabled_at: Option<DateTime<Utc>>,
    pub totp_last_step: Option<i64>,
    pub failed_logins: i32,
    pub locked_until: Option<DateTime<Utc>>,
    pub status: AccountStatus,
}

const ACCOUNT_COLS: &str = "id, display_name, phone_enc, password_hash, password_changed_at, \
     totp_secret_enc, totp_enabled_at, totp_last_step, failed_logins, locked_until, status";

pub async fn account_by_phone_hash<'e>(
    db: impl PgExecutor<'e>,
    hash: &[u8],
) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as(&format!(
        "select {ACCOUNT_COLS} from platform.accounts where phone_hash = $1"
    ))
    .bind(hash)
    .fetch_optional(db)
    .await
}

pub async fn account_by_id<'e>(
    db: impl PgExecutor<'e>,
    id: i64,
) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as(&format!(
        "select {ACCOUNT_COLS} from platform.accounts where id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Inserts the account unless one with this phone exists; returns its id and whether it
/// was created.
pub async fn upsert_account(
    db: &mut PgConnection,
    phone_hash: &[u8],
    phone_enc: &[u8],
    name: &str,
    password_hash: Option<&str>,
) -> sqlx::Result<(i64, bool)> {
    let created: Option<i64> = sqlx::query_scalar(
        "insert into platform.accounts (phone_hash, phone_enc, display_name, password_hash)
         values ($1, $2, $3, $4) on conflict (phone_hash) do nothing returning id",
    )
    .bind(phone_hash)
    .bind(phone_enc)
    .bind(name)
    .bind(password_hash)
    .fetch_optional(&mut *db)
    .await?;
    if let Some(id) = created {
        return Ok((id, true));
    }
    let id: i64 = sqlx::query_scalar("select id from platform.accounts where phone_hash = $1")
        .bind(phone_hash)
        .fetch_one(&mut *db)
        .await?;
    Ok((id, false))
}

pub async fn assignments<'e>(
    db: impl PgExecutor<'e>,
    account_id: i64,
) -> sqlx::Result<Vec<Assignment>> {
    let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "select id, role, tenant_id from platform.role_assignments where account_id = $1 order by id",
    )
    .bind(account_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, role, tenant_id)| {
            Some(Assignment {
                id,
                role: Role::parse(&role)?,
                tenant_id,
            })
        })
        .collect())
}

/// Counts a failed sign-in; at `threshold` failures the account locks until `lock_until`
/// and the counter restarts. Returns the lock time when this failure caused a lockout.
pub async fn record_failure(
    db: &PgPool,
    account_id: i64,
    threshold: i32,
    lock_until: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let (locked, lockout): (Option<DateTime<Utc>>, bool) = sqlx::query_as(
        "update platform.accounts
         set failed_logins = case when failed_logins + 1 >= $2 then 0 else failed_logins + 1 end,
             locked_until  = case when failed_logins + 1 >= $2 then $3 else locked_until end
         where id = $1
         returning locked_until, failed_logins = 0",
    )
    .bind(account_id)
    .bind(threshold)
    .bind(lock_until)
    .fetch_one(db)
    .await?;
    Ok(if lockout { locked } else { None })
}

pub async fn reset_failures(db: &PgPool, account_id: i64) -> sqlx::Result<()> {
    sqlx::query("update platform.accounts set failed_logins = 0, locked_until = null where id = $1 and (failed_logins <> 0 or locked_until is not null)")
        .bind(account_id)
        .execute(db)
        .await?;
    Ok(())
}

pub struct NewSession<'a> {
    pub token_hash: &'a [u8],
    pub account_id: i64,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub mfa_passed: bool,
    pub source_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn create_session<'e>(db: impl PgExecutor<'e>, s: &NewSession<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into platform.sessions
             (token_hash, account_id, created_at, last_seen_at, expires_at, mfa_passed, source_ip, user_agent)
         values ($1, $2, $3, $3, $4, $5, $6, $7) returning id",
    )
    .bind(s.token_hash)
    .bind(s.account_id)
    .bind(s.now)
    .bind(s.expires_at)
    .bind(s.mfa_passed)
    .bind(s.source_ip)
    .bind(s.user_agent)
    .fetch_one(db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub account_id: i64,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub mfa_passed: bool,
    pub display_name: String,
    pub status: AccountStatus,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub has_password: bool,
    pub totp_enabled: bool,
    /// The account's role assignments, oldest first, as `(id, role, tenant_id)`: read in
    /// the same round trip because every authenticated request needs them.
    pub assignments: sqlx::types::Json<Vec<(i64, String, Option<i64>)>>,
}

impl SessionRow {
    /// [`Self::assignments`] with unknown role names dropped, as [`assignments`] does.
    pub fn assignments(&self) -> Vec<Assignment> {
        self.assignments
            .iter()
            .filter_map(|(id, role, tenant_id)| {
                Some(Assignment {
                    id: *id,
                    role: Role::parse(role)?,
                    tenant_id: *tenant_id,
                })
            })
            .collect()
    }
}

pub async fn session_by_token_hash(db: &PgPool, hash: &[u8]) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "select s.id, s.account_id, s.last_seen_at, s.expires_at, s.revoked_at, s.mfa_passed,
                a.display_name, a.status, a.password_changed_at,
                a.password_hash is not null as has_password,
                a.totp_enabled_at is not null as totp_enabled,
                coalesce((select json_agg(json_build_array(r.id, r.role, r.tenant_id) order by r.id)
                          from platform.role_assignments r where r.account_id = s.account_id),
                         '[]') as assignments
         from platform.sessions s join platform.accounts a on a.id = s.account_id
         where s.token_hash = $1",
    )
    .bind(hash)
    .fetch_optional(db)
    .await
}

pub async fn touch_session(db: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query("update platform.sessions set last_seen_at = $2 where id = $1")
        .bind(id)
        .bind(now)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn revoke_session(db: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.sessions set revoked_at = $2 where id = $1 and revoked_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn revoke_all_sessions<'e>(
    db: impl PgExecutor<'e>,
    account_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "update platform.sessions set revoked_at = $2 where account_id = $1 and revoked_at is null",
    )
    .bind(account_id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected())
}

pub async fn set_session_mfa(db: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query("update platform.sessions set mfa_passed = true where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn set_password<'e>(
    db: impl PgExecutor<'e>,
    account_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.accounts set password_hash = $2, password_changed_at = $3 where id = $1",
    )
    .bind(account_id)
    .bind(hash)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_totp_pending(db: &PgPool, account_id: i64, secret_enc: &[u8]) -> sqlx::Result<()> {
    sqlx::query("update platform.accounts set totp_secret_enc = $2, totp_enabled_at = null, totp_last_step = null where id = $1")
        .bind(account_id)
        .bind(secret_enc)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn enable_totp(
    db: &PgPool,
    account_id: i64,
    step: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update platform.accounts set totp_enabled_at = $3, totp_last_step = $2 where id = $1",
    )
    .bind(account_id)
    .bind(step)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

/// Records the accepted step only if it is newer: two racing sign-ins with the same code
/// cannot both pass.
pub async fn advance_totp_step(db: &PgPool, account_id: i64, step: i64) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update platform.accounts set totp_last_step = $2
         where id = $1 and (totp_last_step is null or totp_last_step < $2)",
    )
    .bind(account_id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn insert_sms_code(
    db: &PgPool,
    phone_hash: &[u8],
    code_hash: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into platform.sms_codes (phone_hash, code_hash, purpose, created_at, expires_at)
         values ($1, $2, 'login', $3, $4)",
    )
    .bind(phone_hash)
    .bind(code_hash)
    .bind(now)
    .bind(expires_at)
    .execute(db)
    .await?;
    Ok(())
}

/// The newest usable code for this phone: (id, code hash, attempts).
pub async fn latest_sms_code(
    db: &PgPool,
    phone_hash: &[u8],
    now: DateTime<Utc>,
) -> sqlx::Result<Option<(i64, Vec<u8>, i32)>> {
    sqlx::query_as(
        "select id, code_hash, attempts from platform.sms_codes
         where phone_hash = $1 and consumed_at is null and expires_at > $2
         order by id desc limit 1",
    )
    .bind(phone_hash)
    .bind(now)
    .fetch_optional(db)
    .await
}

pub async fn bump_sms_attempts(db: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query("update platform.sms_codes set attempts = attempts + 1 where id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// Marks the code used; false when somebody used it first (a replay).
pub async fn consume_sms_code(db: &PgPool, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update platform.sms_codes set consumed_at = $2 where id = $1 and consumed_at is null",
    )
    .bind(id)
    .bind(now)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub id: i64,
    pub account_id: i64,
    pub display_name: String,
    pub phone_enc: Vec<u8>,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

pub async fn assignments_in_tenant(
    db: &PgPool,
    tenant_id: Option<i64>,
) -> sqlx::Result<Vec<AssignmentRow>> {
    sqlx::query_as(
        "select r.id, r.account_id, a.display_name, a.phone_enc, r.role, r.created_at
         from platform.role_assignments r join platform.accounts a on a.id = r.account_id
         where r.tenant_id is not distinct from $1
         order by r.role, a.display_name, r.id",
    )
    .bind(tenant_id)
    .fetch_all(db)
    .await
}

/// Inserts an assignment; `None` when the account already holds that role there.
pub async fn insert_assignment(
    db: &mut PgConnection,
    account_id: i64,
    role: Role,
    tenant_id: Option<i64>,
    created_by: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into platform.role_assignments (account_id, role, tenant_id, created_by)
         values ($1, $2, $3, $4)
         on conflict (account_id, role, coalesce(tenant_id, 0)) do nothing
         returning id",
    )
    .bind(account_id)
    .bind(role.as_str())
    .bind(tenant_id)
    .bind(created_by)
    .fetch_optional(db)
    .await
}

pub async fn assignment(db: &PgPool, id: i64) -> sqlx::Result<Option<(i64, String, Option<i64>)>> {
    sqlx::query_as(
        "select account_id, role, tenant_id from platform.role_assignments where id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn delete_assignment(db: &PgPool, id: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("delete from platform.role_assignments where id = $1")
            .bind(id)
            .execute(db)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Platform roles an account holds (for the separation of duties check), locked against a
/// concurrent assignment to the same account.
pub async fn platform_roles_for_update(
    db: &mut PgConnection,
    account_id: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query("select 1 from platform.accounts where id = $1 for update")
        .bind(account_id)
        .execute(&mut *db)
        .await?;
    sqlx::query_scalar(
        "select role from platform.role_assignments where account_id = $1 and tenant_id is null",
    )
    .bind(account_id)
    .fetch_all(&mut *db)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow, poem_openapi::Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ConsentRow {
    pub id: i64,
    /// 同意的规则版本
    pub terms_version: String,
    pub granted_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

pub async fn consents(db: &PgPool, account_id: i64) -> sqlx::Result<Vec<ConsentRow>> {
    sqlx::query_as(
        "select id, terms_version, granted_at, withdrawn_at from platform.consents
         where account_id = $1 order by id desc",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

pub async fn grant_consent(
    db: &PgPool,
    account_id: i64,
    version: &str,
    now: DateTime<Utc>,
    ip: Option<&str>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into platform.consents (account_id, terms_version, granted_at, source_ip)
         values ($1, $2, $3, $4)
         on conflict (account_id, terms_version) where withdrawn_at is null do nothing
         returning id",
    )
    .bind(account_id)
    .bind(version)
    .bind(now)
    .bind(ip)
    .fetch_optional(db)
    .await
}

pub async fn withdraw_consent(
    db: &PgPool,
    account_id: i64,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "update platform.consents set withdrawn_at = $3
         where id = $1 and account_id = $2 and withdrawn_at is null",
    )
    .bind(id)
    .bind(account_id)
    .bind(now)
    .execute(db)
    .await?
    .rows_affected()
        == 1)
}

pub async fn has_active_consent(db: &PgPool, account_id: i64, version: &str) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists(select 1 from platform.consents
                       where account_id = $1 and terms_version = $2 and withdrawn_at is null)",
    )
    .bind(account_id)
    .bind(version)
    .fetch_one(db)
    .await
}

/// The caller's roles with the tenant each belongs to: (role, tenant code, tenant name).
pub async fn roles_with_tenants(
    db: &PgPool,
    account_id: i64,
) -> sqlx::Result<Vec<(String, Option<String>, Option<String>)>> {
    sqlx::query_as(
        "select r.role, t.code, t.name from platform.role_assignments r
         left join platform.tenants t on t.id = r.tenant_id
         where r.account_id = $1 order by t.code nulls first, r.role",
    )
    .bind(account_id)
    .fetch_all(db)
    .await
}

// --- accounts and roles other features grant (through `auth::grants`) -----------------

/// Platform side, outside the tenant role: finds or creates the account of each
/// guardian phone (SMS sign-in only: no password) and grants it the parent role in this school.
/// Returns (phone_hash, account id).
pub async fn ensure_parent_accounts(
    c: &mut PgConnection,
    phone_hash: &[Vec<u8>],
    phone_enc: &[Vec<u8>],
    name: &[String],
    tenant_id: i64,
    created_by: i64,
) -> sqlx::Result<Vec<(Vec<u8>, i64)>> {
    sqlx::query(
        "insert into platform.accounts (phone_hash, phone_enc, display_name)
         select * from unnest($1::bytea[], $2::bytea[], $3::text[])
         on conflict (phone_hash) do nothing",
    )
    .bind(phone_hash)
    .bind(phone_enc)
    .bind(name)
    .execute(&mut *c)
    .await?;
    let ids: Vec<(Vec<u8>, i64)> = sqlx::query_as(
        "select phone_hash, id from platform.accounts where phone_hash = any($1::bytea[])",
    )
    .bind(phone_hash)
    .fetch_all(&mut *c)
    .await?;
    let account_ids: Vec<i64> = ids.iter().map(|(_, id)| *id).collect();
    sqlx::query(
        "insert into platform.role_assignments (account_id, role, tenant_id, created_by)
         select a, 'parent', $2, $3 from unnest($1::int8[]) as a
         on conflict (account_id, role, coalesce(tenant_id, 0)) do nothing",
    )
    .bind(&account_ids)
    .bind(tenant_id)
    .bind(created_by)
    .execute(&mut *c)
    .await?;
    Ok(ids)
}

/// Platform side, outside the tenant role: withdraws `role` in this school from the
/// account with this phone hash.
pub async fn revoke_role_by_phone(
    c: &mut PgConnection,
    phone_hash: &[u8],
    role: Role,
    tenant_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "delete from platform.role_assignments r using platform.accounts a
         where r.account_id = a.id and a.phone_hash = $1 and r.role = $3
           and r.tenant_id = $2",
    )
    .bind(phone_hash)
    .bind(tenant_id)
    .bind(role.as_str())
    .execute(&mut *c)
    .await?;
    Ok(())
}
