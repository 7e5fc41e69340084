//! SQL of the meals domain, and the only SQL of it: the tenant tables of migration
//! `tenant/school/0006_meals.sql` to `0008_meal_refunds.sql`, run under the tenant role
//! inside a `TenantTx`: the catalogue, menus, rules and orders here, stops, statistics and
//! refunded days in their own files.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use super::model::{MealKind, MealOrderStatus, OfferStatus, PeriodMode};
use super::periods::Rules;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub code: String,
    pub kind: MealKind,
    pub name: String,
    pub description: String,
    pub price: Decimal,
    pub levels: Vec<i16>,
    pub daily_capacity: Option<i32>,
    pub allergens: Vec<String>,
    pub status: OfferStatus,
}

const ITEM_COLUMNS: &str =
    "id, code, kind, name, description, price, levels, daily_capacity, allergens, status";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PackageRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub price: Decimal,
    pub status: OfferStatus,
    pub item_ids: Vec<i64>,
}

const PACKAGE_SELECT: &str = "select p.id, p.code, p.name, p.price, p.status,
        coalesce(array_agg(pi.item_id order by pi.item_id) filter (where pi.item_id is not null), '{}') as item_ids
    from meal_packages p left join meal_package_items pi on pi.package_id = p.id";

// --- items and packages --------------------------------------------------------------------

pub async fn items(c: &mut PgConnection) -> sqlx::Result<Vec<ItemRow>> {
    sqlx::query_as(&format!(
        "select {ITEM_COLUMNS} from meal_items order by array_position(array['breakfast',
         'lunch','afternoon_tea','dinner'], kind), id"
    ))
    .fetch_all(&mut *c)
    .await
}

pub async fn item(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<ItemRow>> {
    sqlx::query_as(&format!(
        "select {ITEM_COLUMNS} from meal_items where id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

pub async fn lock_item(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<ItemRow>> {
    sqlx::query_as(&format!(
        "select {ITEM_COLUMNS} from meal_items where id = $1 for update"
    ))
    .bind(id)
    .fetch_optional(&mut *c)
    .await
}

/// Inserts an item (draft); `None` when the code is taken.
#[allow(clippy::too_many_arguments)]
pub async fn insert_item(
    c: &mut PgConnection,
    code: &str,
    kind: MealKind,
    name: &str,
    description: &str,
    price: Decimal,
    levels: &[i16],
    daily_capacity: Option<i32>,
    allergens: &[String],
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into meal_items (code, kind, name, description, price, levels, daily_capacity, allergens)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (code) do nothing returning id",
    )
    .bind(code)
    .bind(kind)
    .bind(name)
    .bind(description)
    .bind(price)
    .bind(levels)
    .bind(daily_capacity)
    .bind(allergens)
    .fetch_optional(&mut *c)
    .await
}

pub async fn update_item(c: &mut PgConnection, r: &ItemRow) -> sqlx::Result<()> {
    sqlx::query(
        "update meal_items set name = $2, description = $3, price = $4, levels = $5,
                daily_capacity = $6, allergens = $7, updated_at = now() where id = $1",
    )
    .bind(r.id)
    .bind(&r.name)
    .bind(&r.description)
    .bind(r.price)
    .bind(&r.levels)
    .bind(r.daily_capacity)
    .bind(&r.allergens)
    .execute(&mut *c)
    .await?;
    // Periods already ordered keep their places; a lower limit takes no place away.
    sqlx::query(
        "update meal_capacity set capacity = greatest(taken, coalesce($2, 20000))
         where item_id = $1",
    )
    .bind(r.id)
    .bind(r.daily_capacity)
    .execute(&mut *c)
    .await?;
    Ok(())
}

pub async fn set_item_status(
    c: &mut PgConnection,
    id: i64,
    status: OfferStatus,
) -> sqlx::Result<()> {
    sqlx::query("update meal_items set status = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *c)
        .await
        .map(drop)
}

pub async fn packages(c: &mut PgConnection) -> sqlx::Result<Vec<PackageRow>> {
    sqlx::query_as(&format!("{PACKAGE_SELECT} group by p.id order by p.id"))
        .fetch_all(&mut *c)
        .await
}

pub async fn package(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<PackageRow>> {
    sqlx::query_as(&format!("{PACKAGE_SELECT} where p.id = $1 group by p.id"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn lock_package(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<PackageRow>> {
    sqlx::query("select 1 from meal_packages where id = $1 for update")
        .bind(id)
        .execute(&mut *c)
        .await?;
    package(c, id).await
}

/// Inserts a package (draft) with its items; `None` when the code is taken.
pub async fn insert_package(
    c: &mut PgConnection,
    code: &str,
    name: &str,
    price: Decimal,
    items: &[i64],
) -> sqlx::Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into meal_packages (code, name, price) values ($1, $2, $3)
         on conflict (code) do nothing returning id",
    )
    .bind(code)
    .bind(name)
    .bind(price)
    .fetch_optional(&mut *c)
    .await?;
    if let Some(id) = id {
        set_package_items(c, id, items).await?;
    }
    Ok(id)
}

pub async fn update_package(
    c: &mut PgConnection,
    id: i64,
    name: &str,
    price: Decimal,
    items: &[i64],
) -> sqlx::Result<()> {
    sqlx::query("update meal_packages set name = $2, price = $3, updated_at = now() where id = $1")
        .bind(id)
        .bind(name)
        .bind(price)
        .execute(&mut *c)
        .await?;
    set_package_items(c, id, items).await
}

async fn set_package_items(c: &mut PgConnection, id: i64, items: &[i64]) -> sqlx::Result<()> {
    sqlx::query("delete from meal_package_items where package_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "insert into meal_package_items (package_id, item_id) select $1, unnest($2::bigint[])",
    )
    .bind(id)
    .bind(items)
    .execute(&mut *c)
    .await
    .map(drop)
}

pub async fn set_package_status(
    c: &mut PgConnection,
    id: i64,
    status: OfferStatus,
) -> sqlx::Result<()> {
    sqlx::query("update meal_packages set status = $2, updated_at = now() where id = $1")
        .bind(id)
        .bind(status)
        .execute(&mut *c)
        .await
        .map(drop)
}

/// Published packages that contain `item`.
pub async fn published_packages_with(c: &mut PgConnection, item: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select p.name from meal_packages p join meal_package_items pi on pi.package_id = p.id
         where pi.item_id = $1 and p.status = 'published' order by p.id",
    )
    .bind(item)
    .fetch_all(&mut *c)
    .await
}

// --- menus ------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MenuRow {
    pub item_id: i64,
    pub day: NaiveDate,
    pub dishes: String,
    pub picture: Option<String>,
}

pub async fn menus(
    c: &mut PgConnection,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<MenuRow>> {
    sqlx::query_as(
        "select item_id, day, dishes, picture from meal_menus
         where day between $1 and $2 order by day, item_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *c)
    .await
}

pub async fn menu(
    c: &mut PgConnection,
    item: i64,
    day: NaiveDate,
) -> sqlx::Result<Option<MenuRow>> {
    sqlx::query_as(
        "select item_id, day, dishes, picture from meal_menus where item_id = $1 and day = $2",
    )
    .bind(item)
    .bind(day)
    .fetch_optional(&mut *c)
    .await
}

pub async fn put_menu(
    c: &mut PgConnection,
    item: i64,
    day: NaiveDate,
    dishes: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into meal_menus (item_id, day, dishes) values ($1, $2, $3)
         on conflict (item_id, day) do update set dishes = excluded.dishes",
    )
    .bind(item)
    .bind(day)
    .bind(dishes)
    .execute(&mut *c)
    .await
    .map(drop)
}

pub async fn delete_menu(c: &mut PgConnection, item: i64, day: NaiveDate) -> sqlx::Result<()> {
    sqlx::query("delete from meal_menus where item_id = $1 and day = $2")
        .bind(item)
        .bind(day)
        .execute(&mut *c)
        .await
        .map(drop)
}

/// Sets the picture of a menu day; `false` when the day has no menu.
pub async fn set_menu_picture(
    c: &mut PgConnection,
    item: i64,
    day: NaiveDate,
    key: &str,
) -> sqlx::Result<bool> {
    let n = sqlx::query("update meal_menus set picture = $3 where item_id = $1 and day = $2")
        .bind(item)
        .bind(day)
        .bind(key)
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

// --- rules -----------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
struct RulesRow {
    period: PeriodMode,
    opens_days_before: i32,
    closes_days_before: i32,
    stop_cutoff: NaiveTime,
    hold_minutes: i32,
}

pub async fn rules(c: &mut PgConnection) -> sqlx::Result<Rules> {
    let r: RulesRow = sqlx::query_as(
        "select period, opens_days_before, closes_days_before, stop_cutoff, hold_minutes
         from meal_rules",
    )
    .fetch_one(&mut *c)
    .await?;
    Ok(Rules {
        mode: r.period,
        opens_days_before: r.opens_days_before,
        closes_days_before: r.closes_days_before,
        stop_cutoff: r.stop_cutoff,
        hold_minutes: r.hold_minutes,
    })
}

pub async fn set_rules(c: &mut PgConnection, r: &Rules) -> sqlx::Result<()> {
    sqlx::query(
        "update meal_rules set period = $1, opens_days_before = $2, closes_days_before = $3,
                stop_cutoff = $4, hold_minutes = $5, updated_at = now()",
    )
    .bind(r.mode)
    .bind(r.opens_days_before)
    .bind(r.closes_days_before)
    .bind(r.stop_cutoff)
    .bind(r.hold_minutes)
    .execute(&mut *c)
    .await
    .map(drop)
}

pub async fn excluded_days(c: &mut PgConnection) -> sqlx::Result<Vec<(NaiveDate, String)>> {
    sqlx::query_as("select day, reason from meal_excluded_days order by day")
        .fetch_all(&mut *c)
        .await
}

/// `false` when the day was excluded already.
pub async fn add_excluded_day(
    c: &mut PgConnection,
    day: NaiveDate,
    reason: &str,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "insert into meal_excluded_days (day, reason) values ($1, $2) on conflict (day) do nothing",
    )
    .bind(day)
    .bind(reason)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn remove_excluded_day(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<bool> {
    let n = sqlx::query("delete from meal_excluded_days where day = $1")
        .bind(day)
        .execute(&mut *c)
        .await?
        .rows_affected();
    Ok(n == 1)
}

// --- children ---------------------------------------------------------------------------------

pub async fn allergies(c: &mut PgConnection, student: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar("select sealed from student_allergies where student_id = $1")
        .bind(student)
        .fetch_optional(&mut *c)
        .await
}

pub async fn set_allergies(
    c: &mut PgConnection,
    student: i64,
    sealed: &[u8],
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into student_allergies (student_id, sealed, updated_by, updated_at)
         values ($1, $2, $3, $4)
         on conflict (student_id) do update
           set sealed = excluded.sealed, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(student)
    .bind(sealed)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await
    .map(drop)
}

// --- orders -------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub item_id: Option<i64>,
    pub package_id: Option<i64>,
    pub name: String,
    pub kinds: Vec<String>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub days: Vec<NaiveDate>,
    pub price: Decimal,
    pub amount: Decimal,
    pub status: MealOrderStatus,
    pub hold_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const ORDER_SELECT: &str = "select o.id, o.student_id, s.name as student_name, o.item_id,
        o.package_id, coalesce(i.name, p.name) as name,
        coalesce((select array_agg(sl.kind order by sl.kind) from meal_order_slots sl
                  where sl.meal_order_id = o.id),
                 case when i.kind is not null then array[i.kind] else
                 (select array_agg(distinct pk.kind) from meal_package_items pi
                    join meal_items pk on pk.id = pi.item_id where pi.package_id = o.package_id) end)
          as kinds,
        o.period_start, o.period_end, o.days, o.price, o.amount, o.status, o.hold_expires_at,
        o.created_at
    from meal_orders o
    join students s on s.id = o.student_id
    left join meal_items i on i.id = o.item_id
    left join meal_packages p on p.id = o.package_id";

pub async fn orders_of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "{ORDER_SELECT} where o.student_id = $1 order by o.period_start desc, o.id desc"
    ))
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

pub async fn order(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<OrderRow>> {
    sqlx::query_as(&format!("{ORDER_SELECT} where o.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn orders(c: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "{ORDER_SELECT} where o.id = any($1) order by o.id"
    ))
    .bind(ids)
    .fetch_all(&mut *c)
    .await
}

/// The live orders of the children among `students` that cover `from..=to`.
pub async fn live_orders_between(
    c: &mut PgConnection,
    students: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<OrderRow>> {
    sqlx::query_as(&format!(
        "{ORDER_SELECT} where o.student_id = any($1) and o.status in ('held', 'confirmed')
           and o.period_start <= $3 and o.period_end >= $2 order by o.id"
    ))
    .bind(students)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *c)
    .await
}

/// A place for `item` in the period: one guarded update on the counter (created at the
/// item's capacity on first use). `false` when the period is full.
pub async fn take_place(
    c: &mut PgConnection,
    item: i64,
    period_start: NaiveDate,
    capacity: i32,
) -> sqlx::Result<bool> {
    let taken: Option<i32> = sqlx::query_scalar(
        "insert into meal_capacity (item_id, period_start, capacity, taken) values ($1, $2, $3, 1)
         on conflict (item_id, period_start) do update set taken = meal_capacity.taken + 1
           where meal_capacity.taken < meal_capacity.capacity
         returning taken",
    )
    .bind(item)
    .bind(period_start)
    .bind(capacity)
    .fetch_optional(&mut *c)
    .await?;
    Ok(taken.is_some())
}

/// Claims the child's meal kinds for the period; `Err(kind)` names one taken already (and
/// the caller rolls back).
pub async fn claim_slots(
    c: &mut PgConnection,
    student: i64,
    period_start: NaiveDate,
    kinds: &[MealKind],
    order_id: i64,
) -> sqlx::Result<Result<(), MealKind>> {
    for k in kinds {
        let n = sqlx::query(
            "insert into meal_order_slots (student_id, period_start, kind, meal_order_id)
             values ($1, $2, $3, $4) on conflict do nothing",
        )
        .bind(student)
        .bind(period_start)
        .bind(*k)
        .bind(order_id)
        .execute(&mut *c)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(Err(*k));
        }
    }
    Ok(Ok(()))
}

/// The kinds the child holds in the period.
pub async fn taken_kinds(
    c: &mut PgConnection,
    student: i64,
    period_start: NaiveDate,
) -> sqlx::Result<Vec<MealKind>> {
    sqlx::query_scalar(
        "select kind from meal_order_slots where student_id = $1 and period_start = $2",
    )
    .bind(student)
    .bind(period_start)
    .fetch_all(&mut *c)
    .await
}

/// Places taken per item in the period.
pub async fn places_taken(
    c: &mut PgConnection,
    period_start: NaiveDate,
) -> sqlx::Result<Vec<(i64, i32, i32)>> {
    sqlx::query_as("select item_id, taken, capacity from meal_capacity where period_start = $1")
        .bind(period_start)
        .fetch_all(&mut *c)
        .await
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_order(
    c: &mut PgConnection,
    student: i64,
    item: Option<i64>,
    package: Option<i64>,
    period_start: NaiveDate,
    period_end: NaiveDate,
    days: &[NaiveDate],
    price: Decimal,
    amount: Decimal,
    hold_expires_at: DateTime<Utc>,
    by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into meal_orders (student_id, item_id, package_id, period_start, period_end,
                days, price, amount, status, hold_expires_at, ordered_by, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10, $11) returning id",
    )
    .bind(student)
    .bind(item)
    .bind(package)
    .bind(period_start)
    .bind(period_end)
    .bind(days)
    .bind(price)
    .bind(amount)
    .bind(hold_expires_at)
    .bind(by)
    .bind(now)
    .fetch_one(&mut *c)
    .await
}

/// The held orders whose hold ran out that stand in the way of an order of `items` for
/// `student` in the period: the child's own, or ones holding a place of one of the items.
/// Rows another transaction is ending already are skipped (it gives them back).
pub async fn expired_holds_in_the_way(
    c: &mut PgConnection,
    student: i64,
    period_start: NaiveDate,
    items: &[i64],
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select o.id from meal_orders o
         where o.status = 'held' and o.hold_expires_at <= $4 and o.period_start = $2
           and (o.student_id = $1 or o.item_id = any($3)
                or o.package_id in (select package_id from meal_package_items
                                    where item_id = any($3)))
         for update of o skip locked",
    )
    .bind(student)
    .bind(period_start)
    .bind(items)
    .bind(now)
    .fetch_all(&mut *c)
    .await
}

/// Ends held orders (`ids`, or every one whose hold ran out by `now` when `None`) with
/// `status`, and gives their slots and places back. Returns the orders ended.
pub async fn end_holds(
    c: &mut PgConnection,
    ids: Option<&[i64]>,
    status: MealOrderStatus,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    let ended: Vec<(i64, NaiveDate, Option<i64>, Option<i64>)> = sqlx::query_as(
        "update meal_orders set status = $2, ended_at = $3
         where status = 'held' and (($1::bigint[] is not null and id = any($1))
                                    or ($1::bigint[] is null and hold_expires_at <= $3))
         returning id, period_start, item_id, package_id",
    )
    .bind(ids)
    .bind(status)
    .bind(now)
    .fetch_all(&mut *c)
    .await?;
    for (id, period_start, item, package) in &ended {
        sqlx::query("delete from meal_order_slots where meal_order_id = $1")
            .bind(id)
            .execute(&mut *c)
            .await?;
        sqlx::query(
            "update meal_capacity set taken = taken - 1
             where period_start = $1 and taken > 0
               and item_id in (select $2::bigint where $2 is not null
                               union select item_id from meal_package_items where package_id = $3)",
        )
        .bind(period_start)
        .bind(item)
        .bind(package)
        .execute(&mut *c)
        .await?;
    }
    Ok(ended.into_iter().map(|e| e.0).collect())
}

/// Confirms a paid order. A hold that ran out while the parent paid is confirmed too as long
/// as it still holds its place (`held`); `false` when it was given up.
pub async fn confirm(c: &mut PgConnection, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "update meal_orders set status = 'confirmed', confirmed_at = $2, hold_expires_at = null
         where id = $1 and status = 'held'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The confirmed orders serving `day`, with their number of days.
pub async fn confirmed_on(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<Vec<(i64, i32)>> {
    sqlx::query_as(
        "select o.id, cardinality(o.days) from meal_orders o
         where o.status = 'confirmed' and o.period_start <= $1 and o.period_end >= $1
           and $1 = any(o.days)
           and not exists (select 1 from meal_stop_days d join meal_stops t on t.id = d.stop_id
                           where d.meal_order_id = o.id and d.day = $1 and t.status = 'approved')
           and not exists (select 1 from meal_refund_days r where r.meal_order_id = o.id and r.day = $1)",
    )
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// The active children of the guardian account `account`.
pub async fn own_students(c: &mut PgConnection, account: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select sg.student_id from student_guardians sg join guardians g on g.id = sg.guardian_id
           join students s on s.id = sg.student_id
         where g.account_id = $1 and s.status = 'active'",
    )
    .bind(account)
    .fetch_all(&mut *c)
    .await
}

/// One child eating one item on a day.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EaterRow {
    pub item_id: i64,
    pub class_id: i64,
    pub class_name: String,
    pub student_id: i64,
    pub student_name: String,
}

/// Every child a confirmed order serves on `day`, per item (a package counts for each of
/// its items), by grade and class.
pub async fn eaters_on(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<Vec<EaterRow>> {
    sqlx::query_as(
        "select coalesce(o.item_id, pi.item_id) as item_id, cl.id as class_id,
                cl.name as class_name, s.id as student_id, s.name as student_name
         from meal_orders o
         join students s on s.id = o.student_id
         join classes cl on cl.id = s.class_id
         join grades g on g.id = cl.grade_id
         left join meal_package_items pi on pi.package_id = o.package_id
         where o.status = 'confirmed' and o.days @> array[$1::date]
           and not exists (select 1 from meal_stop_days d join meal_stops t on t.id = d.stop_id
                           where d.meal_order_id = o.id and d.day = $1 and t.status = 'approved')
           and not exists (select 1 from meal_refund_days r where r.meal_order_id = o.id and r.day = $1)
         order by g.level, cl.name, s.id",
    )
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// The sealed allergies of the children among `students` who have any recorded.
pub async fn allergies_of(
    c: &mut PgConnection,
    students: &[i64],
) -> sqlx::Result<Vec<(i64, Vec<u8>)>> {
    sqlx::query_as("select student_id, sealed from student_allergies where student_id = any($1)")
        .bind(students)
        .fetch_all(&mut *c)
        .await
}

/// An active student of the school: (id, name, class id).
pub async fn student(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<(i64, String, i64)>> {
    sqlx::query_as("select id, name, class_id from students where id = $1 and status = 'active'")
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

mod refunds;
mod stats;
mod stops;

pub use refunds::*;
pub use stats::*;
pub use stops::*;
