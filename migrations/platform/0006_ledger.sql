-- The escrow ledger (存管, R-X02; issue #6 items 4 and 6): a double-entry, append-only
-- ledger tracing each yuan from the payer through the order line to the payee, the
-- custodian bank simulator's statement, and the daily reconciliation runs.
--
-- Accounts are text codes (see `afterschool::ledger`): `wxpay:clearing`, `bank:escrow`,
-- `held:<tenant_id>`, `payable:<tenant_id>`, `refund:clearing`. Amounts are yuan,
-- numeric(14,2), never negative: the side of an entry says which way money moved.
--
-- Guarantees kept by the database itself, whatever the code does:
--   * every journal balances (sum of debits = sum of credits = the journal's amount, at
--     least two entries), checked by deferred constraint triggers when the transaction
--     commits, so a journal is written in several statements but never left unbalanced;
--   * journals and entries are never updated, deleted or truncated, by anybody (a mistake
--     is corrected by a new posting);
--   * each posting has an idempotency key (kind, reference, line): a retried posting finds
--     the first one instead of posting twice.
-- No foreign keys into tenant schemas (design.md): tenant, order and line ids are plain
-- numbers owned by the payments domain.
--
-- Privileges are granted by the role bootstrap (`afterschool::ledger::APP_GRANTS`).

create table platform.ledger_lines (
    line_id          bigint primary key,
    tenant_id        bigint not null,
    order_id         bigint not null,
    paid             numeric(14,2) not null check (paid > 0),
    released         numeric(14,2) not null default 0 check (released >= 0),
    refund_reserved  numeric(14,2) not null default 0 check (refund_reserved >= 0),
    refunded         numeric(14,2) not null default 0 check (refunded >= 0),
    -- The release rule of the line once a lesson or day has been released (一课一消).
    release_unit     text check (release_unit in ('lesson', 'day')),
    units_total      int check (units_total > 0),
    units_released   int not null default 0 check (units_released >= 0),
    created_at       timestamptz not null,
    updated_at       timestamptz not null,
    -- The unreleased part (held) is what is left: it can never go negative.
    constraint ledger_lines_within_paid check (released + refund_reserved + refunded <= paid),
    check (units_total is null or units_released <= units_total),
    check ((release_unit is null) = (units_total is null))
);
create index ledger_lines_tenant on platform.ledger_lines (tenant_id);
create index ledger_lines_order on platform.ledger_lines (order_id);

create table platform.ledger_journals (
    id          bigint generated always as identity primary key,
    kind        text not null check (kind in (
                    'payment', 'release', 'release_lesson', 'release_day',
                    'refund_reserve', 'refund_settle', 'refund_cancel',
                    'bank_settlement', 'bank_refund_funding', 'payout')),
    at          timestamptz not null,
    order_id    bigint,
    -- Set for postings on one line (releases, refund reservations); null for postings keyed
    -- by their reference alone (payments, refund settlements and cancellations, bank).
    line_id     bigint references platform.ledger_lines (line_id),
    tenant_id   bigint,
    -- transaction_id, out_refund_no, lesson or day key, bank reference
    reference   text not null check (length(reference) between 1 and 128),
    -- Sum of the debits (= sum of the credits), checked at commit.
    amount      numeric(14,2) not null check (amount > 0),
    memo        text not null default '' check (length(memo) <= 500),
    created_at  timestamptz not null default now()
);
-- unique (kind, reference, line_id) with "no line" counting as one value, so a retried
-- payment collides too; written with coalesce rather than NULLS NOT DISTINCT so it works
-- on every supported PostgreSQL. `insert ... on conflict do nothing` uses it.
create unique index ledger_journals_key
    on platform.ledger_journals (kind, reference, coalesce(line_id, 0));
create index ledger_journals_line on platform.ledger_journals (line_id) where line_id is not null;
create index ledger_journals_tenant_at on platform.ledger_journals (tenant_id, at);
create index ledger_journals_at on platform.ledger_journals (at);

create table platform.ledger_entries (
    id          bigint generated always as identity primary key,
    journal_id  bigint not null references platform.ledger_journals (id),
    account     text not null check (account ~
                    '^(wxpay:clearing|bank:escrow|refund:clearing|held:[0-9]{1,18}|payable:[0-9]{1,18})$'),
    line_id     bigint references platform.ledger_lines (line_id),
    debit       numeric(14,2) not null default 0 check (debit >= 0),
    credit      numeric(14,2) not null default 0 check (credit >= 0),
    -- exactly one side is non-zero
    constraint ledger_entries_one_side check ((debit = 0) <> (credit = 0)),
    -- held and reserved money is always traced to its line
    constraint ledger_entries_line_traced check (
        line_id is not null or (account !~ '^held:' and account <> 'refund:clearing'))
);
create index ledger_entries_journal on platform.ledger_entries (journal_id);
create index ledger_entries_account on platform.ledger_entries (account);
create index ledger_entries_line on platform.ledger_entries (line_id) where line_id is not null;

-- Checks the journal of the inserted row balances. Deferred to commit: a posting inserts
-- its journal first and its entries after. SECURITY DEFINER with a fixed search path: the
-- check runs at commit under whatever role the transaction holds then (a tenant request
-- that paid something commits under its tenant role, which may not read the ledger).
create or replace function platform.ledger_check_balanced() returns trigger
language plpgsql security definer set search_path = pg_catalog, platform as $$
declare
    j   bigint;
    d   numeric;
    c   numeric;
    n   bigint;
    amt numeric;
begin
    if tg_table_name = 'ledger_journals' then
        j := new.id;
    else
        j := new.journal_id;
    end if;
    select coalesce(sum(debit), 0), coalesce(sum(credit), 0), count(*)
      into d, c, n
      from platform.ledger_entries where journal_id = j;
    select amount into amt from platform.ledger_journals where id = j;
    if n < 2 or d <> c or d <> amt then
        raise exception '账目不平衡：凭证 % 借方 % 贷方 % 金额 % 分录 % 条', j, d, c, amt, n
            using errcode = 'check_violation', constraint = 'ledger_journal_balanced';
    end if;
    return null;
end $$;

create constraint trigger ledger_journals_balanced
    after insert on platform.ledger_journals
    deferrable initially deferred
    for each row execute function platform.ledger_check_balanced();
create constraint trigger ledger_entries_balanced
    after insert on platform.ledger_entries
    deferrable initially deferred
    for each row execute function platform.ledger_check_balanced();

create or replace function platform.ledger_forbid_change() returns trigger
language plpgsql as $$
begin
    raise exception '账本只可追加，禁止 % (%.%)', tg_op, tg_table_schema, tg_table_name
        using errcode = 'insufficient_privilege';
end $$;

create trigger ledger_journals_no_update before update on platform.ledger_journals
    for each row execute function platform.ledger_forbid_change();
create trigger ledger_journals_no_delete before delete on platform.ledger_journals
    for each row execute function platform.ledger_forbid_change();
create trigger ledger_journals_no_truncate before truncate on platform.ledger_journals
    for each statement execute function platform.ledger_forbid_change();
create trigger ledger_entries_no_update before update on platform.ledger_entries
    for each row execute function platform.ledger_forbid_change();
create trigger ledger_entries_no_delete before delete on platform.ledger_entries
    for each row execute function platform.ledger_forbid_change();
create trigger ledger_entries_no_truncate before truncate on platform.ledger_entries
    for each statement execute function platform.ledger_forbid_change();
-- Running balances change with every posting but are never removed.
create trigger ledger_lines_no_delete before delete on platform.ledger_lines
    for each row execute function platform.ledger_forbid_change();
create trigger ledger_lines_no_truncate before truncate on platform.ledger_lines
    for each statement execute function platform.ledger_forbid_change();

-- The custodian bank simulator's statement (`afterschool::bank::sim`): what the bank says
-- happened on an account. The bank is an outside party; this table stands in for it in
-- demo, development and tests, and its fault injection edits and removes lines, so it is
-- deliberately not append-only.
create table platform.bank_statement_lines (
    id            bigint generated always as identity primary key,
    account_no    text not null check (account_no ~ '^[0-9]{6,32}$'),
    value_date    date not null,
    direction     text not null check (direction in ('credit', 'debit')),
    amount        numeric(14,2) not null check (amount > 0),
    counterparty  text not null check (length(counterparty) between 1 and 200),
    reference     text not null check (length(reference) between 1 and 128),
    memo          text not null default '' check (length(memo) <= 500),
    created_at    timestamptz not null
);
-- The bank books a reference once per direction; a repeated instruction is the same line.
create unique index bank_statement_lines_reference
    on platform.bank_statement_lines (account_no, direction, reference);
create index bank_statement_lines_day
    on platform.bank_statement_lines (account_no, value_date);

-- One row per reconciliation of a day's statement against the ledger: a report, kept.
create table platform.reconciliation_runs (
    id            bigint generated always as identity primary key,
    account_no    text not null,
    value_date    date not null,
    matched       int not null check (matched >= 0),
    differences   jsonb not null check (jsonb_typeof(differences) = 'array'),
    at            timestamptz not null
);
create index reconciliation_runs_day on platform.reconciliation_runs (value_date, at);

create trigger reconciliation_runs_no_update before update on platform.reconciliation_runs
    for each row execute function platform.ledger_forbid_change();
create trigger reconciliation_runs_no_delete before delete on platform.reconciliation_runs
    for each row execute function platform.ledger_forbid_change();
create trigger reconciliation_runs_no_truncate before truncate on platform.reconciliation_runs
    for each statement execute function platform.ledger_forbid_change();
