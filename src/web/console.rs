//! The PC console's frame: who may enter which console, the side navigation of each (school,
//! agency, bureau, operator), and the school's overview page. The pages themselves live in
//! `console_*` modules, one per area, each with its own `mount`.

use maud::html;
use poem::{get, handler, Route};

use super::layout;
use super::nav::{agency_nav, school_page};
use super::session::Web;
use crate::auth::model::Role;
use crate::auth::roles;
use crate::tenancy::model::{TenantContext, TenantKind};
use crate::web::frame::{page, PageResult, WebError};

/// The console's overview; the areas' pages are mounted by their features.
pub fn mount(r: Route) -> Route {
    r.at("/console", get(overview))
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
        web.authorize(&crate::auth::perms::LIST).await?;
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
