//! The consoles' navigation: the side menu of each console (school, agency, bureau,
//! operator), filtered by what the caller may open, and the console page frames around it.

use maud::Markup;

use super::layout::{self, NavItem};
use super::session::Web;
use crate::auth::model::Role;

/// The school console's navigation (links under the tenant): the overview, then every
/// feature's entries by rank.
pub fn school_nav(web: &Web) -> Vec<NavItem> {
    let overview = NavItem {
        group: "概览",
        path: web.link("/console"),
        label: "工作台",
    };
    std::iter::once(overview)
        .chain(web.menu.0.iter().map(|e| NavItem {
            group: e.group,
            path: web.link(e.path),
            label: e.label,
        }))
        .collect()
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
    let entries: [(&str, &str, &str, &str, &str); 11] = [
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
            "平台运营",
            "/console/platform/outbox",
            "对外推送队列",
            "platform.integrations",
            "read",
        ),
        (
            "平台运营",
            "/console/platform/notify",
            "消息发送记录",
            "platform.integrations",
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
            "/console/platform/sim/wechat-messages",
            "微信消息",
            "platform.simulators",
            "read",
        ),
        (
            "模拟器",
            "/console/platform/sim/supervision",
            "市监管平台",
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
