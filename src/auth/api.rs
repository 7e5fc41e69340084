//! Sign-in and the caller's own account: `/auth/*` and `/me*`. Each handler declares its
//! [`Permission`] right above it; [`PERMISSIONS`] lists them for the route walk test.

use super::perms::{
    CONSENTS, CONSENT_GRANT, CONSENT_WITHDRAW, LOGOUT, ME, PASSWORD, TOTP_ENABLE, TOTP_SETUP,
};
use chrono::{DateTime, Utc};
use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::{payload::Json, Object, OpenApi};

use super::guard::{authorize, client_info, Session};
use super::model::Role;
use super::{repo, service};
use crate::error::ApiError;
use crate::http::handler::{ApiTags, AppData, RequestTenant};

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginRequest {
    /// 手机号
    pub phone: String,
    pub password: String,
    /// 管理员账号的 6 位动态验证码（启用后必填）
    pub totp_code: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LoginResponse {
    /// 会话令牌，放在 `Authorization: Bearer <token>` 中
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub account_id: i64,
    pub display_name: String,
    /// 管理员账号须先启用动态验证码
    pub mfa_setup_required: bool,
    /// 须先修改密码（初始密码或超过 90 天）
    pub password_change_required: bool,
}

impl From<service::SignedIn> for LoginResponse {
    fn from(s: service::SignedIn) -> Self {
        Self {
            token: s.token,
            expires_at: s.expires_at,
            account_id: s.account_id,
            display_name: s.display_name,
            mfa_setup_required: s.mfa_setup_required,
            password_change_required: s.password_change_required,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SmsSendRequest {
    pub phone: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SmsSendResponse {
    pub message: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SmsLoginRequest {
    pub phone: String,
    /// 短信验证码
    pub code: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PasswordChangeRequest {
    /// 原密码（账号已有密码时必填）
    pub old_password: Option<String>,
    /// 新密码：至少 8 位，含小写、大写、数字、符号中的三类
    pub new_password: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TotpSetupResponse {
    /// Base32 密钥，可手动输入身份验证器
    pub secret_base32: String,
    /// otpauth:// 链接，可生成二维码
    pub otpauth_uri: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TotpEnableRequest {
    pub code: String,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MeRole {
    pub role: Role,
    pub role_label: String,
    pub tenant_code: Option<String>,
    pub tenant_name: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MeResponse {
    pub account_id: i64,
    pub display_name: String,
    pub roles: Vec<MeRole>,
    pub mfa_passed: bool,
    pub totp_enabled: bool,
    pub password_change_required: bool,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ConsentRequest {
    /// 同意的规则版本；省略时为当前版本
    pub terms_version: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Done {
    pub ok: bool,
}

pub struct AuthApi;

#[OpenApi(tag = "ApiTags::Auth")]
impl AuthApi {
    /// 密码登录
    ///
    /// All roles. Admin roles with a second factor also send `totp_code`. Five failures
    /// lock the account for 15 minutes.
    #[oai(path = "/auth/login", method = "post", operation_id = "auth_login")]
    async fn login(
        &self,
        app: AppData<'_>,
        req: &Request,
        body: Json<LoginRequest>,
    ) -> Result<Json<LoginResponse>, ApiError> {
        let b = body.0;
        let s = service::login_password(
            app.0,
            &b.phone,
            &b.password,
            b.totp_code.as_deref(),
            &client_info(req),
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// 发送短信验证码
    ///
    /// Answers the same whether or not the phone is registered.
    #[oai(
        path = "/auth/sms/send",
        method = "post",
        operation_id = "auth_sms_send"
    )]
    async fn sms_send(
        &self,
        app: AppData<'_>,
        req: &Request,
        body: Json<SmsSendRequest>,
    ) -> Result<Json<SmsSendResponse>, ApiError> {
        service::send_sms_code(app.0, &body.0.phone, &client_info(req)).await?;
        Ok(Json(SmsSendResponse {
            message: "如该手机号已登记，验证码已发送，5 分钟内有效".into(),
        }))
    }

    /// 短信验证码登录（家长）
    #[oai(
        path = "/auth/sms/login",
        method = "post",
        operation_id = "auth_sms_login"
    )]
    async fn sms_login(
        &self,
        app: AppData<'_>,
        req: &Request,
        body: Json<SmsLoginRequest>,
    ) -> Result<Json<LoginResponse>, ApiError> {
        let s = service::login_sms(app.0, &body.0.phone, &body.0.code, &client_info(req)).await?;
        Ok(Json(s.into()))
    }

    /// 退出登录
    #[oai(path = "/auth/logout", method = "post", operation_id = "auth_logout")]
    async fn logout(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Done>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &LOGOUT).await?;
        service::logout(app.0, &session.0).await?;
        Ok(Json(Done { ok: true }))
    }

    /// 修改密码
    ///
    /// Revokes every session of the account and returns a new token for this device.
    #[oai(
        path = "/auth/password",
        method = "post",
        operation_id = "auth_password_change"
    )]
    async fn change_password(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        req: &Request,
        body: Json<PasswordChangeRequest>,
    ) -> Result<Json<LoginResponse>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &PASSWORD).await?;
        let b = body.0;
        let s = service::change_password(
            app.0,
            &session.0,
            b.old_password.as_deref(),
            &b.new_password,
            &client_info(req),
        )
        .await?;
        Ok(Json(s.into()))
    }

    /// 生成动态验证码密钥
    #[oai(
        path = "/auth/totp/setup",
        method = "post",
        operation_id = "auth_totp_setup"
    )]
    async fn totp_setup(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<TotpSetupResponse>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &TOTP_SETUP).await?;
        let (secret_base32, otpauth_uri) = service::totp_setup(app.0, &session.0).await?;
        Ok(Json(TotpSetupResponse {
            secret_base32,
            otpauth_uri,
        }))
    }

    /// 启用动态验证码
    #[oai(
        path = "/auth/totp/enable",
        method = "post",
        operation_id = "auth_totp_enable"
    )]
    async fn totp_enable(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<TotpEnableRequest>,
    ) -> Result<Json<Done>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &TOTP_ENABLE).await?;
        service::totp_enable(app.0, &session.0, &body.0.code).await?;
        Ok(Json(Done { ok: true }))
    }

    /// 当前账号
    #[oai(path = "/me", method = "get", operation_id = "me_get")]
    async fn me(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<MeResponse>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &ME).await?;
        let a = &session.0;
        let roles = repo::roles_with_tenants(&app.0.db_app, a.account_id)
            .await?
            .into_iter()
            .filter_map(|(role, code, name)| {
                let role = Role::parse(&role)?;
                Some(MeRole {
                    role,
                    role_label: role.label().into(),
                    tenant_code: code,
                    tenant_name: name,
                })
            })
            .collect();
        Ok(Json(MeResponse {
            account_id: a.account_id,
            display_name: a.display_name.clone(),
            roles,
            mfa_passed: a.mfa_passed,
            totp_enabled: a.totp_enabled,
            password_change_required: a.password_expired,
        }))
    }

    /// 我的个人信息处理授权（监护人同意）
    #[oai(path = "/me/consents", method = "get", operation_id = "me_consents")]
    async fn consents(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
    ) -> Result<Json<Vec<repo::ConsentRow>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &CONSENTS).await?;
        Ok(Json(
            repo::consents(&app.0.db_app, session.0.account_id).await?,
        ))
    }

    /// 同意个人信息处理规则
    #[oai(
        path = "/me/consents",
        method = "post",
        operation_id = "me_consent_grant"
    )]
    async fn grant_consent(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        body: Json<ConsentRequest>,
    ) -> Result<Json<Vec<repo::ConsentRow>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &CONSENT_GRANT).await?;
        service::grant_consent(app.0, &session.0, body.0.terms_version.as_deref()).await?;
        Ok(Json(
            repo::consents(&app.0.db_app, session.0.account_id).await?,
        ))
    }

    /// 撤回授权
    #[oai(
        path = "/me/consents/:id/withdraw",
        method = "post",
        operation_id = "me_consent_withdraw"
    )]
    async fn withdraw_consent(
        &self,
        session: Session,
        app: AppData<'_>,
        tenant: RequestTenant<'_>,
        id: Path<i64>,
    ) -> Result<Json<Vec<repo::ConsentRow>>, ApiError> {
        authorize(app.0, &session.0, tenant.0, &CONSENT_WITHDRAW).await?;
        service::withdraw_consent(app.0, &session.0, id.0).await?;
        Ok(Json(
            repo::consents(&app.0.db_app, session.0.account_id).await?,
        ))
    }
}
