//! The week's menu (R-S07): each day of the week (Monday to Sunday) with whether the canteen
//! serves, and per item a form with the dishes of each day and the day's picture. Saving
//! sends only the days whose dishes changed, as `PUT /school/meals/items/:id/menu` would
//! (a day cleared is a menu removed); a picture is the same service call as `POST
//! /school/meals/items/:id/menu/:day/picture`, read with the same 5 MB ceiling.

use chrono::{Duration, NaiveDate};
use maud::{html, Markup};
use poem::web::{Multipart, Path, Query};
use poem::{get, handler, post, Route};
use serde::Deserialize;

use super::{day_or_today, done_notice, menu_picture, offer_tag, picture_src, short_date};
use crate::meals::error::MealError;
use crate::meals::model::{MealItemView, MenuDayInput, MenuDayView, MenuInput, OfferStatus};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, is_domain_refusal, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/meals/menu", get(menu))
        .at("/console/meals/menu/items/:id", post(menu_set))
        .at(
            "/console/meals/menu/items/:id/:day/picture",
            get(menu_picture).post(picture_upload),
        )
}

const NAV: &str = "/console/meals/menu";

#[derive(Debug, Default, Deserialize)]
struct MenuQuery {
    day: Option<String>,
    done: Option<String>,
}

/// A refusal of one item's menu (`p.form` "menu") or of one day's picture ("picture"),
/// with the dishes as typed.
struct Refused<'a> {
    item: i64,
    day: Option<NaiveDate>,
    typed: Option<&'a Posted>,
    p: FormError,
}

fn menu_link(web: &Web, day: NaiveDate) -> String {
    web.link(&format!("/console/meals/menu?day={day}"))
}

fn week_overview(week: &[MenuDayView]) -> Markup {
    html! {
        div.card {
            div.table-wrap {
                table #menu-week {
                    thead { tr { th { "星期" } th { "日期" } th { "供餐" } th { "说明" } } }
                    tbody {
                        @for d in week {
                            tr data-day=(d.day) data-served=(d.served) {
                                td { (d.weekday) }
                                td { (d.day) }
                                td { @if d.served { span.tag { "供餐" } } @else { span.tag.grey { "不供餐" } } }
                                td { (d.note) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The dishes of `item` on day `d`, as stored.
fn stored_dishes(d: &MenuDayView, item: i64) -> Option<&crate::meals::model::MenuEntryView> {
    d.entries.iter().find(|e| e.item_id == item)
}

fn item_card(
    web: &Web,
    monday: NaiveDate,
    item: &MealItemView,
    week: &[MenuDayView],
    refused: Option<&Refused<'_>>,
) -> Markup {
    let mine = refused.filter(|r| r.item == item.id);
    let menu_refusal = mine.filter(|r| r.p.form == "menu");
    let picture_refusal = mine.filter(|r| r.p.form == "picture");
    let value = |d: &MenuDayView| -> String {
        let key = format!("dishes_{}", d.day);
        match menu_refusal.and_then(|r| r.typed) {
            Some(f) => f.get(&key).to_string(),
            None => stored_dishes(d, item.id)
                .map(|e| e.dishes.clone())
                .unwrap_or_default(),
        }
    };
    let day_error = |d: NaiveDate| {
        menu_refusal
            .filter(|r| r.day == Some(d))
            .map(|r| r.p.message.as_str())
    };
    let general = menu_refusal.filter(|r| r.day.is_none());
    let with_dishes: Vec<(&MenuDayView, &crate::meals::model::MenuEntryView)> = week
        .iter()
        .filter_map(|d| stored_dishes(d, item.id).map(|e| (d, e)))
        .filter(|(_, e)| !e.dishes.is_empty())
        .collect();
    // A picture refused for a day that shows no upload form (its dishes went meanwhile).
    let stray = picture_refusal.filter(|r| !with_dishes.iter().any(|(d, _)| Some(d.day) == r.day));
    let action = web.post_url(&format!(
        "/console/meals/menu/items/{}?day={monday}",
        item.id
    ));
    html! {
        div.card.menu-item id={ "menu-item-" (item.id) } data-item=(item.code) {
            div.row { h3 { (item.kind_label) " · " (item.name) } (offer_tag(item.status)) }
            @if let Some(r) = general.or(stray) {
                div.notice.error role="alert" id={ "menu-error-" (item.id) } data-code=(r.p.code) { (r.p.message) }
            }
            form.stack.menu-form method="post" action=(action) id={ "menu-form-" (item.id) } novalidate {
                div.table-wrap {
                    table {
                        thead { tr { th { "日期" } th { "菜式（用顿号分隔，留空表示当天没有菜单）" } } }
                        tbody {
                            @for d in week {
                                @let id = format!("dishes-{}-{}", item.id, d.day);
                                @let has = stored_dishes(d, item.id).is_some();
                                tr data-day=(d.day) {
                                    td { (d.weekday) " " (short_date(d.day)) }
                                    td {
                                        @if d.served || has {
                                            input type="text" id=(id) name={ "dishes_" (d.day) } value=(value(d)) maxlength="200" placeholder="如 番茄炒蛋、清蒸鲈鱼、米饭、紫菜汤" style="width:100%";
                                            @if !d.served { small.muted { "当天不供餐：" (d.note) } }
                                            @if let Some(e) = day_error(d.day) {
                                                div.error id={ (id) "-error" } role="alert" { (e) }
                                            }
                                        } @else {
                                            span.muted { "不供餐：" (d.note) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                button type="submit" id={ "menu-submit-" (item.id) } { "保存本周菜单" }
            }
            @if !with_dishes.is_empty() {
                h3 style="margin-top:14px" { "菜品图片" }
                @for (d, e) in &with_dishes {
                    @let key = format!("{}-{}", item.id, d.day);
                    @let err = picture_refusal.filter(|r| r.day == Some(d.day));
                    div.row.menu-picture id={ "menu-picture-" (key) } style="flex-wrap:wrap;gap:12px;margin:8px 0" {
                        span { (d.weekday) " " (short_date(d.day)) }
                        @if e.picture.is_some() {
                            div.pictures {
                                img src=(picture_src(web, true, item.id, d.day)) alt={ (item.name) " " (d.day) " 菜品图片" } loading="lazy";
                            }
                        } @else {
                            span.muted { "还没有图片" }
                        }
                        form.inline method="post" enctype="multipart/form-data"
                            action=(web.post_url(&format!("/console/meals/menu/items/{}/{}/picture", item.id, d.day))) {
                            input type="file" id={ "picture-file-" (key) } name="file" accept="image/jpeg,image/png,image/webp";
                            " "
                            button.secondary type="submit" id={ "picture-submit-" (key) } {
                                @if e.picture.is_some() { "更换图片" } @else { "上传图片" }
                            }
                            @if let Some(r) = err {
                                div.error id={ "picture-file-" (key) "-error" } role="alert" data-code=(r.p.code) { (r.p.message) }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn menu_page(
    web: &Web,
    day: NaiveDate,
    refused: Option<&Refused<'_>>,
    done: Option<&str>,
) -> PageResult {
    let mut tx = web.school_tx(&MENU).await?;
    let week = service::menu_week(&mut tx, day).await?;
    web.authorize(&ITEMS).await?;
    let items = service::items(&mut tx).await?;
    tx.commit().await?;
    let monday = week.first().map_or(day, |d| d.day);
    let sunday = monday + Duration::days(6);
    let shown: Vec<&MealItemView> = items
        .iter()
        .filter(|i| {
            i.status != OfferStatus::Withdrawn
                || week.iter().any(|d| stored_dishes(d, i.id).is_some())
        })
        .collect();
    let status = refused.map_or(poem::http::StatusCode::OK, |r| r.p.status());
    let body = school_page(
        web,
        "每周菜单",
        NAV,
        html! {
            (done_notice(done))
            div.toolbar #week-nav {
                a.btn.secondary href=(menu_link(web, monday - Duration::days(7))) id="week-prev" { "‹ 上一周" }
                strong #week-range { (monday) " 至 " (sunday) }
                a.btn.secondary href=(menu_link(web, monday + Duration::days(7))) id="week-next" { "下一周 ›" }
                span.grow {}
                a href=(web.link("/console/meals/menu")) id="week-this" { "回到本周" }
            }
            (week_overview(&week))
            @if shown.is_empty() {
                p.muted {
                    "还没有餐品。请先在"
                    a href=(web.link("/console/meals")) { "餐品与套餐" }
                    "中新建餐品，再为它设置每天的菜单。"
                }
            }
            @for i in &shown { (item_card(web, monday, i, &week, refused)) }
        },
    );
    Ok(html_response(status, body))
}

#[handler]
async fn menu(web: Web, Query(q): Query<MenuQuery>) -> PageResult {
    let day = day_or_today(&web, q.day.as_deref());
    menu_page(&web, day, None, q.done.as_deref()).await
}

#[handler]
async fn menu_set(
    web: Web,
    Path(id): Path<i64>,
    Query(q): Query<MenuQuery>,
    body: String,
) -> PageResult {
    let f = Posted::parse(&body);
    let day = day_or_today(&web, q.day.as_deref());
    let mut tx = web.school_tx(&MENU_SET).await?;
    web.authorize(&MENU).await?;
    let week = service::menu_week(&mut tx, day).await?;
    // Only the days the form showed and whose dishes changed.
    let days: Vec<MenuDayInput> = week
        .iter()
        .filter_map(|d| {
            let key = format!("dishes_{}", d.day);
            let typed = f.all(&key).first().map(|s| s.to_string())?;
            let cur = stored_dishes(d, id).map_or("", |e| e.dishes.as_str());
            (typed.trim() != cur).then(|| MenuDayInput {
                day: d.day.to_string(),
                dishes: typed,
            })
        })
        .collect();
    let monday = week.first().map_or(day, |d| d.day);
    let back = |done: &str| {
        see_other(&web.link(&format!(
            "/console/meals/menu?day={monday}&done={done}#menu-item-{id}"
        )))
    };
    if days.is_empty() {
        drop(tx);
        return Ok(back("menu_unchanged"));
    }
    match service::set_menu(&mut tx, &actor(&web), id, MenuInput { days }).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(back("menu_saved"))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let on_day = match &e {
                MealError::DishesInvalid { day } => Some(*day),
                _ => None,
            };
            let r = Refused {
                item: id,
                day: on_day,
                typed: Some(&f),
                p: FormError {
                    form: "menu",
                    ..FormError::from_domain(&e)
                },
            };
            menu_page(&web, day, Some(&r), None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
async fn picture_upload(
    web: Web,
    Path((id, day)): Path<(i64, String)>,
    mut form: Multipart,
) -> PageResult {
    let day = NaiveDate::parse_from_str(&day, "%Y-%m-%d").map_err(|_| WebError::NotFound)?;
    let refused = |p: FormError| Refused {
        item: id,
        day: Some(day),
        typed: None,
        p: FormError {
            form: "picture",
            field: "file".into(),
            ..p
        },
    };
    let mut tx = web.school_tx(&MENU_PICTURE_ADD).await?;
    let upload = match crate::courses::pages::read_upload(&mut form).await {
        Ok(u) => u,
        Err(fe) => {
            drop(tx);
            return menu_page(&web, day, Some(&refused(fe)), None).await;
        }
    };
    match service::set_menu_picture(&mut tx, &actor(&web), id, day, upload).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&web.link(&format!(
                "/console/meals/menu?day={day}&done=picture_saved#menu-item-{id}"
            ))))
        }
        Err(e) if is_domain_refusal(&e) => {
            drop(tx);
            let mut fe = FormError::from_domain(&e);
            if let MealError::DishesInvalid { day } = e {
                fe.message = format!("{day} 还没有菜式，请先保存当天的菜单再上传图片");
            }
            let p = refused(fe);
            menu_page(&web, day, Some(&p), None).await
        }
        Err(e) => Err(e.into()),
    }
}
