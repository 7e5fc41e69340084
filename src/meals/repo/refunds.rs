//! SQL of the refund batches (R-T13, R-S08): `meal_refund_batches` and `meal_refund_days`
//! (migration `0008_meal_refunds.sql`), and the days of paid orders that are due back.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

/// A paid order day due back: an approved stop's (with its stop) or one the canteen no
/// longer serves (none).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueRow {
    pub meal_order_id: i64,
    pub day: NaiveDate,
    pub stop_id: Option<i64>,
    pub price: Decimal,
}

/// One school's batches at a time: `false` when another holds the lock (until its
/// transaction ends).
pub async fn try_lock_batches(c: &mut PgConnection) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select pg_try_advisory_xact_lock(hashtext('meal_refund_batch'), hashtext(current_schema()))",
    )
    .fetch_one(&mut *c)
    .await
}

/// The days of approved stops on confirmed orders (of the period, or every period) not
/// given back yet, with their stops locked when `lock` so that nothing changes them
/// meanwhile.
pub async fn due_stop_days(
    c: &mut PgConnection,
    period_start: Option<NaiveDate>,
    lock: bool,
) -> sqlx::Result<Vec<DueRow>> {
    if lock {
        sqlx::query(
            "select 1 from meal_stops t where t.status = 'approved'
           and exists (select 1 from meal_stop_days d join meal_orders o on o.id = d.meal_order_id
                       where d.stop_id = t.id and ($1::date is null or o.period_start = $1)
                         and not exists (select 1 from meal_refund_days r
                                         where r.meal_order_id = d.meal_order_id and r.day = d.day))
         order by t.id for update of t",
        )
        .bind(period_start)
        .execute(&mut *c)
        .await?;
    }
    sqlx::query_as(
        "select d.meal_order_id, d.day, d.stop_id, o.price
         from meal_stop_days d
         join meal_stops t on t.id = d.stop_id and t.status = 'approved'
         join meal_orders o on o.id = d.meal_order_id and o.status = 'confirmed'
         where ($1::date is null or o.period_start = $1)
           and not exists (select 1 from meal_refund_days r
                           where r.meal_order_id = d.meal_order_id and r.day = d.day)
         order by d.meal_order_id, d.day",
    )
    .bind(period_start)
    .fetch_all(&mut *c)
    .await
}

/// The distinct days confirmed orders (of the period, or every period) paid for and still
/// hold: the caller keeps those the canteen no longer serves.
pub async fn paid_days(
    c: &mut PgConnection,
    period_start: Option<NaiveDate>,
) -> sqlx::Result<Vec<NaiveDate>> {
    sqlx::query_scalar(
        "select distinct d from meal_orders o, unnest(o.days) as d
         where o.status = 'confirmed' and ($1::date is null or o.period_start = $1)
         order by d",
    )
    .bind(period_start)
    .fetch_all(&mut *c)
    .await
}

/// The `days` of confirmed orders (of the period, or every period) not given back yet and
/// not under an approved stop (those come with their stop).
pub async fn due_unserved_days(
    c: &mut PgConnection,
    period_start: Option<NaiveDate>,
    days: &[NaiveDate],
) -> sqlx::Result<Vec<DueRow>> {
    sqlx::query_as(
        "select o.id as meal_order_id, d as day, null::bigint as stop_id, o.price
         from meal_orders o, unnest(o.days) as d
         where o.status = 'confirmed' and ($1::date is null or o.period_start = $1)
           and d = any($2)
           and not exists (select 1 from meal_refund_days r where r.meal_order_id = o.id and r.day = d)
           and not exists (select 1 from meal_stop_days sd join meal_stops t on t.id = sd.stop_id
                           where sd.meal_order_id = o.id and sd.day = d and t.status = 'approved')
         order by o.id, d",
    )
    .bind(period_start)
    .bind(days)
    .fetch_all(&mut *c)
    .await
}

pub async fn insert_batch(
    c: &mut PgConnection,
    period_start: Option<NaiveDate>,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into meal_refund_batches (period_start, created_by, created_at)
         values ($1, $2, $3) returning id",
    )
    .bind(period_start)
    .bind(by)
    .bind(at)
    .fetch_one(&mut *c)
    .await
}

/// One order day a refund gives back.
#[derive(Debug, Clone)]
pub struct RefundedDay {
    pub meal_order_id: i64,
    pub day: NaiveDate,
    pub stop_id: Option<i64>,
    pub refund_id: i64,
    pub amount: Decimal,
}

/// Records the days a batch gives back, and its totals. A day given back before fails the
/// key (the caller's transaction rolls back).
pub async fn insert_refund_days(
    c: &mut PgConnection,
    batch: i64,
    days: &[RefundedDay],
    refunds: i32,
) -> sqlx::Result<()> {
    let orders: Vec<i64> = days.iter().map(|d| d.meal_order_id).collect();
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.day).collect();
    let stops: Vec<Option<i64>> = days.iter().map(|d| d.stop_id).collect();
    let refund_ids: Vec<i64> = days.iter().map(|d| d.refund_id).collect();
    let amounts: Vec<Decimal> = days.iter().map(|d| d.amount).collect();
    sqlx::query(
        "insert into meal_refund_days (meal_order_id, day, batch_id, stop_id, refund_id, amount)
         select o, d, $1, s, r, a
         from unnest($2::bigint[], $3::date[], $4::bigint[], $5::bigint[], $6::numeric[])
              as u(o, d, s, r, a)",
    )
    .bind(batch)
    .bind(&orders)
    .bind(&dates)
    .bind(&stops)
    .bind(&refund_ids)
    .bind(&amounts)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "update meal_refund_batches b set refunds = $2, days = $3,
                amount = (select coalesce(sum(amount), 0) from meal_refund_days where batch_id = $1)
         where b.id = $1",
    )
    .bind(batch)
    .bind(refunds)
    .bind(days.len() as i32)
    .execute(&mut *c)
    .await
    .map(drop)
}

/// The stops' refunds as their days say: the sum given back, and 退款中 while any is on its
/// way, 异常 when any failed (or none is left after a refund closed), else 已到账.
pub async fn sync_stop_refunds(c: &mut PgConnection, stops: &[i64]) -> sqlx::Result<()> {
    sqlx::query(
        "update meal_stops t set refund_amount = a.amount, refund_status = a.status
         from (select t2.id, nullif(coalesce(sum(r.amount), 0), 0) as amount,
                      case when count(r.day) = 0 or bool_or(r.status = 'failed') then 'failed'
                           when bool_or(r.status = 'processing') then 'processing'
                           else 'refunded' end as status
               from meal_stops t2 left join meal_refund_days r on r.stop_id = t2.id
               where t2.id = any($1) group by t2.id) a
         where t.id = a.id",
    )
    .bind(stops)
    .execute(&mut *c)
    .await
    .map(drop)
}

/// Moves the days of a refund to `status`; answers the stops they belong to.
pub async fn set_refund_days(
    c: &mut PgConnection,
    refund_id: i64,
    status: &str,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "with moved as (update meal_refund_days set status = $2 where refund_id = $1
                        returning stop_id)
         select distinct stop_id from moved where stop_id is not null",
    )
    .bind(refund_id)
    .bind(status)
    .fetch_all(&mut *c)
    .await
}

/// Forgets the days of a refund WeChat closed (they are due again); answers their stops.
pub async fn drop_refund_days(c: &mut PgConnection, refund_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "with gone as (delete from meal_refund_days where refund_id = $1 returning stop_id)
         select distinct stop_id from gone where stop_id is not null",
    )
    .bind(refund_id)
    .fetch_all(&mut *c)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BatchRow {
    pub id: i64,
    pub period_start: Option<NaiveDate>,
    pub refunds: i32,
    pub days: i32,
    pub amount: Decimal,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
    /// days of the batch still on their way, and failed
    pub processing: i64,
    pub failed: i64,
}

const BATCH_SELECT: &str = "select b.id, b.period_start, b.refunds, b.days, b.amount, b.created_by,
        b.created_at,
        (select count(*) from meal_refund_days r where r.batch_id = b.id and r.status = 'processing')
            as processing,
        (select count(*) from meal_refund_days r where r.batch_id = b.id and r.status = 'failed')
            as failed
    from meal_refund_batches b";

pub async fn batch(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<BatchRow>> {
    sqlx::query_as(&format!("{BATCH_SELECT} where b.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

/// The latest batches, newest first.
pub async fn batches(c: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<BatchRow>> {
    sqlx::query_as(&format!(
        "{BATCH_SELECT} order by b.created_at desc, b.id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(&mut *c)
    .await
}
