//! A parent orders meals for a child (R-P07): what the child may order in the periods near
//! now with the served days and totals, the order itself (held for payment, which goes
//! through the payments feature like a booking), the child's allergies that warn before
//! ordering, the records (R-P12) and the week view of whether the child eats at school
//! (R-P11).
//!
//! An order takes the child's meal kinds for the period (`meal_order_slots`) and a place
//! of each item with a daily capacity (`meal_capacity`), both with guarded writes, so no
//! concurrency orders a child's lunch twice or exceeds a capacity.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::catalogue::{monday_of, picture_url};
use super::{read_sealed_allergies, record, rules_and_calendar};
use crate::kernel::actor::Actor;
use crate::kernel::tx::TenantTx;
use crate::meals::error::MealError;
use crate::meals::model::*;
use crate::meals::periods::window;
use crate::meals::repo::{self, ItemRow, OrderRow, PackageRow};

async fn own_child(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
) -> Result<(i64, String, i16), MealError> {
    Ok(crate::enrollment::service::own_child(tx, who.auth, student_id).await?)
}

/// The child's allergies (decrypted); none recorded is an empty list.
async fn read_allergies(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student: i64,
) -> Result<Allergies, MealError> {
    match repo::allergies(tx.conn(), student).await? {
        Some(sealed) => read_sealed_allergies(who, student, &sealed),
        None => Ok(Allergies::default()),
    }
}

pub async fn allergies(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
) -> Result<Allergies, MealError> {
    let (student, ..) = own_child(tx, who, student_id).await?;
    read_allergies(tx, who, student).await
}

/// Records the child's allergies, sealed with the data key (health data).
pub async fn set_allergies(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
    a: Allergies,
) -> Result<Allergies, MealError> {
    let (student, ..) = own_child(tx, who, student_id).await?;
    let note = a.note.trim().to_string();
    if note.chars().count() > NOTE_MAX {
        return Err(MealError::AllergiesInvalid);
    }
    let codes: Vec<&str> = Allergen::ALL
        .iter()
        .filter(|x| a.allergens.contains(x))
        .map(|x| x.as_str())
        .collect();
    let clear = json!({ "allergens": codes, "note": note }).to_string();
    let sealed = who
        .st
        .keys
        .pii
        .encrypt_str(&clear, &super::allergies_aad(student));
    let now = who.st.clock.now();
    repo::set_allergies(tx.conn(), student, &sealed, who.auth.account_id, now).await?;
    // The audit names what changed, never the allergies themselves.
    record(
        tx,
        who,
        "meals.allergies.set",
        format!("student:{student}"),
        json!({ "groups": codes.len(), "note": !note.is_empty() }),
    )
    .await?;
    read_allergies(tx, who, student).await
}

/// A choice resolved: its items, name and price per day.
struct Choice<'a> {
    item_id: Option<i64>,
    package_id: Option<i64>,
    name: String,
    price: Decimal,
    status_ok: bool,
    items: Vec<&'a ItemRow>,
}

impl Choice<'_> {
    fn kinds(&self) -> Vec<MealKind> {
        self.items.iter().map(|i| i.kind).collect()
    }

    fn kinds_label(&self) -> String {
        self.items
            .iter()
            .map(|i| i.kind.label())
            .collect::<Vec<_>>()
            .join("、")
    }

    fn eligible(&self, level: i16) -> bool {
        !self.items.is_empty() && self.items.iter().all(|i| i.levels.contains(&level))
    }

    /// The allergens of the child this choice contains, by label.
    fn warnings(&self, child: &Allergies) -> Vec<&'static str> {
        let codes: Vec<String> = self
            .items
            .iter()
            .flat_map(|i| i.allergens.clone())
            .collect();
        Allergen::ALL
            .iter()
            .filter(|a| child.allergens.contains(a) && codes.iter().any(|c| c == a.as_str()))
            .map(|a| a.label())
            .collect()
    }
}

fn item_choice(i: &ItemRow) -> Choice<'_> {
    Choice {
        item_id: Some(i.id),
        package_id: None,
        name: i.name.clone(),
        price: i.price,
        status_ok: i.status == OfferStatus::Published,
        items: vec![i],
    }
}

fn package_choice<'a>(p: &PackageRow, items: &'a [ItemRow]) -> Choice<'a> {
    let mine: Vec<&ItemRow> = items
        .iter()
        .filter(|i| p.item_ids.contains(&i.id))
        .collect();
    Choice {
        item_id: None,
        package_id: Some(p.id),
        name: p.name.clone(),
        price: p.price,
        status_ok: p.status == OfferStatus::Published
            && !mine.is_empty()
            && mine.iter().all(|i| i.status == OfferStatus::Published),
        items: mine,
    }
}

/// What each child may order in the periods whose window has not closed (R-P07).
pub async fn offer(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
) -> Result<MealOfferView, MealError> {
    let (student, student_name, level) = own_child(tx, who, student_id).await?;
    let (rules, cal) = rules_and_calendar(tx).await?;
    let now = who.st.clock.now();
    let child = read_allergies(tx, who, student).await?;
    let items = repo::items(tx.conn()).await?;
    let packages = repo::packages(tx.conn()).await?;
    let mut periods = Vec::new();
    for p in cal.periods_near(&rules, now) {
        let served = cal.served_days(&p);
        if served.is_empty() {
            continue;
        }
        let w = window(&rules, &p);
        let taken = repo::taken_kinds(tx.conn(), student, p.starts_on).await?;
        let places = repo::places_taken(tx.conn(), p.starts_on).await?;
        let full = |i: &ItemRow| {
            places
                .iter()
                .any(|(id, taken, cap)| *id == i.id && taken >= cap)
        };
        let choices = items
            .iter()
            .map(item_choice)
            .chain(packages.iter().map(|pk| package_choice(pk, &items)))
            .filter(|c| c.status_ok && c.eligible(level))
            .map(|c| MealChoice {
                item_id: c.item_id,
                package_id: c.package_id,
                name: c.name.clone(),
                kinds: c.kinds_label(),
                price: yuan(c.price),
                total: yuan(c.price * Decimal::from(served.len())),
                allergy_warnings: c.warnings(&child).into_iter().map(String::from).collect(),
                sold_out: c.items.iter().any(|i| full(i)),
                taken: c.kinds().iter().any(|k| taken.contains(k)),
            })
            .collect();
        periods.push(PeriodOffer {
            starts_on: p.starts_on,
            ends_on: p.ends_on,
            label: p.label.clone(),
            opens_at: w.opens_at,
            closes_at: w.closes_at,
            open: w.contains(now),
            served_days: served,
            choices,
        });
    }
    Ok(MealOfferView {
        student_id: student,
        student_name,
        level,
        allergies: child,
        periods,
    })
}

/// Places an order, held for payment for the rules' hold minutes.
pub async fn order(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    req: NewMealOrder,
) -> Result<MealOrderView, MealError> {
    let (student, _, level) = own_child(tx, who, req.student_id).await?;
    let now = who.st.clock.now();
    let (rules, cal) = rules_and_calendar(tx).await?;
    let period = cal
        .period_at(&rules, req.period_start)
        .ok_or(MealError::PeriodInvalid {
            period_start: req.period_start,
        })?;
    let w = window(&rules, &period);
    if !w.contains(now) {
        return Err(MealError::WindowClosed {
            label: period.label,
            opens_at: w.opens_at,
            closes_at: w.closes_at,
        });
    }
    let days = cal.served_days(&period);
    if days.is_empty() {
        return Err(MealError::NoServedDays {
            label: period.label,
        });
    }
    let items = repo::items(tx.conn()).await?;
    let choice = match (req.item_id, req.package_id) {
        (Some(id), None) => items
            .iter()
            .find(|i| i.id == id)
            .map(item_choice)
            .ok_or(MealError::ItemNotFound { id })?,
        (None, Some(id)) => {
            let p = repo::package(tx.conn(), id)
                .await?
                .ok_or(MealError::PackageNotFound { id })?;
            package_choice(&p, &items)
        }
        _ => return Err(MealError::ChoiceInvalid),
    };
    if !choice.status_ok {
        return Err(MealError::NotOffered { name: choice.name });
    }
    if !choice.eligible(level) {
        return Err(MealError::GradeNotEligible {
            name: choice.name,
            level,
        });
    }
    let warnings = choice.warnings(&read_allergies(tx, who, student).await?);
    if !warnings.is_empty() && !req.allergy_acknowledged {
        return Err(MealError::AllergenWarning {
            allergens: warnings,
        });
    }
    // Holds that ran out give back what this order claims (the child's kinds of the period,
    // the items' places) before it claims them; other holds are the sweeper's.
    let items: Vec<i64> = choice.items.iter().map(|i| i.id).collect();
    let expired =
        repo::expired_holds_in_the_way(tx.conn(), student, period.starts_on, &items, now).await?;
    if !expired.is_empty() {
        repo::end_holds(tx.conn(), Some(&expired), MealOrderStatus::Expired, now).await?;
    }
    let amount = choice.price * Decimal::from(days.len());
    let hold = now + Duration::minutes(i64::from(rules.hold_minutes));
    let id = repo::insert_order(
        tx.conn(),
        student,
        choice.item_id,
        choice.package_id,
        period.starts_on,
        period.ends_on,
        &days,
        choice.price,
        amount,
        hold,
        who.auth.account_id,
        now,
    )
    .await?;
    if let Err(kind) =
        repo::claim_slots(tx.conn(), student, period.starts_on, &choice.kinds(), id).await?
    {
        return Err(MealError::AlreadyOrdered {
            kind: kind.label(),
            label: period.label,
        });
    }
    for i in &choice.items {
        if let Some(cap) = i.daily_capacity {
            if !repo::take_place(tx.conn(), i.id, period.starts_on, cap).await? {
                return Err(MealError::SoldOut {
                    name: i.name.clone(),
                    label: period.label,
                });
            }
        }
    }
    record(
        tx,
        who,
        "meals.order.create",
        format!("meal_order:{id}"),
        json!({
            "student_id": student, "item_id": choice.item_id, "package_id": choice.package_id,
            "period_start": period.starts_on, "days": days.len(), "amount": yuan(amount),
            "allergy_acknowledged": !warnings.is_empty(),
        }),
    )
    .await?;
    let row = repo::order(tx.conn(), id)
        .await?
        .ok_or(MealError::OrderNotFound { id })?;
    Ok(order_view(&row, now))
}

/// A parent gives up an unpaid order: its kinds and places go back at once.
pub async fn cancel(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    id: i64,
) -> Result<MealOrderView, MealError> {
    let row = repo::order(tx.conn(), id)
        .await?
        .ok_or(MealError::OrderNotFound { id })?;
    own_child(tx, who, row.student_id)
        .await
        .map_err(|_| MealError::OrderNotFound { id })?;
    let now = who.st.clock.now();
    if row.status != MealOrderStatus::Held
        || repo::end_holds(tx.conn(), Some(&[id]), MealOrderStatus::Cancelled, now)
            .await?
            .is_empty()
    {
        return Err(MealError::OrderNotHeld {
            id,
            status: row.status.label(),
        });
    }
    record(
        tx,
        who,
        "meals.order.cancel",
        format!("meal_order:{id}"),
        json!({ "student_id": row.student_id }),
    )
    .await?;
    let row = repo::order(tx.conn(), id)
        .await?
        .ok_or(MealError::OrderNotFound { id })?;
    Ok(order_view(&row, now))
}

/// "2026年11月", or the dates.
pub fn period_label(start: NaiveDate, end: NaiveDate) -> String {
    let month_end = (start + Duration::days(31))
        .with_day(1)
        .map(|d| d - Duration::days(1));
    if start.day() == 1 && month_end == Some(end) {
        format!("{}年{}月", start.year(), start.month())
    } else {
        format!("{start} 至 {end}")
    }
}

pub fn order_view(r: &OrderRow, now: DateTime<Utc>) -> MealOrderView {
    let kinds: Vec<&str> = MealKind::ALL
        .iter()
        .filter(|k| r.kinds.iter().any(|c| c == k.as_str()))
        .map(|k| k.label())
        .collect();
    MealOrderView {
        id: r.id,
        student_id: r.student_id,
        student_name: r.student_name.clone(),
        item_id: r.item_id,
        package_id: r.package_id,
        name: r.name.clone(),
        kinds: kinds.join("、"),
        period_start: r.period_start,
        period_end: r.period_end,
        period_label: period_label(r.period_start, r.period_end),
        days: r.days.clone(),
        day_count: r.days.len() as i32,
        price: yuan(r.price),
        amount: yuan(r.amount),
        status: r.status,
        status_label: r.status.label().into(),
        hold_expires_at: r.hold_expires_at,
        payable: r.status == MealOrderStatus::Held && r.hold_expires_at.is_some_and(|t| t > now),
        created_at: r.created_at,
    }
}

/// The child's meal orders, newest period first (R-P12).
pub async fn records(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
) -> Result<Vec<MealOrderView>, MealError> {
    let (student, ..) = own_child(tx, who, student_id).await?;
    let now = who.st.clock.now();
    Ok(repo::orders_of_student(tx.conn(), student)
        .await?
        .iter()
        .map(|r| order_view(r, now))
        .collect())
}

/// The week of `day` for the child: each day, whether school runs, whether the child eats
/// at school (a paid order serves it) and what (R-P11).
pub async fn week(
    tx: &mut TenantTx,
    who: &Actor<'_>,
    student_id: i64,
    day: NaiveDate,
) -> Result<WeekView, MealError> {
    let (student, student_name, _) = own_child(tx, who, student_id).await?;
    let monday = monday_of(day);
    let sunday = monday + Duration::days(6);
    let (_, cal) = rules_and_calendar(tx).await?;
    let orders: Vec<OrderRow> = repo::live_orders_between(tx.conn(), &[student], monday, sunday)
        .await?
        .into_iter()
        .filter(|o| o.status == MealOrderStatus::Confirmed)
        .collect();
    let items = repo::items(tx.conn()).await?;
    let packages = repo::packages(tx.conn()).await?;
    let menus = repo::menus(tx.conn(), monday, sunday).await?;
    let stopped = repo::stopped_days_of(tx.conn(), student, monday, sunday).await?;
    let mut days = Vec::with_capacity(7);
    for (n, d) in monday.iter_days().take(7).enumerate() {
        let (served, mut note) = cal.day(d);
        let mut meals = Vec::new();
        let paid = orders.iter().filter(|o| served && o.days.contains(&d));
        let (eats, off): (Vec<&OrderRow>, Vec<&OrderRow>) =
            paid.partition(|o| !stopped.contains(&(o.id, d)));
        if !off.is_empty() {
            note = "已停餐".into();
        }
        for o in eats {
            let ids: Vec<i64> = match (o.item_id, o.package_id) {
                (Some(i), _) => vec![i],
                (_, Some(p)) => packages
                    .iter()
                    .find(|x| x.id == p)
                    .map(|x| x.item_ids.clone())
                    .unwrap_or_default(),
                _ => vec![],
            };
            for i in items.iter().filter(|i| ids.contains(&i.id)) {
                let menu = menus.iter().find(|m| m.item_id == i.id && m.day == d);
                meals.push(MenuEntryView {
                    item_id: i.id,
                    item_name: i.name.clone(),
                    kind_label: i.kind.label().into(),
                    dishes: menu.map(|m| m.dishes.clone()).unwrap_or_default(),
                    picture: menu
                        .and_then(|m| m.picture.as_ref())
                        .map(|_| picture_url(i.id, d)),
                });
            }
        }
        days.push(WeekDayView {
            day: d,
            weekday: WEEKDAYS[n].into(),
            school_day: served,
            note,
            eats_at_school: !meals.is_empty(),
            meals,
        });
    }
    Ok(WeekView {
        student_id: student,
        student_name,
        monday,
        days,
    })
}
