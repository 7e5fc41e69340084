-- Refund batches (issue #16, R-T13, R-S08): a school admin gives back, in one action, the
-- paid days of approved stops and the days the canteen stopped serving after they were
-- ordered (a closure or an excluded day added later). The money moves in the platform's
-- refunds and ledger; these tables say which order days each refund gave back.
create table meal_refund_batches (
    id           bigint generated always as identity primary key,
    -- the ordering period the batch was run for; null for every period
    period_start date,
    -- WeChat refunds sent (one per original payment), days given back, yuan in all
    refunds      integer not null default 0 check (refunds >= 0),
    days         integer not null default 0 check (days >= 0),
    amount       numeric(12, 2) not null default 0 check (amount >= 0),
    created_by   bigint not null,
    created_at   timestamptz not null
);
create index meal_refund_batches_at on meal_refund_batches (created_at desc);

-- A paid day of an order given back: once at most (the key), whatever the cause and
-- however many batches run.
create table meal_refund_days (
    meal_order_id bigint not null references meal_orders (id),
    day           date   not null,
    batch_id      bigint not null references meal_refund_batches (id),
    -- the approved stop it was given back for; null when the canteen stopped serving it
    stop_id       bigint references meal_stops (id),
    -- the refund (platform.refunds) that carries it
    refund_id     bigint not null,
    amount        numeric(8, 2) not null check (amount > 0),
    status        text   not null default 'processing'
                  check (status in ('processing', 'refunded', 'failed')),
    primary key (meal_order_id, day)
);
create index meal_refund_days_refund on meal_refund_days (refund_id);
create index meal_refund_days_stop on meal_refund_days (stop_id) where stop_id is not null;
