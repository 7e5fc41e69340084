//! The catalogue (R-S07): the meal items with their price per served day, grades, daily
//! capacity and allergens, and the packages; new ones, edits, publish and withdraw. Each
//! change is the same service call as its endpoint (`POST /school/meals/items`, `PATCH
//! /school/meals/items/:id`, `…/publish`, `…/withdraw`, and the same for packages).

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::catalogue_form::{
    item_control, item_form, item_patch, item_values, new_item, new_package, package_control,
    package_form, package_patch, package_values,
};
use super::{done_notice, labels_or_none, levels_text, offer_tag};
use crate::error::ApiError;
use crate::meals::model::{MealItemView, MealKind, MealPackageView, OfferStatus};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::yuan;
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/meals", get(list))
        .at("/console/meals/items", post(item_create))
        .at("/console/meals/items/:id", get(item_get).post(item_update))
        .at("/console/meals/items/:id/publish", post(item_publish))
        .at("/console/meals/items/:id/withdraw", post(item_withdraw))
        .at("/console/meals/packages", post(package_create))
        .at(
            "/console/meals/packages/:id",
            get(package_get).post(package_update),
        )
        .at("/console/meals/packages/:id/publish", post(package_publish))
        .at(
            "/console/meals/packages/:id/withdraw",
            post(package_withdraw),
        )
}

const NAV: &str = "/console/meals";

#[derive(Debug, Default, Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

/// The catalogue and the packages, read with the endpoints' permissions.
async fn catalogue(web: &Web) -> Result<(Vec<MealItemView>, Vec<MealPackageView>), WebError> {
    let mut tx = web.school_tx(&ITEMS).await?;
    let items = service::items(&mut tx).await?;
    web.authorize(&PACKAGES).await?;
    let packages = service::packages(&mut tx).await?;
    tx.commit().await?;
    Ok((items, packages))
}

fn capacity_text(c: Option<i32>) -> String {
    c.map_or_else(|| "不限".into(), |n| format!("{n} 份"))
}

/// 发布 or 下架 of an item or package (`what` is `items` or `packages`), as its status allows.
fn status_buttons(web: &Web, what: &str, id: i64, s: OfferStatus, back: &str) -> Markup {
    let one = if what == "items" { "item" } else { "package" };
    let url =
        |action: &str| web.post_url(&format!("/console/meals/{what}/{id}/{action}?back={back}"));
    html! {
        @if s == OfferStatus::Published {
            form.inline method="post" action=(url("withdraw")) {
                button.danger type="submit" id={ (one) "-withdraw-" (id) } { "下架" }
            }
        } @else {
            form.inline method="post" action=(url("publish")) {
                button type="submit" id={ (one) "-publish-" (id) } { "发布" }
            }
        }
    }
}

fn items_table(web: &Web, items: &[MealItemView]) -> Markup {
    html! {
        @if items.is_empty() {
            p.muted { "还没有餐品。先新建餐品（早餐、午餐、下午茶或晚餐），发布后家长才能订。" }
        } @else {
            div.table-wrap {
                table #meal-items {
                    thead { tr {
                        th { "餐别" } th { "名称" } th.num { "每日价格" } th { "适用年级" }
                        th.num { "每日上限" } th { "过敏原" } th { "状态" } th { "操作" }
                    } }
                    tbody {
                        @for i in items {
                            tr id={ "item-" (i.id) } data-item=(i.code) {
                                td { (i.kind_label) }
                                td { a href=(web.link(&format!("/console/meals/items/{}", i.id))) { (i.name) } }
                                td.num { (yuan(&i.price)) }
                                td { (levels_text(&i.levels)) }
                                td.num { (capacity_text(i.daily_capacity)) }
                                td { (labels_or_none(&i.allergen_labels)) }
                                td { (offer_tag(i.status)) }
                                td {
                                    (status_buttons(web, "items", i.id, i.status, "list"))
                                    " "
                                    a href=(web.link(&format!("/console/meals/items/{}", i.id))) id={ "item-edit-" (i.id) } { "修改" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn package_contents(p: &MealPackageView) -> String {
    p.items
        .iter()
        .map(|i| format!("{}：{}", i.kind_label, i.name))
        .collect::<Vec<_>>()
        .join("；")
}

fn packages_table(web: &Web, packages: &[MealPackageView]) -> Markup {
    html! {
        @if packages.is_empty() {
            p.muted { "还没有套餐。套餐由不同餐别的餐品组成，按套餐自己的价格计费。" }
        } @else {
            div.table-wrap {
                table #meal-packages {
                    thead { tr {
                        th { "名称" } th { "包含" } th.num { "每日价格" } th { "可订年级" }
                        th { "过敏原" } th { "状态" } th { "操作" }
                    } }
                    tbody {
                        @for p in packages {
                            tr id={ "package-" (p.id) } data-package=(p.code) {
                                td { a href=(web.link(&format!("/console/meals/packages/{}", p.id))) { (p.name) } }
                                td { (package_contents(p)) }
                                td.num { (yuan(&p.price)) }
                                td { (levels_text(&p.levels)) }
                                td { (labels_or_none(&p.allergen_labels)) }
                                td { (offer_tag(p.status)) }
                                td {
                                    (status_buttons(web, "packages", p.id, p.status, "list"))
                                    " "
                                    a href=(web.link(&format!("/console/meals/packages/{}", p.id))) id={ "package-edit-" (p.id) } { "修改" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The catalogue page; `typed` is the refused form as typed (`p.form` says which).
async fn list_page(web: &Web, typed: &Posted, p: &FormError, done: Option<&str>) -> PageResult {
    let (items, packages) = catalogue(web).await?;
    let blank = Posted::of(&[("kind", MealKind::Lunch.as_str().to_string())]);
    let item_typed = if p.form == "item" { typed } else { &blank };
    let package_typed = if p.form == "package" { typed } else { &blank };
    let body = school_page(
        web,
        "餐品与套餐",
        NAV,
        html! {
            (done_notice(done))
            (p.notice("status"))
            div.toolbar {
                a.btn.secondary href=(web.link("/console/meals/menu")) { "每周菜单" }
                a.btn.secondary href=(web.link("/console/meals/rules")) { "订餐规则" }
            }
            h2 { "餐品" }
            (items_table(web, &items))
            div.card #new-item {
                h3 { "新建餐品" }
                p.muted { "价格为每个供餐日的价格；新餐品保存为草稿，发布后家长才能订。" }
                (item_form(&web.post_url("/console/meals/items"), item_typed, p, false))
            }
            h2 { "套餐" }
            (packages_table(web, &packages))
            div.card #new-package {
                h3 { "新建套餐" }
                p.muted { "套餐包含若干不同餐别的餐品，可订年级为各餐品都适用的年级；其中的餐品都发布后才能发布套餐。" }
                (package_form(&web.post_url("/console/meals/packages"), package_typed, p, &items, false))
            }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn list(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    list_page(
        &web,
        &Posted::default(),
        &FormError::none(),
        q.done.as_deref(),
    )
    .await
}

#[handler]
async fn item_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let req = match new_item(&f) {
        Ok(r) => r,
        Err(fe) => return list_page(&web, &f, &fe, None).await,
    };
    let mut tx = web.school_tx(&ITEM_CREATE).await?;
    let r = service::add_item(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/meals?done=item_created#meal-items"),
        )),
        Err(e) => list_page(&web, &f, &FormError::of("item", &e, item_control), None).await,
    }
}

/// The stored item `id`, read as the list endpoint answers it.
async fn item_of(web: &Web, id: i64) -> Result<MealItemView, WebError> {
    let mut tx = web.school_tx(&ITEMS).await?;
    let items = service::items(&mut tx).await?;
    tx.commit().await?;
    items
        .into_iter()
        .find(|i| i.id == id)
        .ok_or(WebError::NotFound)
}

async fn item_page(
    web: &Web,
    id: i64,
    typed: Option<&Posted>,
    p: &FormError,
    done: Option<&str>,
) -> PageResult {
    let item = item_of(web, id).await?;
    let stored = item_values(&item);
    let f = typed.unwrap_or(&stored);
    let body = school_page(
        web,
        &item.name,
        NAV,
        html! {
            p { a href=(web.link("/console/meals")) id="back-to-meals" { "‹ 返回餐品与套餐" } }
            (done_notice(done))
            (p.notice("status"))
            div.card #item-summary {
                div.row { h2 { (item.name) } (offer_tag(item.status)) }
                dl.kv {
                    dt { "餐别" } dd { (item.kind_label) }
                    dt { "代码" } dd { (item.code) }
                    dt { "每日价格" } dd.price { (yuan(&item.price)) }
                    dt { "适用年级" } dd { (levels_text(&item.levels)) }
                    dt { "每日上限" } dd { (capacity_text(item.daily_capacity)) }
                    dt { "过敏原" } dd { (labels_or_none(&item.allergen_labels)) }
                }
                div.toolbar { (status_buttons(web, "items", item.id, item.status, "item")) }
            }
            div.card #edit {
                h3 { "修改餐品" }
                p.muted { "餐别和代码不能修改。改价只影响之后的订单，已下的订单保持下单时的价格。" }
                (item_form(&web.post_url(&format!("/console/meals/items/{id}")), f, p, true))
            }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn item_get(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    item_page(&web, id, None, &FormError::none(), q.done.as_deref()).await
}

#[handler]
async fn item_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let cur = item_of(&web, id).await?;
    let patch = match item_patch(&f, &cur) {
        Ok(p) => p,
        Err(fe) => return item_page(&web, id, Some(&f), &fe, None).await,
    };
    let mut tx = web.school_tx(&ITEM_UPDATE).await?;
    let r = service::update_item(&mut tx, &actor(&web), id, patch).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/meals/items/{id}?done=item_saved")),
        )),
        Err(e) => {
            let p = FormError::of("item", &e, item_control);
            item_page(&web, id, Some(&f), &p, None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct BackQuery {
    /// `item` (or `package`): back to its page; anything else: the catalogue.
    back: Option<String>,
}

/// The end of a publish or withdraw: back where it was pressed, with the notice or the
/// refusal.
async fn status_end<T>(
    web: &Web,
    what: &str,
    id: i64,
    back: Option<&str>,
    result: Result<Result<T, ApiError>, WebError>,
    done: &str,
) -> PageResult {
    let on_page = back.is_some_and(|b| b == what);
    match result? {
        Ok(_) if on_page => Ok(see_other(
            &web.link(&format!("/console/meals/{what}s/{id}?done={done}")),
        )),
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/meals?done={done}#meal-{what}s")),
        )),
        Err(e) => {
            let p = FormError::of("status", &e, |_| None);
            match (on_page, what) {
                (true, "item") => item_page(web, id, None, &p, None).await,
                (true, _) => package_page(web, id, None, &p, None).await,
                _ => list_page(web, &Posted::default(), &p, None).await,
            }
        }
    }
}

async fn item_status(web: Web, id: i64, back: Option<String>, publish: bool) -> PageResult {
    let perm = if publish {
        &ITEM_PUBLISH
    } else {
        &ITEM_WITHDRAW
    };
    let mut tx = web.school_tx(perm).await?;
    let r = service::set_item_status(&mut tx, &actor(&web), id, publish).await;
    let done = if publish {
        "item_published"
    } else {
        "item_withdrawn"
    };
    let settled = settle(tx, r.map_err(ApiError::from)).await;
    status_end(&web, "item", id, back.as_deref(), settled, done).await
}

#[handler]
async fn item_publish(web: Web, Path(id): Path<i64>, Query(q): Query<BackQuery>) -> PageResult {
    item_status(web, id, q.back, true).await
}

#[handler]
async fn item_withdraw(web: Web, Path(id): Path<i64>, Query(q): Query<BackQuery>) -> PageResult {
    item_status(web, id, q.back, false).await
}

// --- packages -----------------------------------------------------------------------------------

#[handler]
async fn package_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let mut tx = web.school_tx(&PACKAGE_CREATE).await?;
    let r = service::add_package(&mut tx, &actor(&web), new_package(&f)).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/meals?done=package_created#meal-packages"),
        )),
        Err(e) => {
            let p = FormError::of("package", &e, package_control);
            list_page(&web, &f, &p, None).await
        }
    }
}

async fn package_page(
    web: &Web,
    id: i64,
    typed: Option<&Posted>,
    p: &FormError,
    done: Option<&str>,
) -> PageResult {
    let (items, packages) = catalogue(web).await?;
    let pk = packages
        .into_iter()
        .find(|x| x.id == id)
        .ok_or(WebError::NotFound)?;
    let stored = package_values(&pk);
    let f = typed.unwrap_or(&stored);
    let body = school_page(
        web,
        &pk.name,
        NAV,
        html! {
            p { a href=(web.link("/console/meals")) id="back-to-meals" { "‹ 返回餐品与套餐" } }
            (done_notice(done))
            (p.notice("status"))
            div.card #package-summary {
                div.row { h2 { (pk.name) } (offer_tag(pk.status)) }
                dl.kv {
                    dt { "代码" } dd { (pk.code) }
                    dt { "包含" } dd { (package_contents(&pk)) }
                    dt { "每日价格" } dd.price { (yuan(&pk.price)) }
                    dt { "可订年级" } dd { (levels_text(&pk.levels)) }
                    dt { "过敏原" } dd { (labels_or_none(&pk.allergen_labels)) }
                }
                div.toolbar { (status_buttons(web, "packages", pk.id, pk.status, "package")) }
            }
            div.card #edit {
                h3 { "修改套餐" }
                p.muted { "代码不能修改。改价只影响之后的订单。" }
                (package_form(&web.post_url(&format!("/console/meals/packages/{id}")), f, p, &items, true))
            }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn package_get(web: Web, Path(id): Path<i64>, Query(q): Query<DoneQuery>) -> PageResult {
    package_page(&web, id, None, &FormError::none(), q.done.as_deref()).await
}

#[handler]
async fn package_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let (_, packages) = catalogue(&web).await?;
    let cur = packages
        .iter()
        .find(|x| x.id == id)
        .ok_or(WebError::NotFound)?;
    let mut tx = web.school_tx(&PACKAGE_UPDATE).await?;
    let r = service::update_package(&mut tx, &actor(&web), id, package_patch(&f, cur)).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link(&format!("/console/meals/packages/{id}?done=package_saved")),
        )),
        Err(e) => {
            let p = FormError::of("package", &e, package_control);
            package_page(&web, id, Some(&f), &p, None).await
        }
    }
}

async fn package_status(web: Web, id: i64, back: Option<String>, publish: bool) -> PageResult {
    let perm = if publish {
        &PACKAGE_PUBLISH
    } else {
        &PACKAGE_WITHDRAW
    };
    let mut tx = web.school_tx(perm).await?;
    let r = service::set_package_status(&mut tx, &actor(&web), id, publish).await;
    let done = if publish {
        "package_published"
    } else {
        "package_withdrawn"
    };
    let settled = settle(tx, r.map_err(ApiError::from)).await;
    status_end(&web, "package", id, back.as_deref(), settled, done).await
}

#[handler]
async fn package_publish(web: Web, Path(id): Path<i64>, Query(q): Query<BackQuery>) -> PageResult {
    package_status(web, id, q.back, true).await
}

#[handler]
async fn package_withdraw(web: Web, Path(id): Path<i64>, Query(q): Query<BackQuery>) -> PageResult {
    package_status(web, id, q.back, false).await
}
