//! The only SQL of the escrow ledger: journals, entries, the running balance of each line
//! and the read models built from them.
//!
//! Stores what `service` decided; decides nothing itself. Runtime-checked queries (the
//! crate does not use the `query!` macros yet, so there is no offline cache to keep).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{PgConnection, Row};

use super::error::LedgerError;
use super::model::{
    Account, AccountBalance, Entry, EntryDraft, EscrowMovement, Journal, JournalId, JournalKind,
    LineAmounts, LineDifference, LineId, LineState, OrderId, ReleaseUnit, Side, TenantId,
};
use super::money::Money;

/// First key of the ledger's two-key advisory locks (the two-key space never overlaps the
/// one-key locks used elsewhere, e.g. by the role bootstrap).
const LOCK_CLASS: i32 = 0x1ed6;

pub struct NewJournal<'a> {
    pub kind: JournalKind,
    pub at: DateTime<Utc>,
    pub order_id: Option<OrderId>,
    pub line_id: Option<LineId>,
    pub tenant_id: Option<TenantId>,
    pub reference: &'a str,
    pub amount: Money,
    pub memo: &'a str,
}

/// A journal without its entries.
#[derive(Debug, Clone)]
pub struct JournalHead {
    pub id: JournalId,
    pub kind: JournalKind,
    pub at: DateTime<Utc>,
    pub order_id: Option<OrderId>,
    pub line_id: Option<LineId>,
    pub tenant_id: Option<TenantId>,
    pub reference: String,
    pub amount: Money,
    pub memo: String,
}

fn kind_of(s: &str) -> Result<JournalKind, LedgerError> {
    JournalKind::parse(s).ok_or_else(|| LedgerError::Corrupt(format!("unknown journal kind {s}")))
}

fn head_from_row(row: &sqlx::postgres::PgRow) -> Result<JournalHead, LedgerError> {
    Ok(JournalHead {
        id: JournalId(row.try_get("id")?),
        kind: kind_of(row.try_get::<&str, _>("kind")?)?,
        at: row.try_get("at")?,
        order_id: row.try_get::<Option<i64>, _>("order_id")?.map(OrderId),
        line_id: row.try_get::<Option<i64>, _>("line_id")?.map(LineId),
        tenant_id: row.try_get::<Option<i64>, _>("tenant_id")?.map(TenantId),
        reference: row.try_get("reference")?,
        amount: row.try_get("amount")?,
        memo: row.try_get("memo")?,
    })
}

const HEAD_COLUMNS: &str = "id, kind, at, order_id, line_id, tenant_id, reference, amount, memo";

/// Inserts a journal; `None` when its idempotency key (kind, reference, line) is taken.
/// A concurrent insert of the same key waits for the other transaction and then answers
/// `None` if it committed.
pub async fn insert_journal(
    conn: &mut PgConnection,
    j: &NewJournal<'_>,
) -> Result<Option<JournalId>, LedgerError> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into platform.ledger_journals
             (kind, at, order_id, line_id, tenant_id, reference, amount, memo)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict do nothing
         returning id",
    )
    .bind(j.kind.as_str())
    .bind(j.at)
    .bind(j.order_id.map(|o| o.0))
    .bind(j.line_id.map(|l| l.0))
    .bind(j.tenant_id.map(|t| t.0))
    .bind(j.reference)
    .bind(j.amount)
    .bind(j.memo)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(id.map(JournalId))
}

/// Inserts the entries of a journal in one statement.
pub async fn insert_entries(
    conn: &mut PgConnection,
    journal: JournalId,
    entries: &[EntryDraft],
) -> Result<(), LedgerError> {
    let mut accounts = Vec::with_capacity(entries.len());
    let mut lines = Vec::with_capacity(entries.len());
    let mut debits = Vec::with_capacity(entries.len());
    let mut credits = Vec::with_capacity(entries.len());
    for e in entries {
        accounts.push(e.account.code());
        lines.push(e.line_id.map(|l| l.0));
        let (d, c) = match e.side {
            Side::Debit => (e.amount, Money::ZERO),
            Side::Credit => (Money::ZERO, e.amount),
        };
        debits.push(d.as_decimal());
        credits.push(c.as_decimal());
    }
    sqlx::query(
        "insert into platform.ledger_entries (journal_id, account, line_id, debit, credit)
         select $1, t.account, t.line_id, t.debit, t.credit
         from unnest($2::text[], $3::int8[], $4::numeric[], $5::numeric[])
              with ordinality as t(account, line_id, debit, credit, n)
         order by t.n",
    )
    .bind(journal.0)
    .bind(accounts)
    .bind(lines)
    .bind(debits)
    .bind(credits)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The journal with this idempotency key (a journal without a line matches `line: None`).
pub async fn find_journal(
    conn: &mut PgConnection,
    kind: JournalKind,
    reference: &str,
    line: Option<LineId>,
) -> Result<Option<JournalHead>, LedgerError> {
    let row = sqlx::query(&format!(
        "select {HEAD_COLUMNS} from platform.ledger_journals
         where kind = $1 and reference = $2 and coalesce(line_id, 0) = coalesce($3, 0)"
    ))
    .bind(kind.as_str())
    .bind(reference)
    .bind(line.map(|l| l.0))
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(head_from_row).transpose()
}

/// A journal with its entries.
pub async fn journal(
    conn: &mut PgConnection,
    id: JournalId,
) -> Result<Option<Journal>, LedgerError> {
    let Some(row) = sqlx::query(&format!(
        "select {HEAD_COLUMNS} from platform.ledger_journals where id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let head = head_from_row(&row)?;
    let rows = sqlx::query(
        "select account, line_id, debit, credit from platform.ledger_entries
         where journal_id = $1 order by id",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let entries = rows
        .iter()
        .map(|r| {
            Ok(Entry {
                account: r.try_get("account")?,
                line_id: r.try_get::<Option<i64>, _>("line_id")?.map(LineId),
                debit: r.try_get("debit")?,
                credit: r.try_get("credit")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(Journal {
        id: head.id,
        kind: head.kind,
        at: head.at,
        order_id: head.order_id,
        line_id: head.line_id,
        tenant_id: head.tenant_id,
        reference: head.reference,
        amount: head.amount,
        memo: head.memo,
        entries,
    }))
}

/// Per line, what a payment journal credited to `held:*` (to compare a retried payment).
pub async fn payment_lines(
    conn: &mut PgConnection,
    journal: JournalId,
) -> Result<Vec<(LineId, Money)>, LedgerError> {
    let rows: Vec<(i64, Money)> = sqlx::query_as(
        "select line_id, credit from platform.ledger_entries
         where journal_id = $1 and account like 'held:%' order by line_id",
    )
    .bind(journal.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(l, m)| (LineId(l), m)).collect())
}

const LINE_COLUMNS: &str = "line_id, tenant_id, order_id, paid, released, refund_reserved, \
                            refunded, release_unit, units_total, units_released";

fn line_from_row(row: &sqlx::postgres::PgRow) -> Result<LineState, LedgerError> {
    let unit = match row.try_get::<Option<&str>, _>("release_unit")? {
        None => None,
        Some(s) => Some(
            ReleaseUnit::parse(s)
                .ok_or_else(|| LedgerError::Corrupt(format!("unknown release unit {s}")))?,
        ),
    };
    let count =
        |v: i32| u32::try_from(v).map_err(|_| LedgerError::Corrupt("negative unit count".into()));
    Ok(LineState {
        line_id: LineId(row.try_get("line_id")?),
        tenant_id: TenantId(row.try_get("tenant_id")?),
        order_id: OrderId(row.try_get("order_id")?),
        paid: row.try_get("paid")?,
        released: row.try_get("released")?,
        refund_reserved: row.try_get("refund_reserved")?,
        refunded: row.try_get("refunded")?,
        release_unit: unit,
        units_total: row
            .try_get::<Option<i32>, _>("units_total")?
            .map(count)
            .transpose()?,
        units_released: count(row.try_get("units_released")?)?,
    })
}

/// Lines among `ids` that already have a running balance.
pub async fn existing_lines(
    conn: &mut PgConnection,
    ids: &[LineId],
) -> Result<Vec<LineId>, LedgerError> {
    let ids: Vec<i64> = ids.iter().map(|l| l.0).collect();
    let found: Vec<i64> = sqlx::query_scalar(
        "select line_id from platform.ledger_lines where line_id = any($1) order by line_id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(found.into_iter().map(LineId).collect())
}

/// Creates the running balances of freshly paid lines; answers how many were new (a line
/// paid meanwhile by another transaction is skipped).
pub async fn insert_lines(
    conn: &mut PgConnection,
    lines: &[LineState],
    at: DateTime<Utc>,
) -> Result<usize, LedgerError> {
    // In line order, so two payments naming the same lines cannot deadlock on the key.
    let mut sorted: Vec<&LineState> = lines.iter().collect();
    sorted.sort_by_key(|l| l.line_id);
    let mut inserted = 0;
    for l in sorted {
        let done = sqlx::query(
            "insert into platform.ledger_lines
                 (line_id, tenant_id, order_id, paid, created_at, updated_at)
             values ($1, $2, $3, $4, $5, $5)
             on conflict do nothing",
        )
        .bind(l.line_id.0)
        .bind(l.tenant_id.0)
        .bind(l.order_id.0)
        .bind(l.paid)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        inserted += done.rows_affected() as usize;
    }
    Ok(inserted)
}

/// A line's running balance, unlocked (for reading).
pub async fn line(conn: &mut PgConnection, id: LineId) -> Result<Option<LineState>, LedgerError> {
    let row = sqlx::query(&format!(
        "select {LINE_COLUMNS} from platform.ledger_lines where line_id = $1"
    ))
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(line_from_row).transpose()
}

/// The running balances of `ids` (lines never paid have none), in line order, unlocked:
/// for showing what is left to refund, never for posting.
pub async fn lines(conn: &mut PgConnection, ids: &[LineId]) -> Result<Vec<LineState>, LedgerError> {
    let ids: Vec<i64> = ids.iter().map(|l| l.0).collect();
    let rows = sqlx::query(&format!(
        "select {LINE_COLUMNS} from platform.ledger_lines where line_id = any($1) order by line_id"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// Locks the running balances of `ids` (`for update`, in line order so two postings on the
/// same lines cannot deadlock) and answers them in line order.
pub async fn lock_lines(
    conn: &mut PgConnection,
    ids: &[LineId],
) -> Result<Vec<LineState>, LedgerError> {
    let ids: Vec<i64> = ids.iter().map(|l| l.0).collect();
    let rows = sqlx::query(&format!(
        "select {LINE_COLUMNS} from platform.ledger_lines
         where line_id = any($1) order by line_id for update"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// Locks one line's running balance for the rest of the transaction.
pub async fn lock_line(
    conn: &mut PgConnection,
    id: LineId,
) -> Result<Option<LineState>, LedgerError> {
    Ok(lock_lines(conn, &[id]).await?.into_iter().next())
}

pub async fn update_line(
    conn: &mut PgConnection,
    l: &LineState,
    at: DateTime<Utc>,
) -> Result<(), LedgerError> {
    let total = l
        .units_total
        .map(|t| i32::try_from(t).map_err(|_| LedgerError::Invalid("too many units".into())))
        .transpose()?;
    let released_units = i32::try_from(l.units_released)
        .map_err(|_| LedgerError::Invalid("too many units".into()))?;
    sqlx::query(
        "update platform.ledger_lines
         set released = $2, refund_reserved = $3, refunded = $4, release_unit = $5,
             units_total = $6, units_released = $7, updated_at = greatest(updated_at, $8)
         where line_id = $1",
    )
    .bind(l.line_id.0)
    .bind(l.released)
    .bind(l.refund_reserved)
    .bind(l.refunded)
    .bind(l.release_unit.map(|u| u.as_str()))
    .bind(total)
    .bind(released_units)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The reservations of a refund: per line, what it reserved (line order).
pub async fn refund_reservations(
    conn: &mut PgConnection,
    out_refund_no: &str,
) -> Result<Vec<(LineId, OrderId, Money)>, LedgerError> {
    let rows: Vec<(i64, i64, Money)> = sqlx::query_as(
        "select line_id, order_id, amount from platform.ledger_journals
         where kind = 'refund_reserve' and reference = $1 and line_id is not null
           and order_id is not null
         order by line_id",
    )
    .bind(out_refund_no)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(l, o, m)| (LineId(l), OrderId(o), m))
        .collect())
}

/// The references of the `kind` postings on each of the lines.
pub async fn released_references(
    conn: &mut PgConnection,
    kind: JournalKind,
    ids: &[LineId],
) -> Result<Vec<(LineId, String)>, LedgerError> {
    let ids: Vec<i64> = ids.iter().map(|l| l.0).collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "select line_id, reference from platform.ledger_journals
         where kind = $1 and line_id = any($2)",
    )
    .bind(kind.as_str())
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|(l, r)| (LineId(l), r)).collect())
}

/// Serialises postings that draw on the same balance (an account or a refund) until the
/// end of the transaction.
pub async fn advisory_lock(conn: &mut PgConnection, key: &str) -> Result<(), LedgerError> {
    sqlx::query("select pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn account_balance(
    conn: &mut PgConnection,
    account: &Account,
) -> Result<AccountBalance, LedgerError> {
    let code = account.code();
    let (debits, credits): (Money, Money) = sqlx::query_as(
        "select coalesce(sum(debit), 0.00), coalesce(sum(credit), 0.00)
         from platform.ledger_entries where account = $1",
    )
    .bind(&code)
    .fetch_one(&mut *conn)
    .await?;
    Ok(AccountBalance {
        account: code,
        debits,
        credits,
    })
}

/// One aggregated figure of a tenant's statement.
#[derive(Debug, Clone)]
pub struct StatementRow {
    pub kind: JournalKind,
    pub account: String,
    pub line_id: Option<LineId>,
    pub debit: Money,
    pub credit: Money,
}

/// Debits and credits per journal kind, account and line for a tenant's accounts
/// (`held:<t>`, `payable:<t>`) and the `refund:clearing` entries of its lines, over
/// journals with `from <= at < to`.
pub async fn statement_rows(
    conn: &mut PgConnection,
    tenant: TenantId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StatementRow>, LedgerError> {
    let accounts = vec![
        Account::Held(tenant).code(),
        Account::Payable(tenant).code(),
    ];
    let rows = sqlx::query(
        "select j.kind, e.account, e.line_id, sum(e.debit) as debit, sum(e.credit) as credit
         from platform.ledger_entries e
         join platform.ledger_journals j on j.id = e.journal_id
         where j.at >= $2 and j.at < $3
           and (e.account = any($1)
                or (e.account = 'refund:clearing'
                    and e.line_id in (select line_id from platform.ledger_lines
                                      where tenant_id = $4)))
         group by j.kind, e.account, e.line_id",
    )
    .bind(accounts)
    .bind(from)
    .bind(to)
    .bind(tenant.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(StatementRow {
                kind: kind_of(r.try_get::<&str, _>("kind")?)?,
                account: r.try_get("account")?,
                line_id: r.try_get::<Option<i64>, _>("line_id")?.map(LineId),
                debit: r.try_get("debit")?,
                credit: r.try_get("credit")?,
            })
        })
        .collect()
}

/// Net credit per account and line of a tenant's accounts over journals with `at < to`.
pub async fn tenant_balances_at(
    conn: &mut PgConnection,
    tenant: TenantId,
    to: DateTime<Utc>,
) -> Result<Vec<(String, Option<LineId>, Decimal)>, LedgerError> {
    let accounts = vec![
        Account::Held(tenant).code(),
        Account::Payable(tenant).code(),
    ];
    let rows: Vec<(String, Option<i64>, Decimal)> = sqlx::query_as(
        "select e.account, e.line_id, sum(e.credit) - sum(e.debit)
         from platform.ledger_entries e
         join platform.ledger_journals j on j.id = e.journal_id
         where j.at < $2 and e.account = any($1)
         group by e.account, e.line_id",
    )
    .bind(accounts)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(a, l, d)| (a, l.map(LineId), d))
        .collect())
}

/// Order of each of the tenant's lines.
pub async fn tenant_lines(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> Result<BTreeMap<LineId, OrderId>, LedgerError> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("select line_id, order_id from platform.ledger_lines where tenant_id = $1")
            .bind(tenant.0)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(l, o)| (LineId(l), OrderId(o)))
        .collect())
}

/// Every line whose running balance disagrees with its entries; also answers how many
/// lines were looked at.
pub async fn line_differences(
    conn: &mut PgConnection,
) -> Result<(u64, Vec<LineDifference>), LedgerError> {
    let rows = sqlx::query(
        "with agg as (
             select e.line_id,
                 coalesce(sum(e.credit) filter (where j.kind = 'payment'
                                                  and e.account like 'held:%'), 0) as paid,
                 coalesce(sum(e.debit) filter (where j.kind in ('release', 'release_lesson',
                                                  'release_day') and e.account like 'held:%'), 0)
                     as released,
                 coalesce(sum(e.credit - e.debit) filter (where e.account = 'refund:clearing'), 0)
                     as reserved,
                 coalesce(sum(e.debit) filter (where j.kind = 'refund_settle'
                                                 and e.account = 'refund:clearing'), 0)
                     as refunded,
                 coalesce(sum(e.credit - e.debit) filter (where e.account like 'held:%'), 0)
                     as held
             from platform.ledger_entries e
             join platform.ledger_journals j on j.id = e.journal_id
             where e.line_id is not null
             group by e.line_id
         ), units as (
             select line_id, count(*)::int as n from platform.ledger_journals
             where kind in ('release_lesson', 'release_day') group by line_id
         )
         select coalesce(l.line_id, a.line_id) as line_id,
                l.paid as s_paid, l.released as s_released,
                l.refund_reserved as s_reserved, l.refunded as s_refunded,
                coalesce(l.units_released, 0) as s_units,
                coalesce(a.paid, 0) as c_paid, coalesce(a.released, 0) as c_released,
                coalesce(a.reserved, 0) as c_reserved, coalesce(a.refunded, 0) as c_refunded,
                coalesce(a.held, 0) as c_held, coalesce(u.n, 0) as c_units
         from platform.ledger_lines l
         full join agg a on a.line_id = l.line_id
         left join units u on u.line_id = coalesce(l.line_id, a.line_id)
         order by 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let money = |r: &sqlx::postgres::PgRow, c: &str| -> Result<Money, LedgerError> {
        let d: Decimal = r.try_get(c)?;
        // A negative sum is itself a difference; show it as zero next to the held figure.
        Ok(Money::from_decimal(d.max(Decimal::ZERO))?)
    };
    let mut out = Vec::new();
    for r in &rows {
        let stored = match r.try_get::<Option<Decimal>, _>("s_paid")? {
            None => None,
            Some(_) => Some(LineAmounts {
                paid: r.try_get("s_paid")?,
                released: r.try_get("s_released")?,
                refund_reserved: r.try_get("s_reserved")?,
                refunded: r.try_get("s_refunded")?,
            }),
        };
        let computed = LineAmounts {
            paid: money(r, "c_paid")?,
            released: money(r, "c_released")?,
            refund_reserved: money(r, "c_reserved")?,
            refunded: money(r, "c_refunded")?,
        };
        let held: Decimal = r.try_get("c_held")?;
        let expected_held = computed.paid.as_decimal()
            - computed.released.as_decimal()
            - computed.refund_reserved.as_decimal()
            - computed.refunded.as_decimal();
        let reserved_raw: Decimal = r.try_get("c_reserved")?;
        let units_stored = u32::try_from(r.try_get::<i32, _>("s_units")?).unwrap_or(u32::MAX);
        let units_from_journals =
            u32::try_from(r.try_get::<i32, _>("c_units")?).unwrap_or(u32::MAX);
        let differs = stored != Some(computed)
            || held != expected_held
            || reserved_raw < Decimal::ZERO
            || units_stored != units_from_journals;
        if differs {
            out.push(LineDifference {
                line_id: LineId(r.try_get("line_id")?),
                stored,
                computed,
                held_from_entries: held,
                units_stored,
                units_from_journals,
            });
        }
    }
    Ok((rows.len() as u64, out))
}

/// Journals whose entries do not balance, are fewer than two, or do not add up to the
/// journal's amount.
pub async fn unbalanced_journals(conn: &mut PgConnection) -> Result<Vec<JournalId>, LedgerError> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "select j.id from platform.ledger_journals j
         left join platform.ledger_entries e on e.journal_id = j.id
         group by j.id, j.amount
         having count(e.id) < 2
             or coalesce(sum(e.debit), 0) <> coalesce(sum(e.credit), 0)
             or coalesce(sum(e.debit), 0) <> j.amount
         order by j.id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids.into_iter().map(JournalId).collect())
}

/// Journals with entries on `bank:escrow` and `from <= at < to`, one row per journal.
pub async fn escrow_movements(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<EscrowMovement>, LedgerError> {
    let rows = sqlx::query(
        "select j.id, j.kind, j.at, j.reference, sum(e.debit) as debit, sum(e.credit) as credit
         from platform.ledger_entries e
         join platform.ledger_journals j on j.id = e.journal_id
         where e.account = 'bank:escrow' and j.at >= $1 and j.at < $2
         group by j.id, j.kind, j.at, j.reference
         order by j.id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let debit: Money = r.try_get("debit")?;
        let credit: Money = r.try_get("credit")?;
        let (side, amount) = if debit >= credit {
            (Side::Debit, debit.saturating_sub(credit))
        } else {
            (Side::Credit, credit.saturating_sub(debit))
        };
        out.push(EscrowMovement {
            journal_id: JournalId(r.try_get("id")?),
            kind: kind_of(r.try_get::<&str, _>("kind")?)?,
            at: r.try_get("at")?,
            reference: r.try_get("reference")?,
            side,
            amount,
        });
    }
    Ok(out)
}
