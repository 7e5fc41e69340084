//! Venues and periods (R-S05): the school's rooms and fields with their capacity, and the
//! time slots custody and courses run in (午托, 课后, 晚托, 周末); list, create, edit and
//! delete, each refusal under the field it concerns.

use maud::{html, Markup};
use poem::web::{Path, Query};
use poem::{get, handler, post, Route};
use serde_json::json;

use crate::error::{ApiError, DomainError, ErrorKind};
use crate::school::error::SchoolError;
use crate::school::model::{
    hhmm, NewPeriod, NewVenue, PeriodKind, PeriodPatch, PeriodView, VenueKind, VenuePatch,
    VenueView,
};
use crate::school::perms as school_perms;
use crate::school::{repo, service};
use crate::web::forms::{actor, done_notice, select, settle, DoneQuery, FormError, Posted};
use crate::web::frame::{html_response, PageResult, WebError};
use crate::web::layout::{field, input, weekday};
use crate::web::nav::school_page;
use crate::web::session::{see_other, Web};

pub fn mount(r: Route) -> Route {
    r.at("/console/settings", get(settings))
        .at("/console/settings/venues", post(venue_create))
        .at(
            "/console/settings/venues/:id",
            get(venue_show).post(venue_update),
        )
        .at("/console/settings/venues/:id/delete", post(venue_delete))
        .at("/console/settings/periods", post(period_create))
        .at(
            "/console/settings/periods/:id",
            get(period_show).post(period_update),
        )
        .at("/console/settings/periods/:id/delete", post(period_delete))
}

/// The choices of a kind select: each kind with its Chinese name.
fn kind_options<K: Copy>(
    all: &[K],
    text: fn(K) -> &'static str,
    label: fn(K) -> &'static str,
) -> Vec<(String, String)> {
    all.iter()
        .map(|k| (text(*k).to_string(), label(*k).to_string()))
        .collect()
}

fn venue_field(f: &str) -> Option<&'static str> {
    match f {
        "code" => Some("v_code"),
        "name" => Some("v_name"),
        "kind" => Some("v_kind"),
        "capacity" => Some("v_capacity"),
        // A taken code names no field: the refusal is placed by its code.
        c if c
            == SchoolError::VenueCodeTaken {
                code: String::new(),
            }
            .code() =>
        {
            Some("v_code")
        }
        _ => None,
    }
}

fn period_field(f: &str) -> Option<&'static str> {
    match f {
        "code" => Some("p_code"),
        "name" => Some("p_name"),
        "kind" => Some("p_kind"),
        "starts_at" => Some("p_starts_at"),
        "ends_at" => Some("p_ends_at"),
        "weekdays" => Some("p_weekdays"),
        // Refusals naming no field, placed by their code: a taken code; an end time not
        // after the start (a malformed time shares that code but names its field).
        c if c
            == SchoolError::PeriodCodeTaken {
                code: String::new(),
            }
            .code() =>
        {
            Some("p_code")
        }
        c if c == times_out_of_order().code() => Some("p_ends_at"),
        _ => None,
    }
}

/// The refusal of an end time not after the start, to compare codes with.
fn times_out_of_order() -> SchoolError {
    SchoolError::PeriodTimesInvalid {
        starts_at: Default::default(),
        ends_at: Default::default(),
    }
}

fn refusal(field: &str, message: &str) -> ApiError {
    ApiError::new(
        ErrorKind::Unprocessable,
        "FIELD_INVALID",
        message,
        json!({ "field": field }),
    )
}

fn venue_values(v: &VenueView) -> Posted {
    Posted::of(&[
        ("v_code", v.code.clone()),
        ("v_name", v.name.clone()),
        ("v_kind", v.kind.as_str().to_string()),
        ("v_capacity", v.capacity.to_string()),
    ])
}

fn period_values(p: &PeriodView) -> Posted {
    let mut pairs = vec![
        ("p_code", p.code.clone()),
        ("p_name", p.name.clone()),
        ("p_kind", p.kind.as_str().to_string()),
        ("p_starts_at", hhmm(p.starts_at)),
        ("p_ends_at", hhmm(p.ends_at)),
    ];
    pairs.extend(p.weekdays.iter().map(|d| ("p_weekdays", d.to_string())));
    Posted::of(&pairs)
}

fn venue_form(web: &Web, action: &str, f: &Posted, p: &FormError, submit: &str) -> Markup {
    html! {
        form.stack method="post" action=(web.post_url(action)) id="venue-form" {
            (p.notice("venue"))
            (field("场地代码（如 gym1，小写字母和数字）", "v_code", input("text", "v_code", f.get("v_code")), p.field("v_code")))
            (field("名称（如 体育馆、301 教室）", "v_name", input("text", "v_name", f.get("v_name")), p.field("v_name")))
            (field("类型", "v_kind", select("v_kind", &kind_options(VenueKind::ALL, VenueKind::as_str, VenueKind::label), f.get("v_kind")), p.field("v_kind")))
            (field("容纳人数（1–10000）", "v_capacity", input("number", "v_capacity", f.get("v_capacity")), p.field("v_capacity")))
            button type="submit" id="venue-submit" { (submit) }
        }
    }
}

fn period_form(web: &Web, action: &str, f: &Posted, p: &FormError, submit: &str) -> Markup {
    let days = f.all("p_weekdays");
    html! {
        form.stack method="post" action=(web.post_url(action)) id="period-form" {
            (p.notice("period"))
            (field("时段代码（如 noon）", "p_code", input("text", "p_code", f.get("p_code")), p.field("p_code")))
            (field("名称（如 午托、课后、晚托）", "p_name", input("text", "p_name", f.get("p_name")), p.field("p_name")))
            (field("类型", "p_kind", select("p_kind", &kind_options(PeriodKind::ALL, PeriodKind::as_str, PeriodKind::label), f.get("p_kind")), p.field("p_kind")))
            (field("开始时间（HH:MM）", "p_starts_at", input("time", "p_starts_at", f.get("p_starts_at")), p.field("p_starts_at")))
            (field("结束时间（HH:MM，须晚于开始）", "p_ends_at", input("time", "p_ends_at", f.get("p_ends_at")), p.field("p_ends_at")))
            (field("星期", "p_weekdays", html! {
                div.weekdays id="p_weekdays" {
                    @for d in 1..=7i16 {
                        @let v = d.to_string();
                        label.inline { input type="checkbox" name="p_weekdays" value=(v) checked[days.contains(&v.as_str())]; " " (weekday(d)) }
                        " "
                    }
                }
            }, p.field("p_weekdays")))
            button type="submit" id="period-submit" { (submit) }
        }
    }
}

/// Which form of the settings page a refusal belongs to, with the values typed into it.
enum Refused<'a> {
    None,
    Venue(&'a Posted, &'a FormError),
    Period(&'a Posted, &'a FormError),
}

async fn settings_page(web: &Web, refused: Refused<'_>, done: Option<&str>) -> PageResult {
    let mut tx = web.school_tx(&school_perms::VENUES).await?;
    web.authorize(&school_perms::PERIODS).await?;
    let venues = service::venues(&mut tx).await?;
    let periods = service::periods(&mut tx).await?;
    tx.commit().await?;
    let none = FormError::none();
    let blank_venue = Posted::of(&[("v_kind", VenueKind::Classroom.as_str().into())]);
    let blank_period = Posted::of(&[
        ("p_kind", PeriodKind::AfterSchool.as_str().into()),
        ("p_weekdays", "1".into()),
        ("p_weekdays", "2".into()),
        ("p_weekdays", "3".into()),
        ("p_weekdays", "4".into()),
        ("p_weekdays", "5".into()),
    ]);
    let (vf, vp, pf, pp) = match refused {
        Refused::Venue(f, p) => (f, p, &blank_period, &none),
        Refused::Period(f, p) => (&blank_venue, &none, f, p),
        Refused::None => (&blank_venue, &none, &blank_period, &none),
    };
    let status = vp.status().max(pp.status());
    let body = html! {
        (done_notice(done))
        h2 { "场地" }
        div.table-wrap {
            table id="venues" {
                thead { tr { th { "名称" } th { "代码" } th { "类型" } th.num { "容纳人数" } th {} } }
                tbody {
                    @if venues.is_empty() { tr { td colspan="5" { span.muted { "还没有场地" } } } }
                    @for v in &venues {
                        tr {
                            td { (v.name) } td { (v.code) } td { (v.kind.label()) } td.num { (v.capacity) }
                            td { a href=(web.link(&format!("/console/settings/venues/{}", v.id))) { "修改" } }
                        }
                    }
                }
            }
        }
        p {}
        div.card { h3 { "新增场地" } (venue_form(web, "/console/settings/venues", vf, vp, "新增场地")) }
        h2 { "时段" }
        div.table-wrap {
            table id="periods" {
                thead { tr { th { "名称" } th { "代码" } th { "类型" } th { "时间" } th { "星期" } th {} } }
                tbody {
                    @if periods.is_empty() { tr { td colspan="6" { span.muted { "还没有时段" } } } }
                    @for p in &periods {
                        tr {
                            td { (p.name) } td { (p.code) } td { (p.kind.label()) }
                            td { (hhmm(p.starts_at)) "–" (hhmm(p.ends_at)) }
                            td { (p.weekdays.iter().map(|d| weekday(*d)).collect::<Vec<_>>().join(" ")) }
                            td { a href=(web.link(&format!("/console/settings/periods/{}", p.id))) { "修改" } }
                        }
                    }
                }
            }
        }
        p {}
        div.card { h3 { "新增时段" } (period_form(web, "/console/settings/periods", pf, pp, "新增时段")) }
    };
    Ok(html_response(
        status,
        school_page(web, "场地与时段", "/console/settings", body),
    ))
}

#[handler]
async fn settings(web: Web, Query(q): Query<DoneQuery>) -> PageResult {
    settings_page(&web, Refused::None, q.done.as_deref()).await
}

fn capacity(f: &Posted) -> Result<i32, ApiError> {
    f.get("v_capacity")
        .trim()
        .parse()
        .map_err(|_| refusal("capacity", "场地容量应为 1 到 10000 之间的整数"))
}

fn weekdays(f: &Posted) -> Vec<i16> {
    f.all("p_weekdays")
        .iter()
        .filter_map(|d| d.parse().ok())
        .collect()
}

#[handler]
async fn venue_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let r = match capacity(&f) {
        Ok(capacity) => {
            let req = NewVenue {
                code: f.get("v_code").trim().into(),
                name: f.get("v_name").into(),
                kind: f.get("v_kind").into(),
                capacity,
            };
            let mut tx = web.school_tx(&school_perms::VENUE_CREATE).await?;
            let r = service::create_venue(&mut tx, &actor(&web), req).await;
            settle(tx, r.map_err(ApiError::from)).await?
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(see_other(&web.link("/console/settings?done=venue_created"))),
        Err(e) => {
            let p = FormError::of("venue", &e, venue_field);
            settings_page(&web, Refused::Venue(&f, &p), None).await
        }
    }
}

#[handler]
async fn period_create(web: Web, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let req = NewPeriod {
        code: f.get("p_code").trim().into(),
        name: f.get("p_name").into(),
        kind: f.get("p_kind").into(),
        starts_at: f.get("p_starts_at").into(),
        ends_at: f.get("p_ends_at").into(),
        weekdays: weekdays(&f),
    };
    let mut tx = web.school_tx(&school_perms::PERIOD_CREATE).await?;
    let r = service::create_period(&mut tx, &actor(&web), req).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(
            &web.link("/console/settings?done=period_created"),
        )),
        Err(e) => {
            let p = FormError::of("period", &e, period_field);
            settings_page(&web, Refused::Period(&f, &p), None).await
        }
    }
}

// ---- one venue, one period -----------------------------------------------------------------

async fn venue_page(web: &Web, id: i64, form: Option<&Posted>, p: &FormError) -> PageResult {
    let mut tx = web.school_tx(&school_perms::VENUES).await?;
    let v = repo::venue(tx.conn(), id)
        .await?
        .ok_or(WebError::NotFound)?;
    tx.commit().await?;
    let current = venue_values(&v);
    let f = form.unwrap_or(&current);
    let none = FormError::none();
    let body = html! {
        p { a href=(web.link("/console/settings")) { "‹ 返回场地与时段" } }
        div.card { (venue_form(web, &format!("/console/settings/venues/{id}"), f, if p.form == "venue" { p } else { &none }, "保存")) }
        div.card {
            h2 { "删除场地" }
            p.muted { "作为班级教室或被课程使用的场地不能删除。" }
            form method="post" action=(web.post_url(&format!("/console/settings/venues/{id}/delete"))) {
                (p.notice("delete"))
                button.danger type="submit" id="venue-delete" { "删除场地" }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, &v.name, "/console/settings", body),
    ))
}

#[handler]
async fn venue_show(web: Web, Path(id): Path<i64>) -> PageResult {
    venue_page(&web, id, None, &FormError::none()).await
}

#[handler]
async fn venue_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let r = match capacity(&f) {
        Ok(capacity) => {
            let patch = VenuePatch {
                code: Some(f.get("v_code").trim().into()),
                name: Some(f.get("v_name").into()),
                kind: Some(f.get("v_kind").into()),
                capacity: Some(capacity),
            };
            let mut tx = web.school_tx(&school_perms::VENUE_UPDATE).await?;
            let r = service::update_venue(&mut tx, &actor(&web), id, patch).await;
            settle(tx, r.map_err(ApiError::from)).await?
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(_) => Ok(see_other(&web.link("/console/settings?done=venue_saved"))),
        Err(e) => venue_page(&web, id, Some(&f), &FormError::of("venue", &e, venue_field)).await,
    }
}

#[handler]
async fn venue_delete(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&school_perms::VENUE_DELETE).await?;
    let r = service::delete_venue(&mut tx, &actor(&web), id).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(()) => Ok(see_other(&web.link("/console/settings?done=venue_deleted"))),
        Err(e) => venue_page(&web, id, None, &FormError::of("delete", &e, |_| None)).await,
    }
}

async fn period_page(web: &Web, id: i64, form: Option<&Posted>, p: &FormError) -> PageResult {
    let mut tx = web.school_tx(&school_perms::PERIODS).await?;
    let period = repo::period(tx.conn(), id)
        .await?
        .ok_or(WebError::NotFound)?;
    tx.commit().await?;
    let current = period_values(&period);
    let f = form.unwrap_or(&current);
    let none = FormError::none();
    let body = html! {
        p { a href=(web.link("/console/settings")) { "‹ 返回场地与时段" } }
        div.card { (period_form(web, &format!("/console/settings/periods/{id}"), f, if p.form == "period" { p } else { &none }, "保存")) }
        div.card {
            h2 { "删除时段" }
            form method="post" action=(web.post_url(&format!("/console/settings/periods/{id}/delete"))) {
                (p.notice("delete"))
                button.danger type="submit" id="period-delete" { "删除时段" }
            }
        }
    };
    Ok(html_response(
        p.status(),
        school_page(web, &period.name, "/console/settings", body),
    ))
}

#[handler]
async fn period_show(web: Web, Path(id): Path<i64>) -> PageResult {
    period_page(&web, id, None, &FormError::none()).await
}

#[handler]
async fn period_update(web: Web, Path(id): Path<i64>, body: String) -> PageResult {
    let f = Posted::parse(&body);
    let patch = PeriodPatch {
        code: Some(f.get("p_code").trim().into()),
        name: Some(f.get("p_name").into()),
        kind: Some(f.get("p_kind").into()),
        starts_at: Some(f.get("p_starts_at").into()),
        ends_at: Some(f.get("p_ends_at").into()),
        weekdays: Some(weekdays(&f)),
    };
    let mut tx = web.school_tx(&school_perms::PERIOD_UPDATE).await?;
    let r = service::update_period(&mut tx, &actor(&web), id, patch).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(_) => Ok(see_other(&web.link("/console/settings?done=period_saved"))),
        Err(e) => {
            period_page(
                &web,
                id,
                Some(&f),
                &FormError::of("period", &e, period_field),
            )
            .await
        }
    }
}

#[handler]
async fn period_delete(web: Web, Path(id): Path<i64>) -> PageResult {
    let mut tx = web.school_tx(&school_perms::PERIOD_DELETE).await?;
    let r = service::delete_period(&mut tx, &actor(&web), id).await;
    match settle(tx, r.map_err(ApiError::from)).await? {
        Ok(()) => Ok(see_other(
            &web.link("/console/settings?done=period_deleted"),
        )),
        Err(e) => period_page(&web, id, None, &FormError::of("delete", &e, |_| None)).await,
    }
}
