//! Sign-in and the account's own pages: password or SMS-code sign-in, the second factor
//! (TOTP enrolment for admins), sign-out, and the home page that sends each role to its
//! pages (the mobile H5 for parents and teachers, the console for admins).
//!
//! The sign-in form is the only form posted without a session; it is checked for a
//! same-origin `Origin` instead of a CSRF token.

use maud::{html, Markup, PreEscaped};
use poem::http::{header, StatusCode};
use poem::web::{Form, Query};
use poem::{get, handler, post, Request, Response, Route};
use serde::Deserialize;

use crate::auth::error::AuthError;
use crate::auth::guard::client_info;
use crate::auth::model::Role;
use crate::auth::service;
use crate::error::{ApiError, DomainError};
use crate::http::handler::AppData;
use crate::web::frame::{html_response, page, PageResult, WebError};
use crate::web::layout::{self, field, input, notice, Tone};
use crate::web::session::{self, see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/", get(index))
        .at("/login", get(login_page).post(login_submit))
        .at("/login/sms", post(sms_send))
        .at("/logout", post(logout))
        .at("/home", get(home))
        .at("/account/totp", get(totp_page).post(totp_submit))
        .at(
            "/account/password",
            get(password_page).post(password_submit),
        )
}

/// Where a role's pages start, in the tenant `code` (none for platform roles).
pub fn home_url(role: Role, code: Option<&str>) -> String {
    let t = |p: &str| match code {
        Some(c) => format!("/t/{c}{p}"),
        None => p.to_string(),
    };
    match role {
        Role::Parent => t("/m"),
        Role::HomeroomTeacher | Role::Teacher | Role::Inspector => t("/m/teacher"),
        Role::SchoolAdmin | Role::AgencyAdmin | Role::AgencyTeacher => t("/console"),
        Role::BureauOfficer => "/console/bureau".into(),
        Role::OperatorAudit => "/console/platform/audit".into(),
        Role::OperatorSys => "/console/platform".into(),
        Role::OperatorSec => "/console/platform/roles".into(),
    }
}

/// Only local paths are followed after sign-in (no open redirect). Browsers drop tabs,
/// newlines and other control characters from a URL before resolving it (`/\t/evil` becomes
/// `//evil`), so any such character refuses the path outright; what is left must resolve,
/// the way a browser resolves it, to our own origin.
fn safe_next(next: Option<&str>) -> Option<String> {
    const HERE: &str = "http://here.invalid/";
    let n = next?;
    let plain = n.starts_with('/')
        && !n.starts_with("//")
        && !n.contains('\\')
        && !n.chars().any(|c| c.is_control() || c.is_whitespace());
    let base = url::Url::parse(HERE).ok()?;
    let stays = base
        .join(n)
        .is_ok_and(|u| u.origin() == base.origin() && u.as_str().starts_with(HERE));
    (plain && stays).then(|| n.to_owned())
}

#[handler]
async fn index(req: &Request) -> Response {
    if session::cookie_token(req).is_some() {
        see_other("/home")
    } else {
        see_other("/login")
    }
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    mode: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LoginForm {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// What the sign-in form shows again after a failure.
#[derive(Default)]
struct LoginState<'a> {
    sms: bool,
    phone: &'a str,
    next: Option<&'a str>,
    ask_totp: bool,
    info: Option<String>,
    error: Option<(String, String)>,
}

fn login_form(s: &LoginState<'_>) -> Markup {
    let err_for = |f: &str| {
        s.error
            .as_ref()
            .filter(|(field, _)| field == f)
            .map(|(_, m)| m.as_str())
    };
    let general = s
        .error
        .as_ref()
        .filter(|(f, _)| f.is_empty())
        .map(|(_, m)| m.clone());
    let next = s.next.unwrap_or("");
    let other = |sms: bool| {
        let mut u = format!("/login?mode={}", if sms { "sms" } else { "password" });
        if !next.is_empty() {
            u.push_str(&format!("&next={}", urlencoding::encode(next)));
        }
        u
    };
    layout::bare(
        "登录",
        html! {
            div.login {
                div.brand {
                    h1 { "石岐街道校内课后服务" }
                    p.muted { "家长 · 教师 · 学校 · 机构 · 教体中心" }
                }
                div.card {
                    div.toolbar {
                        @if s.sms { a href=(other(false)) { "密码登录" } strong { "验证码登录" } }
                        @else { strong { "密码登录" } a href=(other(true)) { "验证码登录" } }
                    }
                    @if let Some(m) = &s.info { (notice(Tone::Ok, m)) }
                    @if let Some(m) = general { (notice(Tone::Error, &m)) }
                    form.stack method="post" action="/login" id="login-form" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="mode" value=(if s.sms { "sms" } else { "password" });
                        (field("手机号", "phone", html! {
                            input type="tel" id="phone" name="phone" value=(s.phone) inputmode="numeric" autocomplete="username" maxlength="11" required;
                        }, err_for("phone")))
                        @if s.sms {
                            (field("短信验证码", "code", html! {
                                input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6";
                            }, err_for("code")))
                            button.secondary.block type="submit" formaction="/login/sms" formnovalidate { "获取验证码" }
                            p {}
                        } @else {
                            (field("密码", "password", input("password", "password", ""), err_for("password")))
                            @if s.ask_totp {
                                (field("动态验证码（身份验证器）", "totp", html! {
                                    input type="text" id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="6" autofocus;
                                }, err_for("totp")))
                            }
                        }
                        button.block type="submit" id="login-submit" { "登录" }
                    }
                }
                p.muted { small { "首次使用的管理员登录后须绑定身份验证器。登录即表示同意平台个人信息处理规则。" } }
            }
        },
    )
}

#[handler]
async fn login_page(Query(q): Query<LoginQuery>) -> PageResult {
    page(login_form(&LoginState {
        sms: q.mode.as_deref() == Some("sms"),
        next: q.next.as_deref(),
        ..Default::default()
    }))
}

/// The field a sign-in refusal belongs to.
fn login_field(e: &AuthError) -> &'static str {
    match e {
        AuthError::InvalidPhone(_) => "phone",
        AuthError::LoginFailed | AuthError::Locked { .. } => "password",
        AuthError::MfaCodeRequired | AuthError::MfaCodeInvalid => "totp",
        AuthError::CodeInvalid | AuthError::SmsNotAllowed => "code",
        _ => "",
    }
}

fn origin_ok(req: &Request) -> bool {
    match req.header("origin") {
        None => true,
        Some(o) => o
            .split_once("://")
            .is_some_and(|(_, h)| Some(h) == req.header("host")),
    }
}

#[handler]
async fn login_submit(req: &Request, app: AppData<'_>, Form(f): Form<LoginForm>) -> PageResult {
    if !origin_ok(req) {
        return Err(WebError::Csrf);
    }
    let client = client_info(req);
    let sms = f.mode == "sms";
    let result = if sms {
        service::login_sms(app.0, &f.phone, f.code.trim(), &client).await
    } else {
        let totp = Some(f.totp.trim()).filter(|t| !t.is_empty());
        service::login_password(app.0, &f.phone, &f.password, totp, &client).await
    };
    match result {
        Ok(signed) => {
            let next = safe_next(f.next.as_deref());
            let to = if signed.mfa_setup_required {
                match &next {
                    Some(n) => format!("/account/totp?next={}", urlencoding::encode(n)),
                    None => "/account/totp".into(),
                }
            } else if signed.password_change_required {
                "/account/password".into()
            } else {
                next.unwrap_or_else(|| "/home".into())
            };
            let mut resp = see_other(&to);
            if let Ok(v) =
                session::set_cookie(&signed.token, session::over_https(req, app.0)).parse()
            {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(e) => {
            let ask_totp = matches!(e, AuthError::MfaCodeRequired | AuthError::MfaCodeInvalid);
            let status = crate::web::frame::api_status(&ApiError::from_domain(&e));
            let status = if status.is_server_error() {
                return Err(WebError::Api(ApiError::from_domain(&e)));
            } else if ask_totp {
                StatusCode::OK
            } else {
                status
            };
            Ok(html_response(
                status,
                login_form(&LoginState {
                    sms,
                    phone: &f.phone,
                    next: f.next.as_deref(),
                    ask_totp,
                    info: None,
                    error: Some((login_field(&e).into(), e.user_message())),
                }),
            ))
        }
    }
}

#[handler]
async fn sms_send(req: &Request, app: AppData<'_>, Form(f): Form<LoginForm>) -> PageResult {
    if !origin_ok(req) {
        return Err(WebError::Csrf);
    }
    let (info, error) = match service::send_sms_code(app.0, &f.phone, &client_info(req)).await {
        Ok(()) => (Some("验证码已发送，5 分钟内有效".to_string()), None),
        Err(e) => {
            let field = if matches!(e, AuthError::InvalidPhone(_)) {
                "phone"
            } else {
                ""
            };
            (None, Some((field.to_string(), e.user_message())))
        }
    };
    page(login_form(&LoginState {
        sms: true,
        phone: &f.phone,
        next: f.next.as_deref(),
        info,
        error,
        ..Default::default()
    }))
}

#[handler]
async fn logout(req: &Request, web: Web) -> PageResult {
    service::logout(&web.app, &web.auth)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    let mut resp = see_other("/login");
    if let Ok(v) = session::clear_cookie(session::over_https(req, &web.app)).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// One place the signed-in account can act: a role in a tenant or on the platform.
struct Entry {
    role: Role,
    place: String,
    url: String,
}

async fn entries(web: &Web) -> Result<Vec<Entry>, WebError> {
    let mut out = Vec::new();
    for a in &web.auth.assignments {
        let (place, code) = match a.tenant_id {
            Some(id) => match crate::tenancy::lookup::find_by_id(&web.app.db_app, id).await? {
                Some(t) => (t.name.clone(), Some(t.code.clone())),
                None => continue,
            },
            None => ("石岐街道".to_string(), None),
        };
        let url = home_url(a.role, code.as_deref());
        if out.iter().any(|e: &Entry| e.url == url) {
            continue;
        }
        out.push(Entry {
            role: a.role,
            place,
            url,
        });
    }
    Ok(out)
}

#[handler]
async fn home(web: Web) -> PageResult {
    if web.auth.is_admin() && !web.auth.mfa_passed {
        return Ok(see_other("/account/totp"));
    }
    let list = entries(&web).await?;
    if let [only] = list.as_slice() {
        return Ok(see_other(&only.url));
    }
    page(layout::bare(
        "选择身份",
        html! {
            div.login {
                div.brand { h1 { "您好，" (web.auth.display_name) } p.muted { "请选择要进入的身份" } }
                @if list.is_empty() { (notice(Tone::Warn, "您的账号尚未分配任何角色，请联系学校管理员")) }
                ul.list.card {
                    @for e in &list {
                        li { a href=(e.url) { strong { (e.role.label()) } " · " (e.place) } }
                    }
                }
                form method="post" action=(format!("/logout?_csrf={}", web.csrf())) { button.secondary.block type="submit" { "退出登录" } }
            }
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TotpForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

fn totp_view(
    web: &Web,
    secret: &str,
    uri: &str,
    next: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let qr = qrcode::QrCode::new(uri.as_bytes())
        .map(|c| {
            c.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(180, 180)
                .build()
        })
        .unwrap_or_default();
    let action = match next {
        Some(n) => format!(
            "/account/totp?next={}&_csrf={}",
            urlencoding::encode(n),
            web.csrf()
        ),
        None => format!("/account/totp?_csrf={}", web.csrf()),
    };
    layout::bare(
        "绑定身份验证器",
        html! {
            div.login {
                div.brand { h1 { "绑定身份验证器" } p.muted { "管理员账号须使用动态验证码登录（双因素认证）" } }
                div.card {
                    p { "1. 用身份验证器 App（如微信小程序“腾讯身份验证器”、Google Authenticator）扫描二维码，或手动输入密钥：" }
                    div.qr { (PreEscaped(qr)) }
                    p { "密钥：" code #totp-secret { (secret) } }
                    p { "2. 输入 App 显示的 6 位动态验证码完成绑定。" }
                    form.stack method="post" action=(action) {
                        input type="hidden" name="secret_shown" value="1";
                        (field("动态验证码", "code", html! {
                            input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required;
                        }, error))
                        button.block type="submit" { "完成绑定" }
                    }
                }
            }
        },
    )
}

#[handler]
async fn totp_page(web: Web, Query(q): Query<NextQuery>) -> PageResult {
    if web.auth.totp_enabled {
        return Ok(see_other(
            &safe_next(q.next.as_deref()).unwrap_or_else(|| "/home".into()),
        ));
    }
    let (secret, uri) = service::totp_setup(&web.app, &web.auth)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    page(totp_view(&web, &secret, &uri, q.next.as_deref(), None))
}

#[handler]
async fn totp_submit(web: Web, Query(q): Query<NextQuery>, Form(f): Form<TotpForm>) -> PageResult {
    let next = q.next.or(f.next);
    match service::totp_enable(&web.app, &web.auth, f.code.trim()).await {
        Ok(()) => Ok(see_other(
            &safe_next(next.as_deref()).unwrap_or_else(|| "/home".into()),
        )),
        Err(AuthError::MfaCodeInvalid) => {
            // The set-up shows the pending secret again (it is kept until bound), so the one
            // the user has added to their app stays valid: only the code is to be retyped.
            let (secret, uri) = service::totp_setup(&web.app, &web.auth)
                .await
                .map_err(|e| WebError::Api(e.into()))?;
            Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                totp_view(
                    &web,
                    &secret,
                    &uri,
                    next.as_deref(),
                    Some("动态验证码错误，请核对身份验证器中本账号的 6 位验证码后重新输入（二维码和密钥没有变化，无需重新添加）"),
                ),
            ))
        }
        Err(e) => Err(WebError::Api(e.into())),
    }
}

#[derive(Debug, Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    old: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    again: String,
}

fn password_view(web: &Web, error: Option<(&str, String)>) -> Markup {
    let err_for = |f: &str| {
        error
            .as_ref()
            .filter(|(field, _)| *field == f)
            .map(|(_, m)| m.as_str())
    };
    layout::bare(
        "修改密码",
        html! {
            div.login {
                div.brand { h1 { "修改密码" } p.muted { "密码至少 8 位，包含大写字母、小写字母、数字、符号中的三类；教职工账号每 90 天须更换一次" } }
                div.card {
                    form.stack method="post" action=(format!("/account/password?_csrf={}", web.csrf())) {
                        (field("原密码", "old", input("password", "old", ""), err_for("old")))
                        (field("新密码", "new", input("password", "new", ""), err_for("new")))
                        (field("再次输入新密码", "again", input("password", "again", ""), err_for("again")))
                        button.block type="submit" id="password-submit" { "确认修改" }
                    }
                }
            }
        },
    )
}

#[handler]
async fn password_page(web: Web) -> PageResult {
    page(password_view(&web, None))
}

#[handler]
async fn password_submit(req: &Request, web: Web, Form(f): Form<PasswordForm>) -> PageResult {
    if f.new != f.again {
        return Ok(html_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            password_view(&web, Some(("again", "两次输入的新密码不一致".into()))),
        ));
    }
    let old = Some(f.old.as_str()).filter(|o| !o.is_empty());
    match service::change_password(&web.app, &web.auth, old, &f.new, &client_info(req)).await {
        Ok(signed) => {
            // Every session of the account was revoked; this browser continues in the new one.
            let mut resp = see_other("/home");
            if let Ok(v) =
                session::set_cookie(&signed.token, session::over_https(req, &web.app)).parse()
            {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(e) => {
            let field = match e {
                AuthError::OldPasswordWrong => "old",
                AuthError::WeakPassword(_) => "new",
                _ => return Err(WebError::Api(e.into())),
            };
            Ok(html_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                password_view(&web, Some((field, e.user_message()))),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/t/sqsf/m")).as_deref(), Some("/t/sqsf/m"));
        assert_eq!(safe_next(Some("//evil.example")), None);
        assert_eq!(safe_next(Some("https://evil.example")), None);
        assert_eq!(safe_next(Some("/\\evil")), None);
        // R-X04 (issue 13.11): control characters are dropped by browsers, making `//host`.
        assert_eq!(safe_next(Some("/\t/evil.example/")), None);
        assert_eq!(safe_next(Some("/\n/evil.example/")), None);
        assert_eq!(safe_next(Some("/\r\n/evil.example")), None);
        assert_eq!(safe_next(Some("/ /evil.example")), None);
        assert_eq!(
            safe_next(Some("/%09/evil.example")).as_deref(),
            Some("/%09/evil.example")
        );
    }

    #[test]
    fn each_role_starts_on_its_own_pages() {
        assert_eq!(home_url(Role::Parent, Some("sqsf")), "/t/sqsf/m");
        assert_eq!(
            home_url(Role::HomeroomTeacher, Some("sqsf")),
            "/t/sqsf/m/teacher"
        );
        assert_eq!(home_url(Role::SchoolAdmin, Some("sqsf")), "/t/sqsf/console");
        assert_eq!(home_url(Role::BureauOfficer, None), "/console/bureau");
    }
}
