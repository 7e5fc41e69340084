-- Payments (issue #6; R-P06, R-S08, R-X02): orders a parent pays with WeChat Pay, their
-- lines (one per held enrollment), refunds, and the callbacks received.
--
-- Money lives in `platform` because the escrow account and its ledger
-- (`0006_ledger.sql`) span every school and agency; each row names its tenant. Enrollment
-- ids point into the tenant's schema and carry no foreign key (design: none from
-- `platform` into a tenant schema).
--
-- Privileges are granted by the role bootstrap (`afterschool::payments::APP_GRANTS`).

-- The parent's openid for the merchant's app id, from WeChat's snsapi_base OAuth.
create table platform.wx_openids (
    account_id bigint not null references platform.accounts (id),
    appid      text not null,
    openid     text not null,
    bound_at   timestamptz not null,
    primary key (account_id, appid)
);

create table platform.payment_orders (
    id              bigint generated always as identity primary key,
    -- WeChat's rule: 6-32 characters of [0-9A-Za-z_-|*], unique per merchant.
    out_trade_no    text not null unique check (out_trade_no ~ '^[0-9A-Za-z_|*-]{6,32}$'),
    tenant_id       bigint not null references platform.tenants (id),
    account_id      bigint not null references platform.accounts (id),
    -- The client's key: a retried "create order" returns the same order.
    idempotency_key text not null check (length(idempotency_key) between 8 and 64),
    channel         text not null check (channel in ('jsapi', 'h5')),
    description     text not null check (length(description) between 1 and 127),
    amount          numeric(14, 2) not null check (amount > 0),
    status          text not null default 'created' check (status in ('created', 'paid', 'closed')),
    prepay_id       text,
    h5_url          text,
    payer_openid    text,
    transaction_id  text unique,
    expires_at      timestamptz not null,
    created_at      timestamptz not null,
    paid_at         timestamptz,
    closed_at       timestamptz,
    close_reason    text,
    unique (account_id, idempotency_key),
    check ((status = 'paid') = (transaction_id is not null and paid_at is not null))
);
create index payment_orders_open on platform.payment_orders (expires_at) where status = 'created';
create index payment_orders_tenant on platform.payment_orders (tenant_id, created_at);

create table platform.order_lines (
    id            bigint generated always as identity primary key,
    order_id      bigint not null references platform.payment_orders (id),
    tenant_id     bigint not null references platform.tenants (id),
    enrollment_id bigint not null,
    student_id    bigint not null,
    course_id     bigint not null,
    description   text not null,
    amount        numeric(14, 2) not null check (amount > 0),
    -- How the escrow releases it to the payee: per delivered lesson (一课一消) or per
    -- served custody day, `units` of them in all.
    release_rule  text not null check (release_rule in ('per_lesson', 'per_day')),
    units         integer not null check (units > 0),
    -- False once its order is closed unpaid: an enrollment has one live line at most.
    live          boolean not null default true
);
create unique index order_lines_one_live on platform.order_lines (tenant_id, enrollment_id) where live;
create index order_lines_order on platform.order_lines (order_id);

create table platform.refunds (
    id                bigint generated always as identity primary key,
    out_refund_no     text not null unique check (out_refund_no ~ '^[0-9A-Za-z_|*@-]{1,64}$'),
    order_id          bigint not null references platform.payment_orders (id),
    line_id           bigint not null references platform.order_lines (id),
    tenant_id         bigint not null references platform.tenants (id),
    amount            numeric(14, 2) not null check (amount > 0),
    reason            text not null check (length(reason) between 1 and 80),
    -- An approved withdrawal (the tenant's refund_requests row), a school admin, or the
    -- platform itself (paid after the place was given up).
    source            text not null check (source in ('withdrawal', 'admin', 'auto')),
    refund_request_id bigint,
    -- 申请中 → 退款中 → 已到账 / 异常 / 已关闭
    status            text not null default 'requested'
                      check (status in ('requested', 'processing', 'succeeded', 'abnormal', 'closed')),
    wx_refund_id      text,
    created_by        bigint,
    created_at        timestamptz not null,
    updated_at        timestamptz not null,
    succeeded_at      timestamptz
);
create index refunds_tenant on platform.refunds (tenant_id, created_at);
create unique index refunds_one_per_request on platform.refunds (tenant_id, refund_request_id)
    where refund_request_id is not null;

-- Every callback processed, by WeChat's notification id: a callback delivered again (or five
-- times at once) is answered success without being processed twice.
create table platform.payment_callbacks (
    notification_id text primary key,
    event_type      text not null,
    reference       text not null,
    received_at     timestamptz not null,
    outcome         text not null
);
