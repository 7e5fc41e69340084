//! SQL of the payment statistics and reminders (R-T09): who ordered and paid, the
//! guardians to remind, `meal_reminders`.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;

/// One child of the classes (all when `None`) with what they ordered in the period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub student_id: i64,
    pub student_name: String,
    pub class_id: i64,
    pub class_name: String,
    pub paid: bool,
    pub held: bool,
    pub paid_amount: Decimal,
    pub held_amount: Decimal,
}

pub async fn payment_rows(
    c: &mut PgConnection,
    classes: Option<&[i64]>,
    period_start: NaiveDate,
) -> sqlx::Result<Vec<PaymentRow>> {
    sqlx::query_as(
        "select s.id as student_id, s.name as student_name, cl.id as class_id, cl.name as class_name,
                coalesce(bool_or(o.status = 'confirmed'), false) as paid,
                coalesce(bool_or(o.status = 'held'), false) as held,
                coalesce(sum(o.amount) filter (where o.status = 'confirmed'), 0) as paid_amount,
                coalesce(sum(o.amount) filter (where o.status = 'held'), 0) as held_amount
         from students s
         join classes cl on cl.id = s.class_id
         join grades g on g.id = cl.grade_id
         left join meal_orders o on o.student_id = s.id and o.period_start = $2
                                and o.status in ('held', 'confirmed')
         where s.status = 'active' and ($1::bigint[] is null or cl.id = any($1))
         group by s.id, cl.id, g.level
         order by g.level, cl.name, s.id",
    )
    .bind(classes)
    .bind(period_start)
    .fetch_all(&mut *c)
    .await
}

/// The guardian accounts of `students`, with the first of their children among them
/// (child id, name).
pub async fn guardians_of(
    c: &mut PgConnection,
    students: &[i64],
) -> sqlx::Result<Vec<(i64, i64, String)>> {
    sqlx::query_as(
        "select distinct on (g.account_id) g.account_id, s.id, s.name
         from student_guardians sg join guardians g on g.id = sg.guardian_id
           join students s on s.id = sg.student_id
         where sg.student_id = any($1) and g.account_id is not null
         order by g.account_id, s.id",
    )
    .bind(students)
    .fetch_all(&mut *c)
    .await
}

/// Records today's reminder to `account`; `false` when it had one today already.
pub async fn claim_reminder(
    c: &mut PgConnection,
    account: i64,
    day: NaiveDate,
    period_start: NaiveDate,
    by: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "insert into meal_reminders (account_id, day, period_start, sent_by, sent_at)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
    )
    .bind(account)
    .bind(day)
    .bind(period_start)
    .bind(by)
    .bind(at)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(n == 1)
}
