-- The audit chain is sealed after commit instead of inside the writer's transaction
-- (issue #5: every booking is audited, and one head row locked from the append to the
-- commit's fsync capped the whole platform near 170 audited changes per second).
--
-- Writing a record is now one INSERT with no lock shared between writers:
--   * the writer stores a per-record MAC, `row_mac = HMAC(key, uid || content)`, so a record
--     inserted by anyone without the key is exposed by `verify` even before it is sealed;
--   * a trigger queues the record's id in `audit_pending`, in the same transaction, so a
--     record that commits is queued and one that rolls back is not;
--   * the sealer (`afterschool::audit::seal`, run by every server about once a second and
--     by `verify` before it checks) takes the head lock in a short transaction of its own,
--     chains the queued records in id order into `audit_seal`
--     (`mac = HMAC(key, previous mac || content)`, the same encoding as before), dequeues
--     them and moves the head.
-- Records written before this migration keep their MACs: they become the first seals, in
-- id order, so the chain verifies unchanged. They have no row MAC; `legacy_upto` names the
-- last of them.

create table platform.audit_seal (
    seq      bigint primary key,
    log_id   bigint not null unique,
    prev_mac bytea not null check (length(prev_mac) = 32),
    mac      bytea not null check (length(mac) = 32)
);

insert into platform.audit_seal (seq, log_id, prev_mac, mac)
select id, id, prev_mac, mac from platform.audit_log;

alter table platform.audit_head rename column last_id to last_seq;
alter table platform.audit_head add column legacy_upto bigint;
update platform.audit_head set legacy_upto = (select max(id) from platform.audit_log);

-- Dropping columns fires no row trigger; the values live on in audit_seal.
alter table platform.audit_log drop column prev_mac, drop column mac;
alter table platform.audit_log add column uid uuid, add column row_mac bytea
    check (row_mac is null or length(row_mac) = 32);
create unique index audit_log_uid on platform.audit_log (uid);

create table platform.audit_pending (
    log_id bigint primary key
);

-- Runs with the writer's privileges: the app and tenant roles may insert into the queue.
create or replace function platform.audit_enqueue() returns trigger
language plpgsql as $$
begin
    insert into platform.audit_pending (log_id) values (new.id);
    return null;
end $$;

create trigger audit_log_enqueue after insert on platform.audit_log
    for each row execute function platform.audit_enqueue();

-- Seals are as permanent as the records.
create trigger audit_seal_no_update before update on platform.audit_seal
    for each row execute function platform.audit_forbid_change();
create trigger audit_seal_no_delete before delete on platform.audit_seal
    for each row execute function platform.audit_forbid_change();
create trigger audit_seal_no_truncate before truncate on platform.audit_seal
    for each statement execute function platform.audit_forbid_change();
