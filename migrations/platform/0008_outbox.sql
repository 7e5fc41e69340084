-- The outbox (issue #15; design.md "Outbox and integrations"): every message to an outside
-- party (the city supervision platform, WeChat messages, SMS, WeChat Pay refunds) is a
-- row written in the same transaction as the change that causes it, and delivered by the
-- worker (`afterschool::outbox`).
--
-- - `entity` is the ordering key: of the pending events of one entity only the oldest is
--   claimed, so two updates of one course never arrive swapped; other entities proceed.
-- - `idem_key` (optional) makes an emission idempotent: a second event with the same key
--   is not written (one message per parent per event).
-- - `state`: pending → done; pending → dead after `outbox.max_attempts` failures; an
--   operator sends a dead event back to pending (retry) or discards it, audited.
--
-- Privileges are granted by the role bootstrap (`afterschool::outbox::APP_GRANTS`): tenant
-- roles may only append.

create table platform.outbox (
    id          bigint generated always as identity primary key,
    -- the tenant the event is about (no foreign key: the ledger names tenants the same way)
    tenant_id   bigint,
    kind        text not null check (kind ~ '^[a-z][a-z0-9_.]{1,63}$'),
    entity      text not null check (length(entity) between 1 and 200),
    payload     jsonb not null,
    idem_key    text check (length(idem_key) between 1 and 200),
    state       text not null default 'pending'
                check (state in ('pending', 'done', 'dead', 'discarded')),
    attempts    integer not null default 0 check (attempts >= 0),
    next_at     timestamptz not null default now(),
    last_error  text,
    created_at  timestamptz not null default now(),
    done_at     timestamptz
);

create unique index outbox_idem on platform.outbox (idem_key) where idem_key is not null;
-- The claim walks pending events by id and probes the entity's older pending ones.
create index outbox_pending on platform.outbox (id) where state = 'pending';
create index outbox_pending_entity on platform.outbox (entity, id) where state = 'pending';
create index outbox_dead on platform.outbox (id) where state = 'dead';
create index outbox_done on platform.outbox (done_at) where state in ('done', 'discarded');

-- Wakes the worker (LISTEN afterschool_outbox) when the inserting transaction commits; a
-- rolled-back transaction sends nothing, and PostgreSQL folds the notifications of one
-- transaction into one.
create function platform.outbox_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('afterschool_outbox', '');
    return null;
end $$;

create trigger outbox_notify after insert on platform.outbox
    for each statement execute function platform.outbox_notify();

-- The tenant a schema belongs to, for the triggers of tenant tables that write events
-- (tenant roles cannot read the registry; this answers one id and nothing else).
create function platform.tenant_of_schema(s text) returns bigint
language sql stable security definer set search_path = pg_catalog as $$
    select id from platform.tenants where schema_name = s
$$;
