//! The escrow ledger (存管, R-X02) and the bank reconciliation against a real PostgreSQL:
//! postings and balances, idempotent retries, the database's own guards (balance at commit,
//! append-only), concurrency on one line, and reconciliation faults.

use afterschool::bank::{self, sim, DifferenceKind, Direction};
use afterschool::ledger::{
    self, Account, JournalKind, LedgerError, LineId, Money, OrderId, Posting, TenantId,
};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

use crate::helpers::{spawn_app, TestApp};

const SCHOOL: TenantId = TenantId(11);
const AGENCY: TenantId = TenantId(12);

fn m(s: &str) -> Money {
    Money::parse(s).expect("valid amount")
}

/// 2026-10-12 10:00 CST plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 12, 2, 0, 0)
        .single()
        .expect("valid time")
        + chrono::Duration::minutes(minutes)
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 10, 12).expect("valid date")
}

/// A connection of the app role: the privileges the product really has.
async fn conn(app: &TestApp) -> PoolConnection<Postgres> {
    app.db.app.acquire().await.expect("app connection")
}

async fn pay(
    app: &TestApp,
    tenant: TenantId,
    order: i64,
    txid: &str,
    lines: &[(i64, &str)],
) -> Posting {
    let lines: Vec<(LineId, Money)> = lines.iter().map(|(l, a)| (LineId(*l), m(a))).collect();
    ledger::record_payment(
        &mut *conn(app).await,
        OrderId(order),
        tenant,
        txid,
        at(0),
        &lines,
    )
    .await
    .expect("payment recorded")
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from platform.{table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn counts(app: &TestApp) -> (i64, i64) {
    (
        count(&app.db.admin, "ledger_journals").await,
        count(&app.db.admin, "ledger_entries").await,
    )
}

async fn balance(app: &TestApp, account: Account) -> ledger::AccountBalance {
    ledger::account_balance(&mut *conn(app).await, &account)
        .await
        .expect("balance")
}

async fn assert_books_clean(app: &TestApp) {
    let report = ledger::verify_balances(&mut *conn(app).await)
        .await
        .expect("verify");
    assert!(report.is_clean(), "ledger differences: {report:?}");
}

#[tokio::test]
async fn payment_release_and_refund_move_money_between_the_right_accounts() {
    let app = spawn_app().await;
    let p = pay(
        &app,
        SCHOOL,
        1,
        "4200000001",
        &[(101, "100.00"), (102, "50.00")],
    )
    .await;
    assert_eq!(p.amount, m("150.00"));
    assert!(!p.replayed);
    let c = &mut conn(&app).await;

    ledger::release(c, LineId(101), m("30.00"), "manual-1", at(1))
        .await
        .expect("release");
    ledger::reserve_refund(c, LineId(101), m("20.00"), "R-1", at(2))
        .await
        .expect("reserve");
    let settled = ledger::settle_refund(c, "R-1", at(3))
        .await
        .expect("settle");
    assert_eq!(settled.amount, m("20.00"));

    let line = ledger::line_balance(c, LineId(101)).await.expect("line");
    assert_eq!(
        (
            line.paid,
            line.released,
            line.refund_reserved,
            line.refunded,
            line.held()
        ),
        (m("100.00"), m("30.00"), m("0.00"), m("20.00"), m("50.00"))
    );
    assert_eq!(
        balance(&app, Account::WxpayClearing).await.debit_balance(),
        m("130.00")
    );
    assert_eq!(
        balance(&app, Account::Held(SCHOOL)).await.credit_balance(),
        m("100.00")
    );
    assert_eq!(
        balance(&app, Account::Payable(SCHOOL))
            .await
            .credit_balance(),
        m("30.00")
    );
    assert_eq!(
        balance(&app, Account::RefundClearing)
            .await
            .credit_balance(),
        m("0.00")
    );

    let journal = ledger::journal(c, p.journal_id)
        .await
        .expect("read")
        .expect("journal");
    assert_eq!(journal.kind, JournalKind::Payment);
    assert_eq!(journal.entries.len(), 4);
    assert!(journal
        .entries
        .iter()
        .all(|e| e.line_id.is_some() && (e.debit.is_zero() != e.credit.is_zero())));
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn retried_postings_answer_the_first_journal_and_post_nothing() {
    let app = spawn_app().await;
    let first = pay(&app, SCHOOL, 1, "4200000002", &[(201, "90.00")]).await;
    let c = &mut conn(&app).await;
    let release = ledger::release(c, LineId(201), m("10.00"), "rel-1", at(1))
        .await
        .expect("release");
    let lesson = ledger::release_lesson(c, LineId(201), 8, "lesson-1", at(1))
        .await
        .expect("lesson");
    let reserve = ledger::reserve_refund(c, LineId(201), m("5.00"), "R-2", at(2))
        .await
        .expect("reserve");
    let settle = ledger::settle_refund(c, "R-2", at(3))
        .await
        .expect("settle");
    let bank = ledger::settle_to_bank(c, None, "S-2", m("50.00"), at(4))
        .await
        .expect("settlement");
    let out = ledger::payout(c, SCHOOL, m("10.00"), "P-2", at(5))
        .await
        .expect("payout");
    let before = counts(&app).await;

    let again = pay(&app, SCHOOL, 1, "4200000002", &[(201, "90.00")]).await;
    assert!(again.replayed);
    assert_eq!(again.journal_id, first.journal_id);
    for (retry, original) in [
        (
            ledger::release(c, LineId(201), m("10.00"), "rel-1", at(9)).await,
            &release,
        ),
        (
            ledger::release_lesson(c, LineId(201), 8, "lesson-1", at(9)).await,
            &lesson,
        ),
        (
            ledger::reserve_refund(c, LineId(201), m("5.00"), "R-2", at(9)).await,
            &reserve,
        ),
        (ledger::settle_refund(c, "R-2", at(9)).await, &settle),
        (
            ledger::settle_to_bank(c, None, "S-2", m("50.00"), at(9)).await,
            &bank,
        ),
        (
            ledger::payout(c, SCHOOL, m("10.00"), "P-2", at(9)).await,
            &out,
        ),
    ] {
        let retry = retry.expect("retry accepted");
        assert!(retry.replayed, "{retry:?}");
        assert_eq!(retry.journal_id, original.journal_id);
        assert_eq!(retry.amount, original.amount);
    }
    assert_eq!(counts(&app).await, before, "retries posted nothing");

    // A "retry" with other figures is not a retry.
    let lines = [(LineId(201), m("90.01"))];
    let err = ledger::record_payment(c, OrderId(1), SCHOOL, "4200000002", at(9), &lines)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_REFERENCE_CONFLICT");
    let err = ledger::release(c, LineId(201), m("11.00"), "rel-1", at(9))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_REFERENCE_CONFLICT");
    // Another transaction cannot pay the same line again.
    let err = ledger::record_payment(c, OrderId(2), SCHOOL, "4200000003", at(9), &lines)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_LINE_ALREADY_PAID");
    assert_eq!(counts(&app).await, before);
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn refused_postings_change_nothing_and_keep_the_callers_transaction_usable() {
    let app = spawn_app().await;
    pay(&app, SCHOOL, 1, "4200000004", &[(301, "100.00")]).await;
    let before = counts(&app).await;
    let mut tx = app.db.app.begin().await.expect("begin");

    let err = ledger::release(&mut tx, LineId(301), m("100.01"), "too-much", at(1))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::ExceedsHeld { .. }), "{err:?}");
    let err = ledger::release(&mut tx, LineId(999), m("1.00"), "nope", at(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_NOT_PAID");
    let err = ledger::settle_refund(&mut tx, "R-unknown", at(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_REFUND_NOT_FOUND");
    let err = ledger::payout(&mut tx, SCHOOL, m("1.00"), "P-x", at(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_EXCEEDS_PAYABLE");
    let err = ledger::settle_to_bank(&mut tx, None, "S-x", m("100.01"), at(1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_EXCEEDS_CLEARING");

    // The caller's transaction goes on and commits what it did after the refusals.
    ledger::release(&mut tx, LineId(301), m("100.00"), "all", at(2))
        .await
        .expect("release in the same transaction");
    tx.commit().await.expect("commit");
    assert_eq!(counts(&app).await, (before.0 + 1, before.1 + 2));
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn an_unbalanced_journal_written_by_raw_sql_is_refused_at_commit() {
    let app = spawn_app().await;
    let mut tx = app.db.admin.begin().await.expect("begin");
    let id: i64 = sqlx::query_scalar(
        "insert into platform.ledger_journals (kind, at, reference, amount)
         values ('bank_settlement', now(), 'raw-1', 10.00) returning id",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("journal insert is accepted until commit");
    for (account, debit, credit) in [
        ("bank:escrow", "10.00", "0"),
        ("wxpay:clearing", "0", "9.99"),
    ] {
        sqlx::query(
            "insert into platform.ledger_entries (journal_id, account, debit, credit)
             values ($1, $2, $3::numeric, $4::numeric)",
        )
        .bind(id)
        .bind(account)
        .bind(debit)
        .bind(credit)
        .execute(&mut *tx)
        .await
        .expect("entry insert is accepted until commit");
    }
    let err = tx.commit().await.expect_err("unbalanced journal refused");
    let db = err.as_database_error().expect("database error");
    assert_eq!(db.constraint(), Some("ledger_journal_balanced"), "{db}");
    assert_eq!(counts(&app).await, (0, 0));

    // A journal without entries is refused as well.
    let mut tx = app.db.admin.begin().await.expect("begin");
    sqlx::query(
        "insert into platform.ledger_journals (kind, at, reference, amount)
         values ('payout', now(), 'raw-2', 1.00)",
    )
    .execute(&mut *tx)
    .await
    .expect("insert");
    assert!(tx.commit().await.is_err());
    assert_eq!(counts(&app).await, (0, 0));
}

#[tokio::test]
async fn posted_entries_and_journals_cannot_be_changed_even_by_the_owner() {
    let app = spawn_app().await;
    pay(&app, SCHOOL, 1, "4200000005", &[(401, "10.00")]).await;
    for sql in [
        "update platform.ledger_entries set debit = debit + 1 where debit > 0",
        "delete from platform.ledger_entries",
        "truncate platform.ledger_entries cascade",
        "update platform.ledger_journals set amount = 1",
        "delete from platform.ledger_journals",
        "delete from platform.ledger_lines",
    ] {
        let err = sqlx::query(sql)
            .execute(&app.db.admin)
            .await
            .expect_err("refused");
        let db = err.as_database_error().expect("database error");
        assert_eq!(db.code().as_deref(), Some("42501"), "{sql}: {db}");
        assert!(db.message().contains("只可追加"), "{sql}: {db}");
    }
    // The app role has no such privilege in the first place.
    let err = sqlx::query("update platform.ledger_entries set credit = 0")
        .execute(&app.db.app)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("permission denied"), "{err}");
    assert_eq!(counts(&app).await, (1, 2));
}

#[tokio::test]
async fn racing_refund_reservations_for_one_line_only_one_wins() {
    // 8 refunds of 60 % each race for the same 100.00 line: one fits, never two.
    let app = spawn_app().await;
    pay(&app, AGENCY, 7, "4200000006", &[(501, "100.00")]).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = app.db.app.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut c = pool.acquire().await.expect("connection");
                barrier.wait().await;
                ledger::reserve_refund(
                    &mut c,
                    LineId(501),
                    m("60.00"),
                    &format!("R-race-{i}"),
                    at(1),
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => won += 1,
            Err(e) => assert_eq!(e.code(), "LEDGER_EXCEEDS_HELD", "{e:?}"),
        }
    }
    assert_eq!(won, 1);
    let line = ledger::line_balance(&mut *conn(&app).await, LineId(501))
        .await
        .expect("line");
    assert_eq!(line.refund_reserved, m("60.00"));
    assert_eq!(line.held(), m("40.00"));
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn concurrent_releases_and_refunds_on_one_line_never_exceed_paid() {
    let app = spawn_app().await;
    pay(&app, AGENCY, 8, "4200000007", &[(601, "100.00")]).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let pool = app.db.app.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut c = pool.acquire().await.expect("connection");
                barrier.wait().await;
                if i % 2 == 0 {
                    ledger::release(&mut c, LineId(601), m("15.00"), &format!("rel-{i}"), at(1))
                        .await
                } else {
                    ledger::reserve_refund(
                        &mut c,
                        LineId(601),
                        m("15.00"),
                        &format!("R-{i}"),
                        at(1),
                    )
                    .await
                }
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), "LEDGER_EXCEEDS_HELD", "{e:?}"),
        }
    }
    // 6 × 15.00 = 90.00 fits in 100.00, a 7th would not.
    assert_eq!(ok, 6);
    let line = ledger::line_balance(&mut *conn(&app).await, LineId(601))
        .await
        .expect("line");
    assert_eq!(
        line.released.checked_add(line.refund_reserved),
        Some(m("90.00"))
    );
    assert_eq!(line.held(), m("10.00"));
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn three_lessons_of_100_release_33_33_then_33_33_then_33_34() {
    // 一课一消: each delivered lesson releases its share, the last one the remainder.
    let app = spawn_app().await;
    pay(&app, AGENCY, 9, "4200000008", &[(701, "100.00")]).await;
    let c = &mut conn(&app).await;
    let mut got = vec![];
    for lesson in ["2026-10-12", "2026-10-19", "2026-10-26"] {
        let p = ledger::release_lesson(c, LineId(701), 3, lesson, at(1))
            .await
            .expect("lesson released");
        got.push(p.amount.to_string());
    }
    assert_eq!(got, ["33.33", "33.33", "33.34"]);
    // The same lesson checked in twice releases once.
    let again = ledger::release_lesson(c, LineId(701), 3, "2026-10-19", at(2))
        .await
        .expect("retry");
    assert!(again.replayed);
    let err = ledger::release_lesson(c, LineId(701), 3, "2026-11-02", at(2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_UNITS_EXHAUSTED");
    let line = ledger::line_balance(c, LineId(701)).await.expect("line");
    assert_eq!((line.released, line.held()), (m("100.00"), m("0.00")));

    // Custody per served day works the same way.
    pay(&app, SCHOOL, 10, "4200000009", &[(702, "100.00")]).await;
    let d = ledger::release_day(c, LineId(702), 7, "2026-10-12", at(3))
        .await
        .expect("day");
    assert_eq!(d.amount, m("14.28"));
    let err = ledger::release_lesson(c, LineId(702), 7, "x", at(3))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_RELEASE_RULE_MISMATCH");
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn a_cancelled_refund_returns_to_held_and_cannot_then_be_settled() {
    let app = spawn_app().await;
    pay(
        &app,
        SCHOOL,
        11,
        "4200000010",
        &[(801, "60.00"), (802, "40.00")],
    )
    .await;
    let c = &mut conn(&app).await;
    // One refund number over two lines of the order.
    ledger::reserve_refund(c, LineId(801), m("60.00"), "R-11", at(1))
        .await
        .expect("reserve 801");
    ledger::reserve_refund(c, LineId(802), m("40.00"), "R-11", at(1))
        .await
        .expect("reserve 802");
    let cancelled = ledger::cancel_refund(c, "R-11", at(2))
        .await
        .expect("cancel");
    assert_eq!(cancelled.amount, m("100.00"));
    for l in [801, 802] {
        let line = ledger::line_balance(c, LineId(l)).await.expect("line");
        assert_eq!(line.held(), line.paid);
    }
    let err = ledger::settle_refund(c, "R-11", at(3)).await.unwrap_err();
    assert_eq!(err.code(), "LEDGER_REFUND_CANCELLED");
    let err = ledger::reserve_refund(c, LineId(801), m("1.00"), "R-11", at(3))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "LEDGER_REFUND_CANCELLED");
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn tenant_statement_totals_each_kind_and_line() {
    let app = spawn_app().await;
    pay(
        &app,
        SCHOOL,
        12,
        "4200000011",
        &[(901, "100.00"), (902, "80.00")],
    )
    .await;
    pay(&app, AGENCY, 13, "4200000012", &[(903, "999.00")]).await;
    let c = &mut conn(&app).await;
    ledger::release(c, LineId(901), m("25.00"), "r1", at(1))
        .await
        .expect("release");
    ledger::reserve_refund(c, LineId(902), m("30.00"), "R-12", at(2))
        .await
        .expect("reserve");
    ledger::settle_refund(c, "R-12", at(3))
        .await
        .expect("settle");
    ledger::reserve_refund(c, LineId(902), m("10.00"), "R-13", at(4))
        .await
        .expect("reserve");
    ledger::settle_to_bank(c, None, "S-12", m("150.00"), at(5))
        .await
        .expect("settle to bank");
    ledger::payout(c, SCHOOL, m("20.00"), "P-12", at(6))
        .await
        .expect("payout");
    // After the period: not counted.
    ledger::release(c, LineId(901), m("5.00"), "r2", at(60 * 24))
        .await
        .expect("later release");

    let s = ledger::tenant_statement(c, SCHOOL, at(-60), at(60))
        .await
        .expect("statement");
    let t = &s.totals;
    assert_eq!(t.paid, m("180.00"));
    assert_eq!(t.released, m("25.00"));
    assert_eq!(t.refunds_reserved, m("40.00"));
    assert_eq!(t.refunds_settled, m("30.00"));
    assert_eq!(t.refunds_cancelled, m("0.00"));
    assert_eq!(t.paid_out, m("20.00"));
    assert_eq!(t.held_at_end, m("115.00"));
    assert_eq!(t.payable_at_end, m("5.00"));
    let lines: Vec<(i64, String, String)> = s
        .lines
        .iter()
        .map(|l| {
            (
                l.line_id.0,
                l.released.to_string(),
                l.held_at_end.to_string(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (901, "25.00".into(), "75.00".into()),
            (902, "0.00".into(), "40.00".into())
        ]
    );
    assert_eq!(s.lines[1].refunds_settled, m("30.00"));
    assert_books_clean(&app).await;
}

#[tokio::test]
async fn reconciliation_matches_a_clean_day_and_names_each_injected_fault() {
    let app = spawn_app().await;
    pay(&app, SCHOOL, 14, "4200000013", &[(1001, "500.00")]).await;
    let c = &mut conn(&app).await;
    let acct = sim::ESCROW_ACCOUNT_NO;
    ledger::release(c, LineId(1001), m("200.00"), "r", at(1))
        .await
        .expect("release");
    // The ledger's side of the day...
    ledger::settle_to_bank(c, None, "S-100", m("500.00"), at(10))
        .await
        .expect("settlement");
    ledger::payout(c, SCHOOL, m("150.00"), "P-100", at(20))
        .await
        .expect("payout");
    ledger::fund_refunds(c, "F-100", m("30.00"), at(30))
        .await
        .expect("refund funding");
    // ...and the bank's.
    let s = sim::credit_settlement(c, acct, day(), m("500.00"), "S-100", at(10))
        .await
        .expect("credit");
    let p = sim::debit_payout(c, acct, day(), m("150.00"), "P-100", "石岐实验小学", at(20))
        .await
        .expect("debit");
    sim::debit_refund(c, acct, day(), m("30.00"), "F-100", at(30))
        .await
        .expect("debit");
    // A repeated instruction is the same bank line.
    let again = sim::credit_settlement(c, acct, day(), m("500.00"), "S-100", at(11))
        .await
        .expect("repeat");
    assert_eq!(again.id, s.id);

    let clean = bank::reconcile(c, acct, day(), at(600))
        .await
        .expect("reconcile");
    assert_eq!(clean.matched, 3);
    assert!(clean.is_clean(), "{clean:?}");
    let feed = sim::statement_feed(c, acct, day()).await.expect("feed");
    assert_eq!(
        (feed.total_credit, feed.total_debit, feed.lines.len()),
        (m("500.00"), m("180.00"), 3)
    );

    // Faults: the bank loses the payout, books another settlement amount, and shows a line
    // nobody instructed.
    sim::drop_line(c, p.id).await.expect("drop");
    sim::change_amount(c, s.id, m("499.99"))
        .await
        .expect("change");
    sim::add_unknown_line(c, acct, day(), Direction::Credit, m("8.00"), "X-1", at(40))
        .await
        .expect("unknown line");
    let report = bank::reconcile(c, acct, day(), at(601))
        .await
        .expect("reconcile");
    assert_eq!(report.matched, 1);
    let found: Vec<(DifferenceKind, &str, Option<Money>, Option<Money>)> = report
        .differences
        .iter()
        .map(|d| (d.kind, d.reference.as_str(), d.bank_amount, d.ledger_amount))
        .collect();
    assert_eq!(
        found,
        [
            (
                DifferenceKind::AmountMismatch,
                "S-100",
                Some(m("499.99")),
                Some(m("500.00"))
            ),
            (
                DifferenceKind::MissingInLedger,
                "X-1",
                Some(m("8.00")),
                None
            ),
            (
                DifferenceKind::MissingInBank,
                "P-100",
                None,
                Some(m("150.00"))
            ),
        ]
    );
    // Another day's reconciliation does not see these movements.
    let other = bank::reconcile(c, acct, day().succ_opt().expect("day"), at(602))
        .await
        .expect("reconcile");
    assert_eq!((other.matched, other.differences.len()), (0, 0));

    let runs = bank::reconcile::runs(c, acct, day()).await.expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].differences, report.differences);
    assert_eq!(runs[1].matched, 3);
    let err = sqlx::query("delete from platform.reconciliation_runs")
        .execute(&app.db.admin)
        .await
        .expect_err("runs are kept");
    assert!(err.to_string().contains("只可追加"), "{err}");
}

#[tokio::test]
async fn verify_balances_reports_a_running_balance_that_disagrees_with_the_entries() {
    let app = spawn_app().await;
    pay(
        &app,
        SCHOOL,
        15,
        "4200000014",
        &[(1101, "80.00"), (1102, "20.00")],
    )
    .await;
    ledger::release_day(&mut *conn(&app).await, LineId(1101), 4, "2026-10-12", at(1))
        .await
        .expect("day");
    assert_books_clean(&app).await;
    // Someone with owner rights edits a running balance (entries cannot be edited).
    sqlx::query(
        "update platform.ledger_lines set released = 0, units_released = 0 where line_id = 1101",
    )
    .execute(&app.db.admin)
    .await
    .expect("lines are a mutable cache");
    let report = ledger::verify_balances(&mut *conn(&app).await)
        .await
        .expect("verify");
    assert_eq!(report.lines_checked, 2);
    assert_eq!(report.differences.len(), 1);
    let d = &report.differences[0];
    assert_eq!(d.line_id, LineId(1101));
    assert_eq!(d.computed.released, m("20.00"));
    assert_eq!(d.stored.map(|s| s.released), Some(m("0.00")));
    assert_eq!((d.units_stored, d.units_from_journals), (0, 1));
    assert!(report.unbalanced_journals.is_empty());
}
