//! Sign-in rules: password (argon2id) with lockout, TOTP for admin roles, SMS one-time
//! codes for parents, server-side sessions with idle and absolute expiry, password changes
//! that revoke every session. Every sign-in, sign-out and lockout is audited.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::error::AuthError;
use super::model::{AuthContext, Role};
use super::ratelimit::check;
use super::{password, repo, totp};
use crate::audit::{self, AuditEvent, Outcome};
use crate::kernel::ctx::Ctx;
use crate::pii::Phone;

pub const TOTP_AAD: &[u8] = b"platform.accounts.totp_secret";
pub const PHONE_AAD: &[u8] = b"platform.accounts.phone";
const SMS_CODE_MINUTES: i64 = 5;
const SMS_MAX_ATTEMPTS: i32 = 5;

/// Where a request came from, for audit records and rate limits.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    fn ip_key(&self) -> String {
        self.ip.clone().unwrap_or_else(|| "unknown".into())
    }
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub account_id: i64,
    pub display_name: String,
    pub mfa_setup_required: bool,
    pub password_change_required: bool,
}

pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn new_token() -> String {
    use rand::RngCore;
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    data_encoding::BASE64URL_NOPAD.encode(&raw)
}

pub fn parse_phone(raw: &str) -> Result<Phone, AuthError> {
    Phone::parse(raw).map_err(|e| AuthError::InvalidPhone(e.to_string()))
}

pub fn phone_hash(st: &Ctx, phone: &Phone) -> Vec<u8> {
    st.keys.pii.blind_index("phone", phone.as_str())
}

fn rate_limit(
    limiter: &governor::DefaultKeyedRateLimiter<String>,
    key: &str,
) -> Result<(), AuthError> {
    check(limiter, key).map_err(|wait| AuthError::RateLimited {
        secs: wait.as_secs().max(1),
    })
}

fn password_change_due(
    st: &Ctx,
    roles: &[Role],
    changed: Option<DateTime<Utc>>,
    has_password: bool,
) -> bool {
    let staff = roles.iter().any(|r| r.is_staff());
    if !staff || !has_password {
        return false;
    }
    match changed {
        None => true,
        Some(t) => st.clock.now() - t > Duration::days(st.security.password_max_age_days),
    }
}

async fn open_session(
    st: &Ctx,
    account_id: i64,
    mfa_passed: bool,
    client: &ClientInfo,
) -> Result<(String, DateTime<Utc>), AuthError> {
    let token = new_token();
    let now = st.clock.now();
    let expires_at = now + Duration::hours(st.security.session_absolute_hours);
    repo::create_session(
        &st.db_app,
        &repo::NewSession {
            token_hash: &token_hash(&token),
            account_id,
            now,
            expires_at,
            mfa_passed,
            source_ip: client.ip.as_deref(),
            user_agent: client.user_agent.as_deref(),
        },
    )
    .await?;
    Ok((token, expires_at))
}

async fn fail(
    st: &Ctx,
    account_id: i64,
    phone: &Phone,
    client: &ClientInfo,
    reason: &str,
) -> Result<(), AuthError> {
    let lock_until = st.clock.now() + Duration::minutes(st.security.lockout_minutes);
    let locked = repo::record_failure(
        &st.db_app,
        account_id,
        st.security.lockout_threshold,
        lock_until,
    )
    .await?;
    audit_failure(st, account_id, phone, client, reason).await;
    if locked.is_some() {
        st.audit_event(
            AuditEvent::new("auth.lockout", phone.masked(), Outcome::Success)
                .who(Some(account_id), None)
                .with_ip(client.ip.clone())
                .details(serde_json::json!({ "minutes": st.security.lockout_minutes })),
        )
        .await;
    }
    Ok(())
}

/// A failed sign-in of `account_id`, in the audit trail. Called alone, for an attempt that
/// does not count towards a lockout (the account is already locked or disabled, or cannot
/// sign in this way): it neither extends a lock nor tells the caller anything an unknown
/// phone would not.
async fn audit_failure(
    st: &Ctx,
    account_id: i64,
    phone: &Phone,
    client: &ClientInfo,
    reason: &str,
) {
    st.audit_event(
        AuditEvent::new("auth.login", phone.masked(), Outcome::Failure)
            .who(Some(account_id), None)
            .with_ip(client.ip.clone())
            .details(serde_json::json!({ "reason": reason })),
    )
    .await;
}

fn check_locked(st: &Ctx, acct: &repo::AccountRow) -> Result<(), AuthError> {
    if acct.status != repo::AccountStatus::Active {
        return Err(AuthError::Disabled);
    }
    if let Some(until) = acct.locked_until {
        let now = st.clock.now();
        if until > now {
            let minutes = ((until - now).num_seconds() + 59) / 60;
            return Err(AuthError::Locked { minutes });
        }
    }
    Ok(())
}

/// Password sign-in (all roles); admin roles with TOTP enabled must also give a code.
pub async fn login_password(
    st: &Ctx,
    phone_raw: &str,
    password_raw: &str,
    totp_code: Option<&str>,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    let phone = parse_phone(phone_raw)?;
    let hash = phone_hash(st, &phone);
    rate_limit(&st.limits.login_ip, &client.ip_key())?;
    rate_limit(&st.limits.login_account, &hex::encode(&hash))?;
    let Some(acct) = repo::account_by_phone_hash(&st.db_app, &hash).await? else {
        // Same answer and similar cost as a wrong password: no account enumeration.
        let _ = password::verify(password_raw, "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        st.audit_event(
            AuditEvent::new("auth.login", phone.masked(), Outcome::Failure)
                .with_ip(client.ip.clone())
                .details(serde_json::json!({ "reason": "unknown_account" })),
        )
        .await;
        return Err(AuthError::LoginFailed);
    };
    let ok = acct
        .password_hash
        .as_deref()
        .is_some_and(|h| password::verify(password_raw, h));
    // A locked or disabled account is named as such only to whoever knows its password:
    // to anyone else it answers exactly as an unknown phone does, so repeated failures
    // cannot be used to find out which phones have accounts.
    if let Err(e) = check_locked(st, &acct) {
        if ok {
            return Err(e);
        }
        audit_failure(st, acct.id, &phone, client, "locked").await;
        return Err(AuthError::LoginFailed);
    }
    if !ok {
        fail(st, acct.id, &phone, client, "wrong_password").await?;
        return Err(AuthError::LoginFailed);
    }
    let assignments = repo::assignments(&st.db_app, acct.id).await?;
    let roles: Vec<Role> = assignments.iter().map(|a| a.role).collect();
    let admin = roles.iter().any(|r| r.is_admin());
    let mut mfa_passed = !admin;
    if admin && acct.totp_enabled_at.is_some() {
        let Some(code) = totp_code.filter(|c| !c.trim().is_empty()) else {
            return Err(AuthError::MfaCodeRequired);
        };
        let secret = match &acct.totp_secret_enc {
            Some(enc) => st
                .keys
                .pii
                .decrypt(enc, TOTP_AAD)
                .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?,
            None => return Err(AuthError::MfaCodeInvalid),
        };
        let step = totp::verify(
            &secret,
            code,
            st.clock.now().timestamp(),
            acct.totp_last_step,
        );
        let accepted = match step {
            Some(s) => repo::advance_totp_step(&st.db_app, acct.id, s).await?,
            None => false,
        };
        if !accepted {
            fail(st, acct.id, &phone, client, "wrong_totp").await?;
            return Err(AuthError::MfaCodeInvalid);
        }
        mfa_passed = true;
    }
    repo::reset_failures(&st.db_app, acct.id).await?;
    let (token, expires_at) = open_session(st, acct.id, mfa_passed, client).await?;
    st.audit_event(
        AuditEvent::new("auth.login", phone.masked(), Outcome::Success)
            .who(Some(acct.id), roles.first().map(|r| r.as_str().to_string()))
            .with_ip(client.ip.clone())
            .details(serde_json::json!({ "method": "password", "mfa": mfa_passed && admin })),
    )
    .await;
    Ok(SignedIn {
        token,
        expires_at,
        account_id: acct.id,
        display_name: acct.display_name,
        mfa_setup_required: admin && acct.totp_enabled_at.is_none(),
        password_change_required: password_change_due(st, &roles, acct.password_changed_at, true),
    })
}

/// Sends a one-time sign-in code. Answers the same whether or not the phone has an account,
/// so the endpoint cannot be used to find out who is registered.
pub async fn send_sms_code(
    st: &Ctx,
    phone_raw: &str,
    client: &ClientInfo,
) -> Result<(), AuthError> {
    let phone = parse_phone(phone_raw)?;
    let hash = phone_hash(st, &phone);
    rate_limit(&st.limits.sms_ip, &client.ip_key())?;
    rate_limit(&st.limits.sms_phone, &hex::encode(&hash))?;
    let Some(acct) = repo::account_by_phone_hash(&st.db_app, &hash).await? else {
        return Ok(());
    };
    let roles = repo::assignments(&st.db_app, acct.id).await?;
    if roles.iter().any(|a| a.role.is_admin()) || acct.status != repo::AccountStatus::Active {
        return Ok(());
    }
    let code = {
        use rand::Rng;
        format!("{:06}", rand::thread_rng().gen_range(0..1_000_000))
    };
    let now = st.clock.now();
    repo::insert_sms_code(
        &st.db_app,
        &hash,
        &st.keys.pii.blind_index("sms_code", &code),
        now,
        now + Duration::minutes(SMS_CODE_MINUTES),
    )
    .await?;
    st.sms
        .send(
            &phone,
            &format!("【石岐课后服务】您的登录验证码为 {code}，{SMS_CODE_MINUTES} 分钟内有效。如非本人操作，请忽略本短信。"),
        )
        .await?;
    Ok(())
}

/// Sign-in with a one-time SMS code: single use, a few attempts, expires in minutes.
pub async fn login_sms(
    st: &Ctx,
    phone_raw: &str,
    code: &str,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    let phone = parse_phone(phone_raw)?;
    let hash = phone_hash(st, &phone);
    rate_limit(&st.limits.login_ip, &client.ip_key())?;
    rate_limit(&st.limits.login_account, &hex::encode(&hash))?;
    let Some(acct) = repo::account_by_phone_hash(&st.db_app, &hash).await? else {
        return Err(AuthError::CodeInvalid);
    };
    // As with passwords, a locked account says so only to whoever holds a valid code (the
    // phone's owner); admins never receive codes, so they get the same answer as a stranger.
    let locked = check_locked(st, &acct);
    let roles = repo::assignments(&st.db_app, acct.id).await?;
    let admin = roles.iter().any(|a| a.role.is_admin());
    // Failures count towards the lockout only where SMS sign-in is open: otherwise anyone
    // could lock an admin out by guessing codes that were never sent.
    let counts = locked.is_ok() && !admin;
    let now = st.clock.now();
    let Some((id, stored, attempts)) = repo::latest_sms_code(&st.db_app, &hash, now).await? else {
        if counts {
            fail(st, acct.id, &phone, client, "no_valid_code").await?;
        } else {
            let reason = if admin { "sms_not_allowed" } else { "locked" };
            audit_failure(st, acct.id, &phone, client, reason).await;
        }
        return Err(AuthError::CodeInvalid);
    };
    let given = st.keys.pii.blind_index("sms_code", code.trim());
    let matches: bool = subtle::ConstantTimeEq::ct_eq(given.as_slice(), stored.as_slice()).into();
    if attempts >= SMS_MAX_ATTEMPTS || !matches {
        repo::bump_sms_attempts(&st.db_app, id).await?;
        if counts {
            fail(st, acct.id, &phone, client, "wrong_code").await?;
        } else {
            let reason = if admin { "sms_not_allowed" } else { "locked" };
            audit_failure(st, acct.id, &phone, client, reason).await;
        }
        return Err(AuthError::CodeInvalid);
    }
    locked?;
    if admin {
        return Err(AuthError::SmsNotAllowed);
    }
    if !repo::consume_sms_code(&st.db_app, id, now).await? {
        return Err(AuthError::CodeInvalid);
    }
    repo::reset_failures(&st.db_app, acct.id).await?;
    let (token, expires_at) = open_session(st, acct.id, true, client).await?;
    st.audit_event(
        AuditEvent::new("auth.login", phone.masked(), Outcome::Success)
            .who(
                Some(acct.id),
                roles.first().map(|a| a.role.as_str().to_string()),
            )
            .with_ip(client.ip.clone())
            .details(serde_json::json!({ "method": "sms" })),
    )
    .await;
    let role_list: Vec<Role> = roles.iter().map(|a| a.role).collect();
    Ok(SignedIn {
        token,
        expires_at,
        account_id: acct.id,
        display_name: acct.display_name,
        mfa_setup_required: false,
        password_change_required: password_change_due(
            st,
            &role_list,
            acct.password_changed_at,
            acct.password_hash.is_some(),
        ),
    })
}

/// Turns a bearer token into the caller, enforcing idle (30 min) and absolute (12 h) expiry.
pub async fn authenticate(
    st: &Ctx,
    token: &str,
    client: &ClientInfo,
) -> Result<AuthContext, AuthError> {
    if token.is_empty() || token.len() > 128 {
        return Err(AuthError::Unauthenticated);
    }
    let Some(s) = repo::session_by_token_hash(&st.db_app, &token_hash(token)).await? else {
        return Err(AuthError::Unauthenticated);
    };
    let now = st.clock.now();
    if s.revoked_at.is_some() || now >= s.expires_at {
        return Err(AuthError::SessionExpired);
    }
    if now - s.last_seen_at > Duration::minutes(st.security.session_idle_minutes) {
        repo::revoke_session(&st.db_app, s.id, now).await?;
        return Err(AuthError::SessionExpired);
    }
    if s.status != repo::AccountStatus::Active {
        return Err(AuthError::Disabled);
    }
    // Writing on every request would make sessions a hot row; a minute's precision is
    // plenty for a 30-minute idle timeout.
    if now - s.last_seen_at > Duration::seconds(60) {
        repo::touch_session(&st.db_app, s.id, now).await?;
    }
    let assignments = s.assignments();
    let roles: Vec<Role> = assignments.iter().map(|a| a.role).collect();
    Ok(AuthContext {
        account_id: s.account_id,
        session_id: s.id,
        display_name: s.display_name,
        password_expired: password_change_due(st, &roles, s.password_changed_at, s.has_password),
        assignments,
        mfa_passed: s.mfa_passed,
        totp_enabled: s.totp_enabled,
        source_ip: client.ip.clone(),
    })
}

/// Audits an action the signed-in caller took on their own account.
async fn audit_self(
    st: &Ctx,
    auth: &AuthContext,
    action: &str,
    object: String,
    details: serde_json::Value,
) {
    st.audit_event(
        AuditEvent::new(action, object, Outcome::Success)
            .who(Some(auth.account_id), None)
            .with_ip(auth.source_ip.clone())
            .details(details),
    )
    .await;
}

/// Audits an action on the caller's own account that needs no details.
async fn audit_own_account(st: &Ctx, auth: &AuthContext, action: &str) {
    let object = format!("account:{}", auth.account_id);
    audit_self(st, auth, action, object, serde_json::json!({})).await;
}

pub async fn logout(st: &Ctx, auth: &AuthContext) -> Result<(), AuthError> {
    repo::revoke_session(&st.db_app, auth.session_id, st.clock.now()).await?;
    audit_own_account(st, auth, "auth.logout").await;
    Ok(())
}

/// Changes the password, revokes every session of the account (all devices) and opens a
/// fresh one for the caller.
pub async fn change_password(
    st: &Ctx,
    auth: &AuthContext,
    old: Option<&str>,
    new: &str,
    client: &ClientInfo,
) -> Result<SignedIn, AuthError> {
    let acct = repo::account_by_id(&st.db_app, auth.account_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    if let Some(current) = &acct.password_hash {
        if !old.is_some_and(|o| password::verify(o, current)) {
            return Err(AuthError::OldPasswordWrong);
        }
    }
    password::check_complexity(new).map_err(AuthError::WeakPassword)?;
    if old == Some(new) {
        return Err(AuthError::WeakPassword("新密码不能与原密码相同".into()));
    }
    let hash = password::hash(new)?;
    let now = st.clock.now();
    let mut tx = st.db_app.begin().await?;
    repo::set_password(&mut *tx, acct.id, &hash, now).await?;
    let revoked = repo::revoke_all_sessions(&mut *tx, acct.id, now).await?;
    audit::append(
        &mut tx,
        &st.keys.audit,
        &AuditEvent::new(
            "account.password_change",
            format!("account:{}", acct.id),
            Outcome::Success,
        )
        .who(Some(acct.id), None)
        .with_ip(client.ip.clone())
        .details(serde_json::json!({ "sessions_revoked": revoked })),
        now,
    )
    .await
    .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?;
    tx.commit().await?;
    let (token, expires_at) = open_session(st, acct.id, auth.mfa_passed, client).await?;
    Ok(SignedIn {
        token,
        expires_at,
        account_id: acct.id,
        display_name: acct.display_name,
        mfa_setup_required: auth.is_admin() && !auth.totp_enabled,
        password_change_required: false,
    })
}

/// Starts TOTP enrolment: a new secret, kept encrypted until a first code confirms it.
pub async fn totp_setup(st: &Ctx, auth: &AuthContext) -> Result<(String, String), AuthError> {
    if auth.totp_enabled {
        return Err(AuthError::TotpAlreadyEnabled);
    }
    let acct = repo::account_by_id(&st.db_app, auth.account_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    // A secret shown and not yet bound is shown again: a mistyped code, a reload or a
    // second visit must not replace the secret the user has already added to their
    // authenticator app (issue 13 item 9). It is replaced only once it cannot be read.
    let pending = acct
        .totp_secret_enc
        .as_deref()
        .filter(|_| acct.totp_enabled_at.is_none())
        .and_then(|enc| st.keys.pii.decrypt(enc, TOTP_AAD).ok());
    let secret = match pending {
        Some(s) => s,
        None => {
            let s = totp::generate_secret();
            repo::set_totp_pending(
                &st.db_app,
                auth.account_id,
                &st.keys.pii.encrypt(&s, TOTP_AAD),
            )
            .await?;
            s
        }
    };
    let label = masked_phone(st, &acct).unwrap_or_else(|| acct.display_name.clone());
    Ok((totp::base32(&secret), totp::otpauth_uri(&secret, &label)))
}

/// Confirms enrolment with a first code; the current session counts as second-factor passed.
pub async fn totp_enable(st: &Ctx, auth: &AuthContext, code: &str) -> Result<(), AuthError> {
    if auth.totp_enabled {
        return Err(AuthError::TotpAlreadyEnabled);
    }
    let acct = repo::account_by_id(&st.db_app, auth.account_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    let enc = acct.totp_secret_enc.ok_or(AuthError::TotpNotSetUp)?;
    let secret = st
        .keys
        .pii
        .decrypt(&enc, TOTP_AAD)
        .map_err(|e| AuthError::Internal(anyhow::anyhow!("{e}")))?;
    let step = totp::verify(&secret, code, st.clock.now().timestamp(), None)
        .ok_or(AuthError::MfaCodeInvalid)?;
    repo::enable_totp(&st.db_app, auth.account_id, step, st.clock.now()).await?;
    repo::set_session_mfa(&st.db_app, auth.session_id).await?;
    audit_own_account(st, auth, "account.totp_enable").await;
    Ok(())
}

/// Records the guardian's consent to a version of the personal-data rules (default: the
/// current one). Granting twice is harmless.
pub async fn grant_consent(
    st: &Ctx,
    auth: &AuthContext,
    version: Option<&str>,
) -> Result<(), AuthError> {
    let version = version.unwrap_or(&st.security.terms_version);
    if version != st.security.terms_version {
        return Err(AuthError::InvalidInput(format!(
            "只能同意当前版本（{}）的规则",
            st.security.terms_version
        )));
    }
    let id = repo::grant_consent(
        &st.db_app,
        auth.account_id,
        version,
        st.clock.now(),
        auth.source_ip.as_deref(),
    )
    .await?;
    if let Some(id) = id {
        audit_self(
            st,
            auth,
            "consent.grant",
            format!("consent:{id}"),
            serde_json::json!({ "terms_version": version }),
        )
        .await;
    }
    Ok(())
}

pub async fn withdraw_consent(st: &Ctx, auth: &AuthContext, id: i64) -> Result<(), AuthError> {
    if !repo::withdraw_consent(&st.db_app, auth.account_id, id, st.clock.now()).await? {
        return Err(AuthError::ConsentNotFound);
    }
    audit_self(
        st,
        auth,
        "consent.withdraw",
        format!("consent:{id}"),
        serde_json::json!({}),
    )
    .await;
    Ok(())
}

/// Setters for the optional parts of an audit event, as sign-in code has them.
/// The caller's own phone, masked (`138****5678`), for the account's own page.
pub async fn my_phone_masked(st: &Ctx, auth: &AuthContext) -> Result<String, AuthError> {
    let acct = repo::account_by_id(&st.db_app, auth.account_id)
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(masked_phone(st, &acct).unwrap_or_else(|| "***".into()))
}

/// The account's phone, decrypted and masked (`138****5678`); `None` if it cannot be read.
fn masked_phone(st: &Ctx, acct: &repo::AccountRow) -> Option<String> {
    st.keys
        .pii
        .decrypt_str(&acct.phone_enc, PHONE_AAD)
        .ok()
        .and_then(|p| Phone::parse(&p).ok())
        .map(|p| p.masked())
}
