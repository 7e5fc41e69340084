//! The pages of meals: the school console's catalogue (items and packages), the week's
//! menu with its pictures and the ordering rules (R-S07, R-S05); the parent's ordering for
//! a child, the child's allergies, the week at school and the records (R-P07, R-P11,
//! R-P12); stopping a child's meals (R-P08) and the stops' review by the homeroom teacher on
//! the phone and the admin in the console (R-T10); the canteen's numbers of a day.
//!
//! Every page calls the same service function, with the same permission, as the endpoint
//! of `meals::api` it mirrors. Must never check a meal rule or run SQL of its own: a refusal
//! comes from the service and is shown in Chinese next to what it is about, with the form as
//! typed. Paying goes through the payments pages (`POST /m/pay` with `meal_order_id`): meals
//! never imports payments.

mod canteen;
mod catalogue;
mod catalogue_form;
mod menu;
mod parent_child;
mod parent_order;
mod rules;
mod stops;
mod stops_review;

use chrono::NaiveDate;
use maud::{html, Markup};
use poem::http::header;
use poem::web::Path;
use poem::{handler, Response, Route};

use crate::enrollment::pages::parent::Family;
use crate::meals::model::{MealOrderStatus, OfferStatus};
use crate::meals::perms::MENU_PICTURE;
use crate::meals::service;
use crate::web::forms::actor;
use crate::web::frame::{PageResult, WebError};
use crate::web::session::Web;

pub fn mount(r: Route) -> Route {
    let r = catalogue::mount(r);
    let r = menu::mount(r);
    let r = rules::mount(r);
    let r = parent_order::mount(r);
    let r = stops::mount(r);
    let r = stops_review::mount(r);
    let r = canteen::mount(r);
    parent_child::mount(r).at(
        "/m/meals/menu/items/:id/:day/picture",
        poem::get(menu_picture),
    )
}

/// The notice after a successful change (the `done` key of the redirect).
fn done_notice(done: Option<&str>) -> Markup {
    let text = match done {
        Some("item_created") => "餐品已保存为草稿，发布后家长才能订",
        Some("item_saved") => "餐品已保存",
        Some("item_published") => "餐品已发布，家长现在可以订",
        Some("item_withdrawn") => "餐品已下架，已订的照常供应",
        Some("package_created") => "套餐已保存为草稿，发布后家长才能订",
        Some("package_saved") => "套餐已保存",
        Some("package_published") => "套餐已发布，家长现在可以订",
        Some("package_withdrawn") => "套餐已下架，已订的照常供应",
        Some("menu_saved") => "菜单已保存",
        Some("menu_unchanged") => "菜单没有修改",
        Some("picture_saved") => "菜品图片已上传",
        Some("rules_saved") => "订餐规则已保存",
        Some("excluded_added") => "不供餐日已添加",
        Some("excluded_removed") => "已取消该不供餐日",
        Some("ordered") => "订餐成功，请在保留时间内完成支付，超时将自动取消",
        Some("cancelled") => "已取消订餐",
        Some("allergies_saved") => "过敏信息已保存，订含这些过敏原的餐品前会提示您确认",
        Some("stop_requested") => "停餐申请已提交，等待班主任审批",
        Some("stop_withdrawn") => "已撤销停餐申请",
        Some("stop_approved") => "已批准停餐，停掉的供餐日将退款给家长",
        Some("stop_rejected") => "已驳回停餐申请，家长会看到您的审批意见",
        Some("stop_registered") => "停餐已登记，立即生效",
        _ => return html! {},
    };
    html! { div.notice.ok id="done" { (text) } }
}

/// The child a parent page is about, switched like the other parent pages do.
fn child_switcher(web: &Web, fam: &Family, path: &str) -> Markup {
    let current = fam.child();
    html! {
        @if fam.list.len() > 1 {
            div.toolbar.children {
                span.muted { "孩子：" }
                @for c in &fam.list {
                    @if c.id == current.id { strong.tag { (c.name) } }
                    @else { a.tag.grey href=(web.link(&format!("{path}?child={}", c.id))) { (c.name) } }
                }
            }
        }
    }
}

/// The meal pages of a child, `on` being the one shown.
fn parent_links(web: &Web, child: i64, on: &str) -> Markup {
    let pages = [
        ("offer", "/m/meals", "订餐"),
        ("week", "/m/meals/week", "本周就餐"),
        ("records", "/m/meals/records", "订餐记录"),
        ("allergies", "/m/meals/allergies", "过敏信息"),
        ("stops", "/m/meals/stops", "停餐"),
    ];
    html! {
        div.toolbar #meal-links {
            @for (key, path, label) in pages {
                @if key == on { strong.tag { (label) } }
                @else { a.tag.grey href=(web.link(&format!("{path}?child={child}"))) id={ "meal-link-" (key) } { (label) } }
            }
        }
    }
}

/// The tag of an item's or package's status.
fn offer_tag(s: OfferStatus) -> Markup {
    let class = match s {
        OfferStatus::Draft => "tag warn",
        OfferStatus::Published => "tag",
        OfferStatus::Withdrawn => "tag grey",
    };
    html! { span class=(class) data-status=(s.as_str()) { (s.label()) } }
}

/// The tag of a meal order's status.
fn order_tag(s: MealOrderStatus, label: &str) -> Markup {
    let class = match s {
        MealOrderStatus::Held => "tag warn",
        MealOrderStatus::Confirmed => "tag",
        MealOrderStatus::Expired | MealOrderStatus::Cancelled => "tag grey",
    };
    html! { span class=(class) data-status=(s.as_str()) { (label) } }
}

/// Grade levels as parents and admins read them: "1–3 年级", "1、3、5 年级".
fn levels_text(levels: &[i16]) -> String {
    let mut v = levels.to_vec();
    v.sort_unstable();
    v.dedup();
    let (Some(a), Some(b)) = (v.first(), v.last()) else {
        return "无".into();
    };
    match (a, b) {
        (a, b) if a == b => format!("{a} 年级"),
        (a, b) if usize::try_from(b - a).is_ok_and(|n| n + 1 == v.len()) => {
            format!("{a}–{b} 年级")
        }
        _ => format!(
            "{} 年级",
            v.iter().map(i16::to_string).collect::<Vec<_>>().join("、")
        ),
    }
}

/// A list of labels, or "无".
fn labels_or_none(labels: &[String]) -> String {
    if labels.is_empty() {
        "无".into()
    } else {
        labels.join("、")
    }
}

/// "12-07"
fn short_date(d: NaiveDate) -> String {
    d.format("%m-%d").to_string()
}

/// A `day` query parameter; anything that is not a date is today.
fn day_or_today(web: &Web, s: Option<&str>) -> NaiveDate {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
        .unwrap_or_else(|| web.app.clock.today())
}

/// The page route of a menu picture: the API's address takes a bearer token, a page has
/// the session cookie, so pages show pictures through [`menu_picture`].
fn picture_src(web: &Web, console: bool, item: i64, day: NaiveDate) -> String {
    let base = if console {
        "/console/meals/menu"
    } else {
        "/m/meals/menu"
    };
    web.link(&format!("{base}/items/{item}/{day}/picture"))
}

/// A menu picture, read with the same permission and service as the API's
/// `GET /school/meals/items/:id/menu/:day/picture`.
#[handler]
async fn menu_picture(web: Web, Path((item, day)): Path<(i64, String)>) -> PageResult {
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| WebError::NotFound)?;
    let mut tx = web.school_tx(&MENU_PICTURE).await?;
    let obj = service::menu_picture(&mut tx, &actor(&web), item, day).await?;
    tx.commit().await?;
    Ok(Response::builder()
        .content_type(obj.content_type.as_str())
        .header("x-content-type-options", "nosniff")
        .header(header::CACHE_CONTROL, "private, max-age=300")
        .body(obj.body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_as_a_range_when_they_are_one() {
        assert_eq!(levels_text(&[3, 1, 2]), "1–3 年级");
        assert_eq!(levels_text(&[1, 3, 5]), "1、3、5 年级");
        assert_eq!(levels_text(&[4]), "4 年级");
        assert_eq!(levels_text(&[]), "无");
    }
}
