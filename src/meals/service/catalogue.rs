//! The catalogue (R-S07): meal items with their price per served day, grades, daily
//! capacity and GB 7718 allergens; packages (套餐) of items of different kinds at their own
//! price; the week's menu with pictures. Items and packages go draft → published ⇄
//! withdrawn; only published ones can be ordered, and a change of price applies to orders
//! placed after it (an order keeps the price it was placed at).

use bytes::Bytes;
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::json;

use super::{record, serving_calendar};
pub use crate::courses::service::PictureUpload;
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::repo::{self, ItemRow, PackageRow};
use crate::storage::{ObjectKey, StoredObject, UploadPolicy};

/// Most bytes of a menu picture.
pub const PICTURE_MAX_BYTES: usize = 5 * 1024 * 1024;
const PICTURE_CATEGORY: &str = "meal-menus";

pub fn item_view(r: &ItemRow) -> MealItemView {
    MealItemView {
        id: r.id,
        code: r.code.clone(),
        kind: r.kind,
        kind_label: r.kind.label().into(),
        name: r.name.clone(),
        description: r.description.clone(),
        price: yuan(r.price),
        levels: r.levels.clone(),
        daily_capacity: r.daily_capacity,
        allergens: r.allergens.clone(),
        allergen_labels: allergen_labels(&r.allergens)
            .into_iter()
            .map(String::from)
            .collect(),
        status: r.status,
        status_label: r.status.label().into(),
    }
}

pub fn package_view(p: &PackageRow, items: &[ItemRow]) -> MealPackageView {
    let mine: Vec<&ItemRow> = items
        .iter()
        .filter(|i| p.item_ids.contains(&i.id))
        .collect();
    let levels = (1..=9i16)
        .filter(|l| !mine.is_empty() && mine.iter().all(|i| i.levels.contains(l)))
        .collect();
    let allergens: Vec<String> = mine.iter().flat_map(|i| i.allergens.clone()).collect();
    MealPackageView {
        id: p.id,
        code: p.code.clone(),
        name: p.name.clone(),
        price: yuan(p.price),
        items: mine
            .iter()
            .map(|i| PackageItemView {
                id: i.id,
                name: i.name.clone(),
                kind: i.kind,
                kind_label: i.kind.label().into(),
            })
            .collect(),
        levels,
        allergen_labels: allergen_labels(&allergens)
            .into_iter()
            .map(String::from)
            .collect(),
        status: p.status,
        status_label: p.status.label().into(),
    }
}

pub async fn items(tx: &mut TenantTx) -> Result<Vec<MealItemView>, MealError> {
    Ok(repo::items(tx.conn())
        .await?
        .iter()
        .map(item_view)
        .collect())
}

pub async fn packages(tx: &mut TenantTx) -> Result<Vec<MealPackageView>, MealError> {
    let items = repo::items(tx.conn()).await?;
    Ok(repo::packages(tx.conn())
        .await?
        .iter()
        .map(|p| package_view(p, &items))
        .collect())
}

fn description(s: &str) -> Result<String, MealError> {
    let t = s.trim();
    (t.chars().count() <= DESCRIPTION_MAX)
        .then(|| t.to_string())
        .ok_or(MealError::DescriptionInvalid)
}

fn capacity(n: Option<i32>) -> Result<Option<i32>, MealError> {
    match n {
        None | Some(0) => Ok(None),
        Some(v) if (1..=20_000).contains(&v) => Ok(Some(v)),
        Some(v) => Err(MealError::CapacityInvalid { value: v }),
    }
}

fn allergen_codes(a: &[Allergen]) -> Vec<String> {
    Allergen::ALL
        .iter()
        .filter(|x| a.contains(x))
        .map(|x| x.as_str().to_string())
        .collect()
}

pub async fn add_item(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewMealItem,
) -> Result<MealItemView, MealError> {
    let code = parse_code(req.code.as_deref(), "m")?;
    let name = parse_name(&req.name)?;
    let desc = description(&req.description)?;
    let price = DayPrice::parse(&req.price)?.get();
    let levels = parse_levels(&req.levels)?;
    let cap = capacity(req.daily_capacity)?;
    let allergens = allergen_codes(&req.allergens);
    let id = repo::insert_item(
        tx.conn(),
        &code,
        req.kind,
        &name,
        &desc,
        price,
        &levels,
        cap,
        &allergens,
    )
    .await?
    .ok_or(MealError::CodeTaken { code: code.clone() })?;
    let row = repo::item(tx.conn(), id)
        .await?
        .ok_or(MealError::ItemNotFound { id })?;
    record(
        tx,
        who,
        "meals.item.create",
        format!("meal_item:{id}"),
        json!({ "code": code, "kind": req.kind.as_str(), "price": yuan(price), "levels": levels }),
    )
    .await?;
    Ok(item_view(&row))
}

pub async fn update_item(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    p: MealItemPatch,
) -> Result<MealItemView, MealError> {
    let mut row = repo::lock_item(tx.conn(), id)
        .await?
        .ok_or(MealError::ItemNotFound { id })?;
    let before = row.clone();
    if let Some(n) = &p.name {
        row.name = parse_name(n)?;
    }
    if let Some(d) = &p.description {
        row.description = description(d)?;
    }
    if let Some(pr) = &p.price {
        row.price = DayPrice::parse(pr)?.get();
    }
    if let Some(l) = &p.levels {
        row.levels = parse_levels(l)?;
    }
    if p.daily_capacity.is_some() {
        row.daily_capacity = capacity(p.daily_capacity)?;
    }
    if let Some(a) = &p.allergens {
        row.allergens = allergen_codes(a);
    }
    repo::update_item(tx.conn(), &row).await?;
    record(
        tx,
        who,
        "meals.item.update",
        format!("meal_item:{id}"),
        json!({
            "price": { "from": yuan(before.price), "to": yuan(row.price) },
            "levels": { "from": before.levels, "to": row.levels },
            "daily_capacity": { "from": before.daily_capacity, "to": row.daily_capacity },
            "allergens": { "from": before.allergens, "to": row.allergens },
        }),
    )
    .await?;
    Ok(item_view(&row))
}

/// The next status of an item or package for `publish` (true) or withdraw (false).
fn next_status(
    what: &'static str,
    cur: OfferStatus,
    publish: bool,
) -> Result<OfferStatus, MealError> {
    match (cur, publish) {
        (OfferStatus::Draft | OfferStatus::Withdrawn, true) => Ok(OfferStatus::Published),
        (OfferStatus::Published, false) => Ok(OfferStatus::Withdrawn),
        _ => Err(MealError::StatusInvalid {
            what,
            status: cur.label(),
            action: if publish { "发布" } else { "下架" },
        }),
    }
}

pub async fn set_item_status(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    publish: bool,
) -> Result<MealItemView, MealError> {
    let mut row = repo::lock_item(tx.conn(), id)
        .await?
        .ok_or(MealError::ItemNotFound { id })?;
    let to = next_status("餐品", row.status, publish)?;
    if !publish {
        let packages = repo::published_packages_with(tx.conn(), id).await?;
        if !packages.is_empty() {
            return Err(MealError::PackageItemsInvalid {
                reason: format!("请先下架包含它的套餐（{}）", packages.join("、")),
            });
        }
    }
    repo::set_item_status(tx.conn(), id, to).await?;
    record(
        tx,
        who,
        if publish {
            "meals.item.publish"
        } else {
            "meals.item.withdraw"
        },
        format!("meal_item:{id}"),
        json!({ "code": row.code }),
    )
    .await?;
    row.status = to;
    Ok(item_view(&row))
}

/// The package's items, checked: at least one, each existing, no two of one kind, and a
/// grade they all serve.
async fn package_items(tx: &mut TenantTx, ids: &[i64]) -> Result<Vec<i64>, MealError> {
    if ids.is_empty() {
        return Err(MealError::PackageEmpty);
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let all = repo::items(tx.conn()).await?;
    let mut chosen: Vec<&ItemRow> = Vec::new();
    for id in &ids {
        let i = all
            .iter()
            .find(|i| i.id == *id)
            .ok_or(MealError::ItemNotFound { id: *id })?;
        if let Some(same) = chosen.iter().find(|c| c.kind == i.kind) {
            return Err(MealError::PackageItemsInvalid {
                reason: format!("“{}”和“{}”都是{}", same.name, i.name, i.kind.label()),
            });
        }
        chosen.push(i);
    }
    if !(1..=9i16).any(|l| chosen.iter().all(|i| i.levels.contains(&l))) {
        return Err(MealError::PackageItemsInvalid {
            reason: "这些餐品没有共同适用的年级".into(),
        });
    }
    Ok(ids)
}

async fn package_view_of(tx: &mut TenantTx, id: i64) -> Result<MealPackageView, MealError> {
    let p = repo::package(tx.conn(), id)
        .await?
        .ok_or(MealError::PackageNotFound { id })?;
    let items = repo::items(tx.conn()).await?;
    Ok(package_view(&p, &items))
}

pub async fn add_package(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewMealPackage,
) -> Result<MealPackageView, MealError> {
    let code = parse_code(req.code.as_deref(), "p")?;
    let name = parse_name(&req.name)?;
    let price = DayPrice::parse(&req.price)?.get();
    let items = package_items(tx, &req.item_ids).await?;
    let id = repo::insert_package(tx.conn(), &code, &name, price, &items)
        .await?
        .ok_or(MealError::CodeTaken { code: code.clone() })?;
    record(
        tx,
        who,
        "meals.package.create",
        format!("meal_package:{id}"),
        json!({ "code": code, "price": yuan(price), "items": items }),
    )
    .await?;
    package_view_of(tx, id).await
}

pub async fn update_package(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    p: MealPackagePatch,
) -> Result<MealPackageView, MealError> {
    let cur = repo::lock_package(tx.conn(), id)
        .await?
        .ok_or(MealError::PackageNotFound { id })?;
    let name = p
        .name
        .as_deref()
        .map(parse_name)
        .transpose()?
        .unwrap_or(cur.name);
    let price = match &p.price {
        Some(s) => DayPrice::parse(s)?.get(),
        None => cur.price,
    };
    let items = match &p.item_ids {
        Some(ids) => package_items(tx, ids).await?,
        None => cur.item_ids.clone(),
    };
    repo::update_package(tx.conn(), id, &name, price, &items).await?;
    record(
        tx,
        who,
        "meals.package.update",
        format!("meal_package:{id}"),
        json!({ "price": { "from": yuan(cur.price), "to": yuan(price) },
                "items": { "from": cur.item_ids, "to": items } }),
    )
    .await?;
    package_view_of(tx, id).await
}

pub async fn set_package_status(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
    publish: bool,
) -> Result<MealPackageView, MealError> {
    let cur = repo::lock_package(tx.conn(), id)
        .await?
        .ok_or(MealError::PackageNotFound { id })?;
    let to = next_status("套餐", cur.status, publish)?;
    if publish {
        let items = repo::items(tx.conn()).await?;
        if let Some(i) = items
            .iter()
            .find(|i| cur.item_ids.contains(&i.id) && i.status != OfferStatus::Published)
        {
            return Err(MealError::PackageItemsInvalid {
                reason: format!("其中的“{}”尚未发布", i.name),
            });
        }
    }
    repo::set_package_status(tx.conn(), id, to).await?;
    record(
        tx,
        who,
        if publish {
            "meals.package.publish"
        } else {
            "meals.package.withdraw"
        },
        format!("meal_package:{id}"),
        json!({ "code": cur.code }),
    )
    .await?;
    package_view_of(tx, id).await
}

// --- menus ------------------------------------------------------------------------------------

/// The Monday of `day`'s week.
pub fn monday_of(day: NaiveDate) -> NaiveDate {
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

pub(super) fn picture_url(item: i64, day: NaiveDate) -> String {
    format!("/api/v1/school/meals/items/{item}/menu/{day}/picture")
}

/// The week of `day`: each day, whether the canteen serves, and every item's menu.
pub async fn menu_week(tx: &mut TenantTx, day: NaiveDate) -> Result<Vec<MenuDayView>, MealError> {
    let monday = monday_of(day);
    let sunday = monday + Duration::days(6);
    let cal = serving_calendar(tx).await?;
    let items = repo::items(tx.conn()).await?;
    let menus = repo::menus(tx.conn(), monday, sunday).await?;
    Ok(monday
        .iter_days()
        .take(7)
        .enumerate()
        .map(|(n, d)| {
            let (served, note) = cal.day(d);
            MenuDayView {
                day: d,
                weekday: WEEKDAYS[n].into(),
                served,
                note,
                entries: menus
                    .iter()
                    .filter(|m| m.day == d)
                    .filter_map(|m| {
                        let i = items.iter().find(|i| i.id == m.item_id)?;
                        Some(MenuEntryView {
                            item_id: i.id,
                            item_name: i.name.clone(),
                            kind_label: i.kind.label().into(),
                            dishes: m.dishes.clone(),
                            picture: m.picture.as_ref().map(|_| picture_url(i.id, d)),
                        })
                    })
                    .collect(),
            }
        })
        .collect())
}

/// Sets (or, with empty dishes, removes) the menu of an item on some days.
pub async fn set_menu(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    item: i64,
    input: MenuInput,
) -> Result<Vec<MenuDayView>, MealError> {
    repo::lock_item(tx.conn(), item)
        .await?
        .ok_or(MealError::ItemNotFound { id: item })?;
    if input.days.is_empty() || input.days.len() > 31 {
        return Err(MealError::DateInvalid {
            field: "days",
            value: format!("{} 天", input.days.len()),
        });
    }
    let mut parsed = Vec::with_capacity(input.days.len());
    for d in &input.days {
        let day = parse_date("day", &d.day)?;
        let dishes = d.dishes.trim().to_string();
        if dishes.chars().count() > DISHES_MAX {
            return Err(MealError::DishesInvalid { day });
        }
        parsed.push((day, dishes));
    }
    for (day, dishes) in &parsed {
        if dishes.is_empty() {
            repo::delete_menu(tx.conn(), item, *day).await?;
        } else {
            repo::put_menu(tx.conn(), item, *day, dishes).await?;
        }
    }
    record(
        tx,
        who,
        "meals.menu.set",
        format!("meal_item:{item}"),
        json!({ "days": parsed.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>() }),
    )
    .await?;
    menu_week(tx, parsed[0].0).await
}

/// Stores the picture of a menu day (which must have its dishes) under the tenant's prefix.
pub async fn set_menu_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    item: i64,
    day: NaiveDate,
    up: PictureUpload,
) -> Result<Vec<MenuDayView>, MealError> {
    repo::menu(tx.conn(), item, day)
        .await?
        .ok_or(MealError::DishesInvalid { day })?;
    let kind = UploadPolicy::pictures(PICTURE_MAX_BYTES)
        .check_upload(&up.bytes, up.declared.as_deref())?;
    let key = ObjectKey::generate(tx.tenant().code.as_str(), PICTURE_CATEGORY, kind)?;
    let size = up.bytes.len();
    // Stored before the row points at it: a failure after this leaves an unreferenced
    // object, never a reference to a missing one.
    who.st
        .storage
        .put(&key, Bytes::from(up.bytes), kind.mime())
        .await?;
    repo::set_menu_picture(tx.conn(), item, day, key.as_str()).await?;
    record(
        tx,
        who,
        "meals.menu.picture",
        format!("meal_item:{item}"),
        json!({ "day": day, "key": key.as_str(), "bytes": size }),
    )
    .await?;
    menu_week(tx, day).await
}

pub async fn menu_picture(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    item: i64,
    day: NaiveDate,
) -> Result<StoredObject, MealError> {
    let stored = repo::menu(tx.conn(), item, day)
        .await?
        .and_then(|m| m.picture)
        .ok_or(MealError::Storage(crate::storage::StorageError::NotFound(
            format!("menu {item} {day}"),
        )))?;
    let key =
        ObjectKey::stored(tx.tenant().code.as_str(), &stored).map_err(MealError::Invariant)?;
    Ok(who.st.storage.get(&key).await?)
}
