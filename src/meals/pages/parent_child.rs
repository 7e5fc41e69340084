//! A child's allergies, which warn before ordering a meal that contains them, and the
//! child's week at school (R-P11): each day whether the child eats at school and what. The
//! same service calls as `GET|PUT /school/children/:id/allergies` and `GET
//! /school/children/:id/meals/week`.

use chrono::Duration;
use maud::html;
use poem::web::Query;
use poem::{get, handler, Route};
use serde::Deserialize;

use super::catalogue_form::{allergen_choices, checks};
use super::{child_switcher, day_or_today, done_notice, parent_links, picture_src, short_date};
use crate::enrollment::pages::parent::family;
use crate::error::ApiError;
use crate::meals::model::{Allergen, Allergies};
use crate::meals::perms::*;
use crate::meals::service;
use crate::web::forms::{actor, settle, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{self, field};
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at(
        "/m/meals/allergies",
        get(allergies_get).post(allergies_submit),
    )
    .at("/m/meals/week", get(week_get))
}

#[derive(Debug, Default, Deserialize)]
struct ChildQuery {
    child: Option<i64>,
    day: Option<String>,
    done: Option<String>,
}

fn allergies_control(f: &str) -> Option<&'static str> {
    match f {
        "note" | "ALLERGIES_INVALID" => Some("note"),
        "allergens" => Some("allergens"),
        _ => None,
    }
}

async fn allergies_page(
    web: &Web,
    asked: Option<i64>,
    typed: Option<&Posted>,
    p: &FormError,
    done: Option<&str>,
) -> PageResult {
    let fam = match family(web, asked).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let mut tx = web.school_tx(&ALLERGIES).await?;
    let a = service::allergies(&mut tx, &actor(web), child.id).await?;
    tx.commit().await?;
    let mut pairs: Vec<(&str, String)> = a
        .allergens
        .iter()
        .map(|x| ("allergens", x.as_str().to_string()))
        .collect();
    pairs.push(("note", a.note.clone()));
    let stored = Posted::of(&pairs);
    let f = typed.unwrap_or(&stored);
    let body = layout::mobile(
        web,
        "过敏信息",
        "/m",
        html! {
            (done_notice(done))
            (child_switcher(web, &fam, "/m/meals/allergies"))
            (parent_links(web, child.id, "allergies"))
            div.card {
                h2 { (child.name) "的过敏信息" }
                p.muted { small { "订含这些过敏原的餐品前，页面会提示您确认。过敏信息加密保存，仅用于订餐提示。" } }
                form.stack method="post" action=(web.post_url(&format!("/m/meals/allergies?child={}", child.id))) id="allergies-form" novalidate {
                    (p.notice("allergies"))
                    (field("过敏原（GB 7718 规定的八类）", "allergens", checks("allergens", "allergens", &allergen_choices(), &f.all("allergens")), p.field("allergens")))
                    (field("其他说明（选填，如 对芒果过敏）", "note", html! {
                        textarea id="note" name="note" maxlength="200" { (f.get("note")) }
                    }, p.field("note")))
                    button.block type="submit" id="allergies-submit" { "保存" }
                }
            }
            p { a href=(web.link(&format!("/m/meals?child={}", child.id))) id="back-to-offer" { "‹ 返回订餐" } }
        },
    );
    Ok(html_response(p.status(), body))
}

#[handler]
async fn allergies_get(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    allergies_page(&web, q.child, None, &FormError::none(), q.done.as_deref()).await
}

#[handler]
async fn allergies_submit(web: Web, Query(q): Query<ChildQuery>, body: String) -> PageResult {
    let child = q.child.ok_or(WebError::NotFound)?;
    let f = Posted::parse(&body);
    let req = Allergies {
        allergens: f
            .all("allergens")
            .iter()
            .filter_map(|a| Allergen::parse(a))
            .collect(),
        note: f.get("note").replace("\r\n", "\n"),
    };
    let mut tx = web.school_tx(&ALLERGIES_SET).await?;
    let r = service::set_allergies(&mut tx, &actor(&web), child, req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(&web.link(&format!(
            "/m/meals/allergies?child={child}&done=allergies_saved"
        )))),
        Err(e) => {
            let p = FormError::of("allergies", &e, allergies_control);
            allergies_page(&web, Some(child), Some(&f), &p, None).await
        }
    }
}

#[handler]
async fn week_get(web: Web, Query(q): Query<ChildQuery>) -> PageResult {
    let fam = match family(&web, q.child).await? {
        Ok(f) => f,
        Err(other) => return Ok(other),
    };
    let child = fam.child();
    let day = day_or_today(&web, q.day.as_deref());
    let mut tx = web.school_tx(&WEEK).await?;
    let w = service::week(&mut tx, &actor(&web), child.id, day).await?;
    tx.commit().await?;
    let sunday = w.monday + Duration::days(6);
    let link =
        |d: chrono::NaiveDate| web.link(&format!("/m/meals/week?child={}&day={d}", child.id));
    let body = layout::mobile(
        &web,
        "本周就餐",
        "/m",
        html! {
            (child_switcher(&web, &fam, "/m/meals/week"))
            (parent_links(&web, child.id, "week"))
            div.toolbar #week-nav {
                a.btn.secondary href=(link(w.monday - Duration::days(7))) id="week-prev" { "‹ 上一周" }
                span.grow style="text-align:center" { strong #week-range { (short_date(w.monday)) " 至 " (short_date(sunday)) } }
                a.btn.secondary href=(link(w.monday + Duration::days(7))) id="week-next" { "下一周 ›" }
            }
            p.muted { small { (w.student_name) " · " (w.monday) " 这一周" } }
            div #meal-week {
                @for d in &w.days {
                    div.card.meal-day data-day=(d.day) data-eats=(d.eats_at_school) {
                        div.row {
                            h3 { (d.weekday) " " small.muted { (short_date(d.day)) } }
                            @if d.eats_at_school { span.tag { "在校就餐" } }
                            @else { span.tag.grey { "不在校就餐" } }
                        }
                        @if !d.note.is_empty() { p.muted { small { (d.note) } } }
                        @for m in &d.meals {
                            div.meal-entry style="margin-top:8px" {
                                strong { (m.kind_label) " · " (m.item_name) }
                                p {
                                    @if m.dishes.is_empty() { span.muted { "菜单尚未公布" } }
                                    @else { (m.dishes) }
                                }
                                @if m.picture.is_some() {
                                    div.pictures {
                                        img src=(picture_src(&web, false, m.item_id, d.day)) alt={ (m.item_name) " " (d.day) " 菜品图片" } loading="lazy";
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href=(web.link(&format!("/m/meals?child={}", child.id))) { "订餐 ›" } }
        },
    );
    Ok(html_response(poem::http::StatusCode::OK, body))
}
