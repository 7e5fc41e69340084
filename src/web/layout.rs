//! The look every page shares: the document shell, the mobile tab bar, the console's side
//! navigation, notices, and form fields that show their own error underneath.
//!
//! Everything here escapes what it prints (maud does); nothing here reads data.

use maud::{html, Markup, DOCTYPE};

use super::session::Web;
use crate::auth::model::Role;

pub const CSS_PATH: &str = "/static/app.css";

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover";
            meta name="format-detection" content="telephone=no";
            title { (title) " · 石岐街道课后服务" }
            link rel="stylesheet" href=(CSS_PATH);
        }
    }
}

/// A page for a visitor who is not signed in (sign-in, errors before sign-in).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body.bare { (body) }
        }
    }
}

/// One tab of the mobile tab bar.
pub struct Tab {
    pub path: &'static str,
    pub label: &'static str,
}

fn mobile_tabs(web: &Web) -> Vec<Tab> {
    let mut tabs = Vec::new();
    if web.has_role(Role::Parent) {
        tabs.push(Tab {
            path: "/m",
            label: "首页",
        });
        tabs.push(Tab {
            path: "/m/courses",
            label: "选课",
        });
        tabs.push(Tab {
            path: "/m/timetable",
            label: "课表",
        });
        tabs.push(Tab {
            path: "/m/records",
            label: "记录",
        });
        tabs.push(Tab {
            path: "/m/me",
            label: "我的",
        });
    }
    if web.has_role(Role::HomeroomTeacher)
        || web.has_role(Role::Teacher)
        || web.has_role(Role::Inspector)
    {
        tabs.push(Tab {
            path: "/m/teacher",
            label: "教师",
        });
    }
    tabs
}

/// The mobile H5 page (parents, teachers): top bar, content, bottom tab bar. `active` is
/// the tab path this page belongs to.
pub fn mobile(web: &Web, title: &str, active: &str, body: Markup) -> Markup {
    let tabs = mobile_tabs(web);
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body.mobile {
                header.topbar {
                    span.title { (title) }
                    (logout_button(web))
                }
                main { (body) }
                @if !tabs.is_empty() {
                    nav.tabbar {
                        @for t in &tabs {
                            a href=(web.link(t.path)) class=[(t.path == active).then_some("on")] { (t.label) }
                        }
                    }
                }
            }
        }
    }
}

/// One entry of the console's side navigation.
pub struct NavItem {
    pub group: &'static str,
    pub path: String,
    pub label: &'static str,
}

/// The PC console page (school and agency admins, bureau, operator).
pub fn console(web: &Web, title: &str, nav: &[NavItem], active: &str, body: Markup) -> Markup {
    let place = web
        .tenant
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_else(|| "石岐街道课后服务平台".into());
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body.console {
                header.topbar {
                    span.title { (place) " · 管理后台" }
                    span { (web.auth.display_name) }
                    (logout_button(web))
                }
                div.shell {
                    nav.side {
                        @for (i, item) in nav.iter().enumerate() {
                            @if i == 0 || nav[i - 1].group != item.group {
                                div.group { (item.group) }
                            }
                            a href=(item.path) class=[(item.path == active).then_some("on")] { (item.label) }
                        }
                    }
                    main {
                        h1 { (title) }
                        (body)
                    }
                }
            }
        }
    }
}

fn logout_button(web: &Web) -> Markup {
    html! {
        form.inline method="post" action=(format!("/logout?_csrf={}", web.csrf())) {
            button.link type="submit" { "退出" }
        }
    }
}

/// Kind of a notice box.
#[derive(Clone, Copy)]
pub enum Tone {
    Ok,
    Warn,
    Error,
}

pub fn notice(tone: Tone, text: &str) -> Markup {
    let class = match tone {
        Tone::Ok => "notice ok",
        Tone::Warn => "notice warn",
        Tone::Error => "notice error",
    };
    html! { div class=(class) role=[matches!(tone, Tone::Error).then_some("alert")] { (text) } }
}

/// A form field: label, the control, and the error for this field (if any) right under it.
pub fn field(label: &str, name: &str, control: Markup, error: Option<&str>) -> Markup {
    html! {
        div class={ "field" @if error.is_some() { " has-error" } } data-field=(name) {
            label for=(name) { (label) }
            (control)
            @if let Some(e) = error {
                div.error id={ (name) "-error" } role="alert" { (e) }
            }
        }
    }
}

/// A text input with its current value.
pub fn input(kind: &str, name: &str, value: &str) -> Markup {
    html! { input type=(kind) id=(name) name=(name) value=(value); }
}

/// Yuan amount as shown to users: `¥585.00`.
pub fn yuan(amount: &str) -> String {
    format!("¥{amount}")
}

/// A timestamp in Beijing time, to the second.
pub fn when_s(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&crate::clock::cst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A timestamp in Beijing time, minute precision.
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&crate::clock::cst())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The label of a weekday number (1 = 周一): enrollment's one list of weekday names.
pub fn weekday(n: i16) -> &'static str {
    crate::enrollment::model::weekday_label(n)
}
