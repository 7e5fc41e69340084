//! The item and package forms (R-S07): the values as typed, how they become the API's
//! `NewMealItem`/`MealItemPatch` and `NewMealPackage`/`MealPackagePatch`, and where a
//! refusal of the service lands. Never checks a meal rule itself: what is typed goes to
//! the service as typed; only what is not even a number is refused here.
//!
//! Controls are named as the API's fields (`name`, `price`, …) and identified with the
//! form's prefix (`item_name`, `package_name`), so the two forms of the catalogue page
//! never share an id and a refusal lands on the form it came from.

use maud::{html, Markup};

use crate::meals::model::{
    Allergen, MealItemPatch, MealItemView, MealKind, MealPackagePatch, MealPackageView,
    NewMealItem, NewMealPackage, OfferStatus,
};
use crate::web::forms::{FormError, Posted};
use crate::web::layout::field;

/// The control of the item form a refusal is about (by `details.field` or code).
pub(super) fn item_control(f: &str) -> Option<&'static str> {
    match f {
        "code" | "MEAL_CODE_TAKEN" | "MEAL_CODE_INVALID" => Some("item_code"),
        "kind" => Some("item_kind"),
        "name" | "NAME_INVALID" => Some("item_name"),
        "description" | "MEAL_DESCRIPTION_INVALID" => Some("item_description"),
        "price" | "MEAL_PRICE_INVALID" => Some("item_price"),
        "levels" | "LEVELS_INVALID" => Some("item_levels"),
        "daily_capacity" | "CAPACITY_INVALID" => Some("item_daily_capacity"),
        "allergens" => Some("item_allergens"),
        _ => None,
    }
}

/// The control of the package form a refusal is about.
pub(super) fn package_control(f: &str) -> Option<&'static str> {
    match f {
        "code" | "MEAL_CODE_TAKEN" | "MEAL_CODE_INVALID" => Some("package_code"),
        "name" | "NAME_INVALID" => Some("package_name"),
        "price" | "MEAL_PRICE_INVALID" => Some("package_price"),
        "item_ids"
        | "MEAL_PACKAGE_EMPTY"
        | "MEAL_PACKAGE_ITEMS_INVALID"
        | "MEAL_ITEM_NOT_FOUND" => Some("package_items"),
        _ => None,
    }
}

/// A refusal the page makes itself (a value that is not even a number), on `control`.
fn refuse(form: &'static str, control: &str, message: &str) -> FormError {
    FormError {
        form,
        ..FormError::new(control, message)
    }
}

/// The notice at the top of a refused form: the message itself when no control shows it.
pub(super) fn refused_notice(p: &FormError, form: &str) -> Markup {
    if p.form != form || p.is_empty() {
        return html! {};
    }
    if p.general.is_some() {
        return p.notice(form);
    }
    html! {
        div.notice.error role="alert" id={ (form) "-error" } data-code=(p.code) {
            "未保存：请按标红的提示修改后再提交"
        }
    }
}

fn text_opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn sorted<T: Ord + Clone>(v: &[T]) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn changed<T: PartialEq>(new: T, old: &T) -> Option<T> {
    (new != *old).then_some(new)
}

/// Browsers send a textarea's line breaks as CRLF; stored text uses LF.
fn textarea(s: &str) -> String {
    s.replace("\r\n", "\n")
}

fn levels(f: &Posted) -> Vec<i16> {
    f.all("levels")
        .iter()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

fn allergens(f: &Posted) -> Vec<Allergen> {
    f.all("allergens")
        .iter()
        .filter_map(|a| Allergen::parse(a))
        .collect()
}

fn item_ids(f: &Posted) -> Vec<i64> {
    f.all("item_ids")
        .iter()
        .filter_map(|i| i.trim().parse().ok())
        .collect()
}

/// The daily capacity as typed: blank is no limit; what is not a whole number is refused.
fn capacity(f: &Posted) -> Result<Option<i32>, FormError> {
    match text_opt(f.get("daily_capacity")) {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|_| {
            refuse(
                "item",
                "item_daily_capacity",
                "每日供应上限应为整数，不限量请留空",
            )
        }),
    }
}

/// The item form's starting values for `v`.
pub(super) fn item_values(v: &MealItemView) -> Posted {
    let mut pairs = vec![
        ("code", v.code.clone()),
        ("kind", v.kind.as_str().to_string()),
        ("name", v.name.clone()),
        ("description", v.description.clone()),
        ("price", v.price.clone()),
        (
            "daily_capacity",
            v.daily_capacity.map(|c| c.to_string()).unwrap_or_default(),
        ),
    ];
    pairs.extend(v.levels.iter().map(|l| ("levels", l.to_string())));
    pairs.extend(v.allergens.iter().map(|a| ("allergens", a.clone())));
    Posted::of(&pairs)
}

pub(super) fn new_item(f: &Posted) -> Result<NewMealItem, FormError> {
    let kind =
        MealKind::parse(f.get("kind")).ok_or_else(|| refuse("item", "item_kind", "请选择餐别"))?;
    Ok(NewMealItem {
        code: text_opt(f.get("code")),
        kind,
        name: f.get("name").to_string(),
        description: textarea(f.get("description")),
        price: f.get("price").trim().to_string(),
        levels: levels(f),
        daily_capacity: capacity(f)?,
        allergens: allergens(f),
    })
}

/// The changes against the stored item, as the API's `PATCH` body.
pub(super) fn item_patch(f: &Posted, cur: &MealItemView) -> Result<MealItemPatch, FormError> {
    let cap = capacity(f)?;
    let typed_allergens: Vec<String> = Allergen::ALL
        .iter()
        .filter(|a| allergens(f).contains(a))
        .map(|a| a.as_str().to_string())
        .collect();
    Ok(MealItemPatch {
        name: changed(f.get("name").trim().to_string(), &cur.name),
        description: changed(
            textarea(f.get("description")).trim().to_string(),
            &cur.description,
        ),
        price: changed(f.get("price").trim().to_string(), &cur.price),
        levels: changed(sorted(&levels(f)), &sorted(&cur.levels)).map(|_| levels(f)),
        // 0 is the API's "no limit any more".
        daily_capacity: match (cap, cur.daily_capacity) {
            (None, Some(_)) => Some(0),
            (new, old) if new != old => new,
            _ => None,
        },
        allergens: changed(typed_allergens, &sorted(&cur.allergens)).map(|_| allergens(f)),
    })
}

/// The package form's starting values for `v`.
pub(super) fn package_values(v: &MealPackageView) -> Posted {
    let mut pairs = vec![
        ("code", v.code.clone()),
        ("name", v.name.clone()),
        ("price", v.price.clone()),
    ];
    pairs.extend(v.items.iter().map(|i| ("item_ids", i.id.to_string())));
    Posted::of(&pairs)
}

pub(super) fn new_package(f: &Posted) -> NewMealPackage {
    NewMealPackage {
        code: text_opt(f.get("code")),
        name: f.get("name").to_string(),
        price: f.get("price").trim().to_string(),
        item_ids: item_ids(f),
    }
}

pub(super) fn package_patch(f: &Posted, cur: &MealPackageView) -> MealPackagePatch {
    let cur_items: Vec<i64> = cur.items.iter().map(|i| i.id).collect();
    MealPackagePatch {
        name: changed(f.get("name").trim().to_string(), &cur.name),
        price: changed(f.get("price").trim().to_string(), &cur.price),
        item_ids: changed(sorted(&item_ids(f)), &sorted(&cur_items)).map(|_| item_ids(f)),
    }
}

/// Checkboxes named `name`, each identified `<id>-<value>`, in a group identified `id`.
pub(super) fn checks(name: &str, id: &str, items: &[(String, String)], chosen: &[&str]) -> Markup {
    html! {
        div.checks id=(id) {
            @for (v, label) in items {
                label.check {
                    input type="checkbox" name=(name) id={ (id) "-" (v) } value=(v) checked[chosen.contains(&v.as_str())];
                    " " (label)
                }
            }
        }
    }
}

/// The eight allergen groups of GB 7718, as (code, label).
pub(super) fn allergen_choices() -> Vec<(String, String)> {
    Allergen::ALL
        .iter()
        .map(|a| (a.as_str().to_string(), a.label().to_string()))
        .collect()
}

pub(super) fn item_form(action: &str, f: &Posted, p: &FormError, editing: bool) -> Markup {
    let e = |n: &str| if p.form == "item" { p.field(n) } else { None };
    let kind = if f.get("kind").is_empty() {
        MealKind::Lunch.as_str()
    } else {
        f.get("kind")
    };
    let grades: Vec<(String, String)> = (1..=9)
        .map(|l| (l.to_string(), format!("{l} 年级")))
        .collect();
    html! {
        form.stack method="post" action=(action) id="item-form" novalidate {
            (refused_notice(p, "item"))
            div.form-grid {
                @if !editing {
                    (field("代码（选填）", "item_code", html! {
                        input type="text" id="item_code" name="code" value=(f.get("code")) maxlength="32" placeholder="不填则由系统自动生成";
                    }, e("item_code")))
                    (field("餐别", "item_kind", html! {
                        select id="item_kind" name="kind" {
                            @for k in MealKind::ALL {
                                option value=(k.as_str()) selected[k.as_str() == kind] { (k.label()) }
                            }
                        }
                    }, e("item_kind")))
                }
                (field("名称", "item_name", html! {
                    input type="text" id="item_name" name="name" value=(f.get("name")) maxlength="30" placeholder="如 标准午餐";
                }, e("item_name")))
                (field("每个供餐日的价格（元）", "item_price", html! {
                    input type="text" id="item_price" name="price" value=(f.get("price")) inputmode="decimal" placeholder="如 12.50";
                }, e("item_price")))
                (field("每日供应上限（份，不限量请留空）", "item_daily_capacity", html! {
                    input type="number" id="item_daily_capacity" name="daily_capacity" value=(f.get("daily_capacity")) min="1" max="20000" step="1";
                }, e("item_daily_capacity")))
            }
            (field("适用年级", "item_levels", checks("levels", "item_levels", &grades, &f.all("levels")), e("item_levels")))
            (field("含有的过敏原（GB 7718 规定的八类）", "item_allergens", checks("allergens", "item_allergens", &allergen_choices(), &f.all("allergens")), e("item_allergens")))
            (field("介绍", "item_description", html! {
                textarea id="item_description" name="description" maxlength="500" placeholder="如 两荤一素一汤，米饭不限量" { (f.get("description")) }
            }, e("item_description")))
            button type="submit" id="item-submit" { @if editing { "保存修改" } @else { "保存为草稿" } }
        }
    }
}

/// The items a package may contain: every item not withdrawn, and those it has already.
fn package_item_choices(items: &[MealItemView], chosen: &[&str]) -> Vec<(String, String)> {
    items
        .iter()
        .filter(|i| {
            i.status != OfferStatus::Withdrawn || chosen.contains(&i.id.to_string().as_str())
        })
        .map(|i| {
            let status = match i.status {
                OfferStatus::Published => String::new(),
                s => format!("（{}）", s.label()),
            };
            (
                i.id.to_string(),
                format!("{}：{} ¥{}{status}", i.kind_label, i.name, i.price),
            )
        })
        .collect()
}

pub(super) fn package_form(
    action: &str,
    f: &Posted,
    p: &FormError,
    items: &[MealItemView],
    editing: bool,
) -> Markup {
    let e = |n: &str| {
        if p.form == "package" {
            p.field(n)
        } else {
            None
        }
    };
    let chosen = f.all("item_ids");
    let choices = package_item_choices(items, &chosen);
    html! {
        form.stack method="post" action=(action) id="package-form" novalidate {
            (refused_notice(p, "package"))
            div.form-grid {
                @if !editing {
                    (field("代码（选填）", "package_code", html! {
                        input type="text" id="package_code" name="code" value=(f.get("code")) maxlength="32" placeholder="不填则由系统自动生成";
                    }, e("package_code")))
                }
                (field("名称", "package_name", html! {
                    input type="text" id="package_name" name="name" value=(f.get("name")) maxlength="30" placeholder="如 午餐+下午茶";
                }, e("package_name")))
                (field("套餐每个供餐日的价格（元）", "package_price", html! {
                    input type="text" id="package_price" name="price" value=(f.get("price")) inputmode="decimal" placeholder="如 18.00";
                }, e("package_price")))
            }
            (field("包含的餐品（每种餐别最多一个）", "package_items", html! {
                @if choices.is_empty() { p.muted { "还没有餐品，请先新建餐品" } }
                @else { (checks("item_ids", "package_items", &choices, &chosen)) }
            }, e("package_items")))
            button type="submit" id="package-submit" { @if editing { "保存修改" } @else { "保存为草稿" } }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> MealItemView {
        MealItemView {
            id: 1,
            code: "lunch".into(),
            kind: MealKind::Lunch,
            kind_label: "午餐".into(),
            name: "标准午餐".into(),
            description: String::new(),
            price: "12.50".into(),
            levels: vec![1, 2],
            daily_capacity: Some(100),
            allergens: vec!["egg".into()],
            allergen_labels: vec!["蛋类".into()],
            status: OfferStatus::Draft,
            status_label: "草稿".into(),
        }
    }

    #[test]
    fn an_unchanged_form_patches_nothing_and_a_cleared_capacity_is_no_limit() {
        let v = view();
        let p = item_patch(&item_values(&v), &v).unwrap();
        assert!(p.name.is_none() && p.price.is_none() && p.levels.is_none());
        assert!(p.daily_capacity.is_none() && p.allergens.is_none());
        let f = Posted::parse("name=%E6%A0%87%E5%87%86%E5%8D%88%E9%A4%90&price=12.50&levels=2&levels=1&allergens=egg&daily_capacity=");
        let p = item_patch(&f, &v).unwrap();
        assert_eq!(p.daily_capacity, Some(0));
        assert!(p.levels.is_none() && p.allergens.is_none());
    }

    #[test]
    fn a_capacity_that_is_not_a_number_is_refused_on_its_control() {
        let f = Posted::parse("kind=lunch&daily_capacity=abc");
        let e = new_item(&f).unwrap_err();
        assert!(e.field("item_daily_capacity").is_some());
        assert_eq!(e.form, "item");
    }
}
