//! SQL of meal stops (R-P08, R-T10): `meal_stops` and `meal_stop_days`.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

use crate::meals::model::{StopFilter, StopStatus};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StopRow {
    pub id: i64,
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub reason: String,
    pub status: StopStatus,
    pub by_staff: bool,
    pub requested_by: i64,
    pub requested_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_comment: Option<String>,
    pub refund_amount: Option<Decimal>,
    pub refund_status: Option<String>,
    /// the stopped days (each order's)
    pub days: Vec<NaiveDate>,
    /// what the stopped days are worth
    pub value: Decimal,
}

const STOP_SELECT: &str = "select t.id, t.student_id, s.name as student_name, s.class_id,
        cl.name as class_name, t.first_day, t.last_day, t.reason, t.status, t.by_staff,
        t.requested_by, t.requested_at, t.reviewed_at, t.review_comment, t.refund_amount, t.refund_status,
        coalesce((select array_agg(distinct d.day order by d.day) from meal_stop_days d
                  where d.stop_id = t.id), '{}') as days,
        coalesce((select sum(o.price) from meal_stop_days d join meal_orders o on o.id = d.meal_order_id
                  where d.stop_id = t.id), 0) as value
    from meal_stops t
    join students s on s.id = t.student_id
    join classes cl on cl.id = s.class_id";

pub async fn stop(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<StopRow>> {
    sqlx::query_as(&format!("{STOP_SELECT} where t.id = $1"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn lock_stop(c: &mut PgConnection, id: i64) -> sqlx::Result<Option<StopRow>> {
    sqlx::query_as(&format!("{STOP_SELECT} where t.id = $1 for update of t"))
        .bind(id)
        .fetch_optional(&mut *c)
        .await
}

pub async fn stops_of_student(c: &mut PgConnection, student: i64) -> sqlx::Result<Vec<StopRow>> {
    sqlx::query_as(&format!(
        "{STOP_SELECT} where t.student_id = $1 order by t.first_day desc, t.id desc"
    ))
    .bind(student)
    .fetch_all(&mut *c)
    .await
}

/// One page of the stops of the classes (all when `None`) the filter lets through, the ones
/// with the latest activity (decision, else request) first, and how many there are.
pub async fn stops(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    f: &StopFilter,
) -> sqlx::Result<(Vec<StopRow>, i64)> {
    let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
    const WHERE: &str = "where ($1::bigint[] is null or s.class_id = any($1))
           and (cardinality($2::text[]) = 0 or t.status = any($2))
           and ($3::bigint is null or s.class_id = $3)";
    let rows = sqlx::query_as(&format!(
        "{STOP_SELECT} {WHERE}
         order by coalesce(t.reviewed_at, t.requested_at) desc, t.id desc limit $4 offset $5"
    ))
    .bind(classes)
    .bind(&statuses)
    .bind(f.class_id)
    .bind(f.limit)
    .bind(f.offset)
    .fetch_all(&mut *c)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "select count(*) from meal_stops t join students s on s.id = t.student_id {WHERE}"
    ))
    .bind(classes)
    .bind(&statuses)
    .bind(f.class_id)
    .fetch_one(&mut *c)
    .await?;
    Ok((rows, total))
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_stop(
    c: &mut PgConnection,
    student: i64,
    first_day: NaiveDate,
    last_day: NaiveDate,
    reason: &str,
    status: StopStatus,
    by: i64,
    by_staff: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into meal_stops (student_id, first_day, last_day, reason, status, requested_by,
                requested_at, by_staff, reviewed_by, reviewed_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8,
                 case when $8 then $6 end, case when $8 then $7 end)
         returning id",
    )
    .bind(student)
    .bind(first_day)
    .bind(last_day)
    .bind(reason)
    .bind(status)
    .bind(by)
    .bind(now)
    .bind(by_staff)
    .fetch_one(&mut *c)
    .await
}

/// Claims the days of a stop on an order; `Err(day)` names one stopped already (the caller
/// rolls back).
pub async fn claim_stop_days(
    c: &mut PgConnection,
    stop: i64,
    order: i64,
    days: &[NaiveDate],
) -> sqlx::Result<Result<(), NaiveDate>> {
    let taken: Vec<NaiveDate> = sqlx::query_scalar(
        "with wanted as (select unnest($3::date[]) as day),
              ins as (insert into meal_stop_days (stop_id, meal_order_id, day)
                      select $1, $2, day from wanted on conflict do nothing returning day)
         select day from wanted where day not in (select day from ins) order by day",
    )
    .bind(stop)
    .bind(order)
    .bind(days)
    .fetch_all(&mut *c)
    .await?;
    Ok(taken.first().map_or(Ok(()), |d| Err(*d)))
}

/// Ends a stop (rejected or withdrawn): its days go back to the orders.
pub async fn end_stop(
    c: &mut PgConnection,
    id: i64,
    status: StopStatus,
    by: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("delete from meal_stop_days where stop_id = $1")
        .bind(id)
        .execute(&mut *c)
        .await?;
    review(c, id, status, by, comment, now).await
}

pub async fn review(
    c: &mut PgConnection,
    id: i64,
    status: StopStatus,
    by: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update meal_stops set status = $2, reviewed_by = $3, reviewed_at = $4, review_comment = $5
         where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(by)
    .bind(now)
    .bind(comment)
    .execute(&mut *c)
    .await
    .map(drop)
}

/// Drops the days of a stop before `from` (served meanwhile); answers how many are left.
pub async fn drop_stop_days_before(
    c: &mut PgConnection,
    id: i64,
    from: NaiveDate,
) -> sqlx::Result<i64> {
    sqlx::query("delete from meal_stop_days where stop_id = $1 and day < $2")
        .bind(id)
        .bind(from)
        .execute(&mut *c)
        .await?;
    sqlx::query_scalar("select count(*) from meal_stop_days where stop_id = $1")
        .bind(id)
        .fetch_one(&mut *c)
        .await
}

/// The days of approved stops among `orders` on `day` (those orders do not eat that day).
pub async fn stopped_on(c: &mut PgConnection, day: NaiveDate) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select d.meal_order_id from meal_stop_days d join meal_stops t on t.id = d.stop_id
         where d.day = $1 and t.status = 'approved'",
    )
    .bind(day)
    .fetch_all(&mut *c)
    .await
}

/// The approved stopped days of the child's orders between two days.
pub async fn stopped_days_of(
    c: &mut PgConnection,
    student: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate)>> {
    sqlx::query_as(
        "select d.meal_order_id, d.day from meal_stop_days d join meal_stops t on t.id = d.stop_id
         where t.student_id = $1 and t.status = 'approved' and d.day between $2 and $3",
    )
    .bind(student)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *c)
    .await
}
