//! The custodian bank simulator: books credits and debits on an escrow account and serves
//! the day's statement, the way the bank's fund-flow feed would.
//!
//! Owns `platform.bank_statement_lines`, which stands for the bank's own books. It is the
//! embedded default for demo, development and tests (the real bank cannot be reached from
//! here); a production configuration must not point at it. Protocol-simple on purpose: a
//! line is (account, value date, direction, amount, counterparty, reference, memo), which
//! is what reconciliation needs from any bank's statement.
//!
//! Must never read or write the ledger: the bank knows only what it was instructed, and
//! reconciliation compares the two sides. The fault injection functions ([`drop_line`],
//! [`change_amount`], [`add_unknown_line`]) exist for tests and demos of reconciliation.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgConnection, Row};

use super::error::BankError;
use super::model::{Direction, StatementFeed, StatementLine};
use crate::ledger::Money;

/// The simulated escrow account of the platform at the custodian bank.
pub const ESCROW_ACCOUNT_NO: &str = "6228480000000000018";
/// Counterparty of WeChat Pay's settlements and refund transfers.
pub const TENPAY: &str = "财付通支付科技有限公司";

/// One instruction to the simulated bank.
#[derive(Debug, Clone)]
pub struct Booking<'a> {
    pub account_no: &'a str,
    pub value_date: NaiveDate,
    pub direction: Direction,
    pub amount: Money,
    pub counterparty: &'a str,
    pub reference: &'a str,
    pub memo: &'a str,
}

fn validate(b: &Booking<'_>) -> Result<(), BankError> {
    let n = b.account_no.len();
    if !(6..=32).contains(&n) || !b.account_no.bytes().all(|c| c.is_ascii_digit()) {
        return Err(BankError::Invalid(
            "account number is 6 to 32 digits".into(),
        ));
    }
    let printable = |s: &str, max: usize| {
        let len = s.chars().count();
        len >= 1 && len <= max && !s.chars().any(char::is_control)
    };
    if !printable(b.reference, 128) {
        return Err(BankError::Invalid(
            "reference is 1 to 128 printable characters".into(),
        ));
    }
    if !printable(b.counterparty, 200) {
        return Err(BankError::Invalid(
            "counterparty is 1 to 200 characters".into(),
        ));
    }
    if b.memo.chars().count() > 500 {
        return Err(BankError::Invalid("memo is at most 500 characters".into()));
    }
    if b.amount.is_zero() {
        return Err(BankError::Invalid("amount must be above zero".into()));
    }
    Ok(())
}

const COLUMNS: &str =
    "id, account_no, value_date, direction, amount, counterparty, reference, memo, created_at";

fn line_from_row(r: &sqlx::postgres::PgRow) -> Result<StatementLine, BankError> {
    let direction: &str = r.try_get("direction")?;
    Ok(StatementLine {
        id: r.try_get("id")?,
        account_no: r.try_get("account_no")?,
        value_date: r.try_get("value_date")?,
        direction: Direction::parse(direction)
            .ok_or_else(|| BankError::Corrupt(format!("unknown direction {direction}")))?,
        amount: r.try_get("amount")?,
        counterparty: r.try_get("counterparty")?,
        reference: r.try_get("reference")?,
        memo: r.try_get("memo")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Books an instruction. The bank books a reference once per account and direction: a
/// repeated instruction answers the line already booked, one with another amount is
/// refused (`BANK_REFERENCE_CONFLICT`).
pub async fn book(
    conn: &mut PgConnection,
    b: &Booking<'_>,
    at: DateTime<Utc>,
) -> Result<StatementLine, BankError> {
    validate(b)?;
    let inserted = sqlx::query(&format!(
        "insert into platform.bank_statement_lines
             (account_no, value_date, direction, amount, counterparty, reference, memo, created_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict do nothing
         returning {COLUMNS}"
    ))
    .bind(b.account_no)
    .bind(b.value_date)
    .bind(b.direction.as_str())
    .bind(b.amount)
    .bind(b.counterparty)
    .bind(b.reference)
    .bind(b.memo)
    .bind(at)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = inserted {
        return line_from_row(&row);
    }
    let row = sqlx::query(&format!(
        "select {COLUMNS} from platform.bank_statement_lines
         where account_no = $1 and direction = $2 and reference = $3"
    ))
    .bind(b.account_no)
    .bind(b.direction.as_str())
    .bind(b.reference)
    .fetch_one(&mut *conn)
    .await?;
    let existing = line_from_row(&row)?;
    if existing.amount != b.amount {
        return Err(BankError::ReferenceConflict(b.reference.to_owned()));
    }
    Ok(existing)
}

/// WeChat Pay's settlement arrives on the escrow account (a credit from Tenpay).
pub async fn credit_settlement(
    conn: &mut PgConnection,
    account_no: &str,
    value_date: NaiveDate,
    amount: Money,
    reference: &str,
    at: DateTime<Utc>,
) -> Result<StatementLine, BankError> {
    let b = Booking {
        account_no,
        value_date,
        direction: Direction::Credit,
        amount,
        counterparty: TENPAY,
        reference,
        memo: "微信支付结算资金",
    };
    book(conn, &b, at).await
}

/// A transfer from the escrow account to a school or agency (a debit).
pub async fn debit_payout(
    conn: &mut PgConnection,
    account_no: &str,
    value_date: NaiveDate,
    amount: Money,
    reference: &str,
    payee: &str,
    at: DateTime<Utc>,
) -> Result<StatementLine, BankError> {
    let b = Booking {
        account_no,
        value_date,
        direction: Direction::Debit,
        amount,
        counterparty: payee,
        reference,
        memo: "存管资金结算给机构",
    };
    book(conn, &b, at).await
}

/// Money sent from the escrow account back to WeChat Pay to fund refunds (a debit to
/// Tenpay).
pub async fn debit_refund(
    conn: &mut PgConnection,
    account_no: &str,
    value_date: NaiveDate,
    amount: Money,
    reference: &str,
    at: DateTime<Utc>,
) -> Result<StatementLine, BankError> {
    let b = Booking {
        account_no,
        value_date,
        direction: Direction::Debit,
        amount,
        counterparty: TENPAY,
        reference,
        memo: "退款资金划回微信支付",
    };
    book(conn, &b, at).await
}

/// The lines of one account for one value date, in booking order.
pub async fn statement(
    conn: &mut PgConnection,
    account_no: &str,
    date: NaiveDate,
) -> Result<Vec<StatementLine>, BankError> {
    let rows = sqlx::query(&format!(
        "select {COLUMNS} from platform.bank_statement_lines
         where account_no = $1 and value_date = $2 order by id"
    ))
    .bind(account_no)
    .bind(date)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(line_from_row).collect()
}

/// The day's statement with its totals: what the JSON fund-flow feed endpoint answers.
pub async fn statement_feed(
    conn: &mut PgConnection,
    account_no: &str,
    date: NaiveDate,
) -> Result<StatementFeed, BankError> {
    let lines = statement(conn, account_no, date).await?;
    let total = |d: Direction| {
        Money::checked_sum(lines.iter().filter(|l| l.direction == d).map(|l| l.amount))
            .ok_or_else(|| BankError::Corrupt("statement total above the limit".into()))
    };
    Ok(StatementFeed {
        account_no: account_no.to_owned(),
        value_date: date,
        total_credit: total(Direction::Credit)?,
        total_debit: total(Direction::Debit)?,
        lines,
    })
}

/// Fault injection: the bank "loses" a line (it never shows on the statement).
pub async fn drop_line(conn: &mut PgConnection, id: i64) -> Result<(), BankError> {
    let done = sqlx::query("delete from platform.bank_statement_lines where id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(BankError::LineNotFound(id));
    }
    Ok(())
}

/// Fault injection: the bank books a line with another amount.
pub async fn change_amount(
    conn: &mut PgConnection,
    id: i64,
    amount: Money,
) -> Result<(), BankError> {
    if amount.is_zero() {
        return Err(BankError::Invalid("amount must be above zero".into()));
    }
    let done = sqlx::query("update platform.bank_statement_lines set amount = $2 where id = $1")
        .bind(id)
        .bind(amount)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(BankError::LineNotFound(id));
    }
    Ok(())
}

/// Fault injection: a line the platform never instructed (an unknown payer, a bank fee).
pub async fn add_unknown_line(
    conn: &mut PgConnection,
    account_no: &str,
    value_date: NaiveDate,
    direction: Direction,
    amount: Money,
    reference: &str,
    at: DateTime<Utc>,
) -> Result<StatementLine, BankError> {
    let b = Booking {
        account_no,
        value_date,
        direction,
        amount,
        counterparty: "未知交易对手",
        reference,
        memo: "未识别的交易",
    };
    book(conn, &b, at).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking<'a>(account_no: &'a str, reference: &'a str, fen: i64) -> Booking<'a> {
        Booking {
            account_no,
            value_date: NaiveDate::from_ymd_opt(2026, 10, 12).unwrap(),
            direction: Direction::Credit,
            amount: Money::from_fen(fen).unwrap(),
            counterparty: TENPAY,
            reference,
            memo: "",
        }
    }

    #[test]
    fn instructions_are_validated_before_booking() {
        assert!(validate(&booking(ESCROW_ACCOUNT_NO, "S1", 100)).is_ok());
        for (acc, r, fen) in [
            ("12345", "S1", 100),
            ("62284800000000000x", "S1", 100),
            (ESCROW_ACCOUNT_NO, "", 100),
            (ESCROW_ACCOUNT_NO, "a\tb", 100),
            (ESCROW_ACCOUNT_NO, "S1", 0),
        ] {
            let e = validate(&booking(acc, r, fen)).unwrap_err();
            assert_eq!(e.code(), "BANK_INVALID", "{acc} {r} {fen}");
        }
    }
}
