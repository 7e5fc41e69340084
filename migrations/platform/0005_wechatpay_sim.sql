-- WeChat Pay APIv3: replay protection for signed messages, and the embedded simulator's own
-- books (issue #6, items 2 and 3).
--
-- `wxpay_nonces` is used in every mode: the nonce of each verified response or callback is
-- kept for 10 minutes (twice the ±5 minute timestamp window), so a replayed message is
-- refused after a restart and on any app server.
--
-- The `wxpay_sim_*` tables are the simulator's merchant ledger, the state the real platform
-- keeps on its side: its keys, the merchants it knows, orders, refunds and the queue of
-- callbacks it owes. Nothing in the payments domain reads them; it learns everything
-- through the protocol. The simulator's keys guard nothing real and are kept in clear so
-- restarts and every server of a fleet sign with the same keys.
--
-- Privileges are granted by the role bootstrap (`afterschool::wechatpay::APP_GRANTS`).

create table platform.wxpay_nonces (
    scope   text not null check (length(scope) <= 32),
    nonce   text not null check (length(nonce) <= 128),
    seen_at timestamptz not null,
    primary key (scope, nonce)
);
create index wxpay_nonces_seen_at on platform.wxpay_nonces (seen_at);

-- The simulated platform's signing key: one public-key id and one certificate serial
-- name the same key (public-key mode and platform-certificate mode).
create table platform.wxpay_sim_platform (
    id              smallint primary key check (id = 1),
    public_key_id   text not null check (public_key_id like 'PUB\_KEY\_ID\_%'),
    private_key_pem text not null,
    public_key_pem  text not null,
    cert_serial     text not null check (cert_serial ~ '^[0-9A-F]+$'),
    cert_pem        text not null,
    created_at      timestamptz not null
);

-- Merchants the simulator knows, with the key material a real merchant would get from the
-- merchant platform (API certificate key and serial, APIv3 key).
create table platform.wxpay_sim_merchants (
    mchid           text primary key check (mchid ~ '^[0-9]{1,32}$'),
    appid           text not null,
    name            text not null,
    serial_no       text not null,
    private_key_pem text not null,
    public_key_pem  text not null,
    apiv3_key       text not null check (length(apiv3_key) = 32),
    created_at      timestamptz not null
);

create table platform.wxpay_sim_orders (
    id              bigint generated always as identity primary key,
    mchid           text not null references platform.wxpay_sim_merchants (mchid),
    out_trade_no    text not null,
    appid           text not null,
    trade_type      text not null check (trade_type in ('JSAPI', 'MWEB')),
    prepay_id       text not null unique,
    -- The order's parameters as first received: a repeat with the same parameters gets
    -- the same prepay_id, one with different parameters is refused.
    request         jsonb not null,
    description     text not null,
    attach          text,
    notify_url      text not null,
    total           bigint not null check (total > 0),
    currency        text not null,
    payer_openid    text,
    time_expire     timestamptz,
    trade_state     text not null check (trade_state in
                        ('SUCCESS', 'REFUND', 'NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR')),
    transaction_id  text unique,
    success_time    timestamptz,
    created_at      timestamptz not null,
    updated_at      timestamptz not null,
    unique (mchid, out_trade_no)
);

create table platform.wxpay_sim_refunds (
    id              bigint generated always as identity primary key,
    mchid           text not null references platform.wxpay_sim_merchants (mchid),
    out_refund_no   text not null,
    refund_id       text not null unique,
    order_id        bigint not null references platform.wxpay_sim_orders (id),
    request         jsonb not null,
    reason          text,
    notify_url      text,
    refund          bigint not null check (refund > 0),
    total           bigint not null check (total > 0),
    currency        text not null,
    status          text not null check (status in ('SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL')),
    -- What the refund ends as when it completes (the fault control can make it fail).
    outcome         text not null check (outcome in ('SUCCESS', 'CLOSED', 'ABNORMAL')),
    complete_at     timestamptz not null,
    success_time    timestamptz,
    created_at      timestamptz not null,
    unique (mchid, out_refund_no)
);
create index wxpay_sim_refunds_order on platform.wxpay_sim_refunds (order_id);
create index wxpay_sim_refunds_due on platform.wxpay_sim_refunds (complete_at)
    where status = 'PROCESSING';

-- Callbacks owed to merchants. `body` is the exact envelope posted (its resource already
-- encrypted); each attempt is signed afresh. `copies` > 1 delivers the same notification
-- that many times at once (fault control: duplicate callbacks).
create table platform.wxpay_sim_notifications (
    id              bigint generated always as identity primary key,
    notify_id       text not null unique,
    mchid           text not null references platform.wxpay_sim_merchants (mchid),
    event_type      text not null,
    url             text not null,
    body            text not null,
    copies          int not null default 1 check (copies between 1 and 20),
    state           text not null default 'pending' check (state in ('pending', 'delivered', 'failed')),
    attempts        int not null default 0,
    next_attempt_at timestamptz not null,
    last_status     int,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz not null
);
create index wxpay_sim_notifications_due on platform.wxpay_sim_notifications (next_attempt_at)
    where state = 'pending';
