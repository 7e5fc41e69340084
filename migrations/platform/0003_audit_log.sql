-- Append-only, tamper-evident audit trail (issue #3 item 6; R-X04, 等保 2.0 安全审计).
--
-- Every record carries an HMAC-SHA256 over the previous record's MAC and its own content
-- (computed in `afterschool::audit`, with a key the database never sees), so an edit,
-- a deletion or a re-ordering made outside the product shows up in `audit verify`.
-- The triggers below stop the product itself - even code running as the owner - from
-- editing or erasing the trail; only a DBA disabling triggers can, and the MAC chain
-- then exposes it.
--
-- Retention: nothing in the product deletes audit records, so the 180-day minimum of
-- 等保 2.0 is met by construction. Archiving old records to cold storage is an operator
-- job outside the product (it has to disable the triggers and re-anchor the chain).
--
-- Privileges are granted by the role bootstrap (`afterschool::audit::APP_GRANTS`),
-- because role names depend on the database name.

create table platform.audit_log (
    id               bigint generated always as identity primary key,
    at               timestamptz not null,
    actor_account_id bigint,
    actor_role       text,
    tenant_id        bigint,
    source_ip        text,
    -- Byte-wise collation: `search` turns an action prefix into a range scan on the index.
    action           text collate "C" not null
                     check (action ~ '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$' and length(action) <= 100),
    object           text not null,
    outcome          text not null check (outcome in ('success', 'failure', 'denied')),
    details          jsonb not null default '{}' check (jsonb_typeof(details) = 'object'),
    prev_mac         bytea not null check (length(prev_mac) = 32),
    mac              bytea not null check (length(mac) = 32)
);
-- No foreign keys to accounts or tenants on purpose: the trail must outlive what it names
-- and must never block (or be cascaded by) a deletion elsewhere.

create index audit_log_at on platform.audit_log (at);
create index audit_log_actor_at on platform.audit_log (actor_account_id, at);
create index audit_log_action_at on platform.audit_log (action, at);

-- The chain's head: the id and MAC of the newest record. Appenders lock this single row
-- (`select ... for update`), which makes the chain linear under concurrency; `verify`
-- compares it with the newest record, which exposes deletions at the tail.
create table platform.audit_head (
    id       smallint primary key check (id = 1),
    last_id  bigint,
    last_mac bytea not null check (length(last_mac) = 32)
);
-- Genesis: the first record's prev_mac is 32 zero bytes.
insert into platform.audit_head (id, last_id, last_mac)
values (1, null, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

create or replace function platform.audit_forbid_change() returns trigger
language plpgsql as $$
begin
    raise exception '审计日志只可追加，禁止 % (%.%)', tg_op, tg_table_schema, tg_table_name
        using errcode = 'insufficient_privilege';
end $$;

create trigger audit_log_no_update before update on platform.audit_log
    for each row execute function platform.audit_forbid_change();
create trigger audit_log_no_delete before delete on platform.audit_log
    for each row execute function platform.audit_forbid_change();
create trigger audit_log_no_truncate before truncate on platform.audit_log
    for each statement execute function platform.audit_forbid_change();

-- The head is updated by every append, but never removed: without it nobody can append.
create trigger audit_head_no_delete before delete on platform.audit_head
    for each row execute function platform.audit_forbid_change();
create trigger audit_head_no_truncate before truncate on platform.audit_head
    for each statement execute function platform.audit_forbid_change();
