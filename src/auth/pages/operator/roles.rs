//! The security administrator's page (三员分立; issue 13 item 6): who holds which operator
//! role, and the form that grants one, as `GET /platform/roles` and `POST /platform/roles`
//! do with the same permissions and the same service calls ([`crate::auth::roles`]).
//!
//! Must never grant a school or agency role here, nor decide who may hold two operator
//! roles: the service refuses what the rules forbid and the refusal is shown on the form.

use maud::{html, Markup};
use poem::http::StatusCode;
use poem::web::Form;
use poem::{handler, Response};
use serde::Deserialize;

use super::{allow, may, when_s, FormError, ROLES};
use crate::auth::error::AuthError;
use crate::auth::model::Role;
use crate::auth::perms::{ROLES_ASSIGN, ROLES_LIST};
use crate::auth::roles::{self, RoleAssignmentView};
use crate::error::DomainError;
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{field, input, notice, Tone};
use crate::web::nav::platform_page;
use crate::web::session::Web;

/// The roles this page grants: the operator's three.
const OPERATOR_ROLES: [Role; 3] = [Role::OperatorSys, Role::OperatorSec, Role::OperatorAudit];

#[derive(Debug, Default, Deserialize)]
pub(super) struct AssignForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

fn roles_view(
    web: &Web,
    list: &[RoleAssignmentView],
    form: &AssignForm,
    errors: &FormError,
    info: Option<Markup>,
) -> Markup {
    let writes = may(web, &ROLES_ASSIGN);
    platform_page(
        web,
        "运营方角色",
        ROLES,
        html! {
            @if let Some(i) = info { (i) }
            p.muted { "系统管理员、安全管理员、审计管理员三员分立：同一账号不能兼任两种运营方角色。每次授予都记入审计日志。" }
            div.table-wrap {
                table #platform-roles {
                    thead { tr { th { "姓名" } th { "手机号" } th { "角色" } th { "授予时间" } } }
                    tbody {
                        @for a in list {
                            tr data-role=(a.role.as_str()) {
                                td { (a.display_name) }
                                td { (a.phone_masked) }
                                td { (a.role.label()) }
                                td { (when_s(a.created_at)) }
                            }
                        }
                    }
                }
            }
            @if list.is_empty() { p.muted { "还没有运营方角色" } }
            @if writes {
                h2 { "授予运营方角色" }
                @if let Some(m) = errors.field("") { (notice(Tone::Error, m)) }
                form.card.stack method="post" action=(format!("{ROLES}?_csrf={}", web.csrf())) id="role-form" {
                    div.filters {
                        (field("手机号", "phone", html! {
                            input type="tel" id="phone" name="phone" value=(form.phone) inputmode="numeric" maxlength="11";
                        }, errors.field("phone")))
                        (field("姓名", "name", input("text", "name", &form.name), errors.field("name")))
                        (field("角色", "role", html! {
                            select id="role" name="role" {
                                @for r in OPERATOR_ROLES {
                                    option value=(r.as_str()) selected[form.role == r.as_str()] { (r.label()) }
                                }
                            }
                        }, errors.field("role")))
                    }
                    button type="submit" id="role-submit" { "授予" }
                }
            }
        },
    )
}

async fn render(
    web: &Web,
    status: StatusCode,
    form: &AssignForm,
    errors: &FormError,
    info: Option<Markup>,
) -> Result<Response, WebError> {
    let list = roles::list_platform(&web.app)
        .await
        .map_err(|e| WebError::Api(e.into()))?;
    Ok(html_response(
        status,
        roles_view(web, &list, form, errors, info),
    ))
}

#[handler]
pub(super) async fn roles_page(web: Web) -> PageResult {
    allow(&web, &ROLES_LIST).await?;
    render(
        &web,
        StatusCode::OK,
        &AssignForm::default(),
        &FormError::none(),
        None,
    )
    .await
}

/// The field a refusal of the grant belongs to.
fn field_of(e: &AuthError) -> &'static str {
    match e {
        AuthError::InvalidPhone(_) => "phone",
        AuthError::InvalidInput(_) => "name",
        AuthError::AlreadyAssigned | AuthError::SeparationOfDuties(_) => "role",
        _ => "",
    }
}

#[handler]
pub(super) async fn roles_submit(web: Web, Form(f): Form<AssignForm>) -> PageResult {
    allow(&web, &ROLES_ASSIGN).await?;
    let mut errors = FormError::none();
    let role = Role::parse(f.role.trim()).filter(|r| OPERATOR_ROLES.contains(r));
    let Some(role) = role else {
        errors.add("role", "请选择要授予的角色");
        return render(&web, StatusCode::UNPROCESSABLE_ENTITY, &f, &errors, None).await;
    };
    match roles::assign_platform(&web.app, &web.auth, &f.phone, &f.name, role).await {
        // Answered with the page itself, not a redirect: a first password is shown once
        // and must never travel in an address.
        Ok((_, password)) => {
            let said = match password {
                Some(p) => format!(
                    "已为 {} 授予“{}”。初始密码（只显示这一次，首次登录须修改并绑定身份验证器）：{p}",
                    f.name.trim(),
                    role.label()
                ),
                None => format!("已为 {} 授予“{}”，沿用该账号原有的密码。", f.name.trim(), role.label()),
            };
            let info = html! { div #role-granted { (notice(Tone::Ok, &said)) } };
            render(
                &web,
                StatusCode::OK,
                &AssignForm::default(),
                &FormError::none(),
                Some(info),
            )
            .await
        }
        Err(e) if e.kind() != crate::error::ErrorKind::Internal => {
            errors.add(field_of(&e), e.user_message());
            render(&web, StatusCode::UNPROCESSABLE_ENTITY, &f, &errors, None).await
        }
        Err(e) => Err(WebError::Api(e.into())),
    }
}
