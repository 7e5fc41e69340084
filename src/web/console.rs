//! The PC console's frame: who may enter which console, the side navigation of each (school,
//! agency, bureau, operator), and the school's overview page. The pages themselves live in
//! `console_*` modules, one per area, each with its own `mount`.

use maud::{html, Markup};
use poem::{get, handler, Route};

use super::layout::{self, NavItem};
use super::session::Web;
use super::{page, PageResult, WebError};
use crate::auth::model::Role;
use crate::auth::{role_api, roles};
use crate::tenancy::model::{TenantContext, TenantKind};

pub fn mount(r: Route) -> Route {
    let r = r.at("/console", get(overview));
    let r = super::console_people::mount(r);
    let r = super::console_courses::mount(r);
    super::console_platform::mount(r)
}

/// The school console's navigation (links under the tenant).
pub fn school_nav(web: &Web) -> Vec<NavItem> {
    let item = |group, path: &str, label| NavItem {
        group,
        path: web.link(path),
        label,
    };
    vec![
        item("概览", "/console", "工作台"),
        item("基础信息", "/console/classes", "年级与班级"),
        item("基础信息", "/console/departments", "部门"),
        item("基础信息", "/console/staff", "教职工"),
        item("基础信息", "/console/students", "学生"),
        item("基础信息", "/console/imports", "批量导入"),
        item("基础信息", "/console/settings", "场地与时段"),
        item("基础信息", "/console/calendar", "学期校历"),
        item("课程与报名", "/console/courses", "课程发布"),
        item("课程与报名", "/console/enrollments", "报名管理"),
        item("课程与报名", "/console/requests", "退课与调班"),
        item("收费", "/console/orders", "订单与退款"),
        item("收费", "/console/settlement", "结算报表"),
    ]
}

/// The agency console's navigation.
pub fn agency_nav(web: &Web) -> Vec<NavItem> {
    vec![NavItem {
        group: "机构",
        path: web.link("/console"),
        label: "机构概况",
    }]
}

/// The platform console's navigation (bureau officers and the operator's roles): only the
/// entries the caller's roles may open (三员分立: each operator role sees its own work).
pub fn platform_nav(web: &Web) -> Vec<NavItem> {
    let roles = web.auth.platform_roles();
    let may = |obj: &str, act: &str| {
        web.app
            .authz
            .any_allows(&roles, crate::auth::model::Domain::Platform, obj, act)
    };
    let entries: [(&str, &str, &str, &str, &str); 7] = [
        (
            "教体中心",
            "/console/bureau",
            "辖区概况",
            "platform.tenants",
            "read",
        ),
        (
            "平台运营",
            "/console/platform",
            "租户",
            "platform.tenants",
            "read",
        ),
        (
            "平台运营",
            "/console/platform/roles",
            "运营方角色",
            "platform.roles",
            "read",
        ),
        (
            "平台运营",
            "/console/platform/audit",
            "审计日志",
            "platform.audit",
            "read",
        ),
        (
            "模拟器",
            "/console/platform/sim/sms",
            "短信收件箱",
            "platform.simulators",
            "read",
        ),
        (
            "模拟器",
            "/console/platform/sim/wxpay",
            "微信支付",
            "platform.simulators",
            "read",
        ),
        (
            "模拟器",
            "/console/platform/sim/bank",
            "监管银行",
            "platform.simulators",
            "read",
        ),
    ];
    let bureau = roles.contains(&Role::BureauOfficer);
    entries
        .into_iter()
        // The bureau's overview is the bureau's page; the operator's tenant list is the
        // operator's, though both read tenants.
        .filter(|(_, path, ..)| (*path == "/console/bureau") == bureau)
        .filter(|(.., obj, act)| may(obj, act))
        .map(|(group, path, label, ..)| NavItem {
            group,
            path: path.to_string(),
            label,
        })
        .collect()
}

/// A school console page: the frame with the school's navigation around `body`.
pub fn school_page(web: &Web, title: &str, active: &str, body: Markup) -> Markup {
    layout::console(web, title, &school_nav(web), &web.link(active), body)
}

/// A platform console page.
pub fn platform_page(web: &Web, title: &str, active: &str, body: Markup) -> Markup {
    layout::console(web, title, &platform_nav(web), active, body)
}

#[handler]
async fn overview(web: Web) -> PageResult {
    let t = web.tenant()?.clone();
    if t.kind == TenantKind::Agency {
        return agency_overview(&web, &t).await;
    }
    if !web.has_role(Role::SchoolAdmin) {
        return Err(WebError::Api(crate::error::ApiError::new(
            crate::error::ErrorKind::Forbidden,
            "PERMISSION_DENIED",
            "管理后台仅供学校管理员使用",
            serde_json::json!({}),
        )));
    }
    page(school_page(
        &web,
        "工作台",
        "/console",
        html! {
            div.card {
                h2 { (t.name) }
            }
            div.card {
                h3 { "常用操作" }
                ul.list {
                    li { a href=(web.link("/console/imports")) { "批量导入学生、教职工 ›" } }
                    li { a href=(web.link("/console/courses")) { "发布课程与托管 ›" } }
                    li { a href=(web.link("/console/requests")) { "审批退课与调班 ›" } }
                    li { a href=(web.link("/console/settlement")) { "查看结算报表 ›" } }
                }
            }
        },
    ))
}

/// The agency's start page (issue 13 item 6): what the agency's people can do today (see
/// the agency and, for its administrator, who holds which role) and a plain line on what
/// comes later, never an empty page.
async fn agency_overview(web: &Web, t: &TenantContext) -> PageResult {
    let admin = web.has_role(Role::AgencyAdmin);
    let members = if admin {
        web.authorize(&role_api::LIST).await?;
        Some(
            roles::list_in_tenant(&web.app, t)
                .await
                .map_err(|e| WebError::Api(e.into()))?,
        )
    } else {
        None
    };
    let mine: Vec<&str> = web.roles().into_iter().map(Role::label).collect();
    page(layout::console(
        web,
        "机构概况",
        &agency_nav(web),
        &web.link("/console"),
        html! {
            div.card #agency-summary {
                h2 { (t.name) }
                p { "您在本机构的身份：" (mine.join("、")) }
            }
            @if let Some(list) = &members {
                div.card {
                    h3 { "本机构账号" }
                    div.table-wrap {
                        table #agency-members {
                            thead { tr { th { "姓名" } th { "手机号" } th { "角色" } } }
                            tbody {
                                @for m in list {
                                    tr { td { (m.display_name) } td { (m.phone_masked) } td { (m.role.label()) } }
                                }
                            }
                        }
                    }
                }
            }
            div.card {
                h3 { "现在可以做的" }
                ul.list {
                    li { "查看本机构信息" @if admin { "和本机构的账号" } }
                    li { a href="/account/password" { "修改登录密码 ›" } }
                }
                p.muted #coming-soon {
                    "机构课程申报、授课安排、点名考勤和结算对账将在后续版本开放。目前机构承接的课程由合作学校在学校的“课程发布”中登记和管理，报名和缴费情况请与学校联系。"
                }
            }
        },
    ))
}
