-- The city supervision platform's receiver simulator (issue #15; `afterschool::supervision::sim`):
-- what it received, for the operator's inbox and for tests. Only the simulator writes here.

-- Nonces seen within the timestamp window (replays are refused).
create table platform.supsim_nonces (
    nonce   text primary key,
    seen_at timestamptz not null default now()
);

-- Every message id taken once; a redelivery is answered DUPLICATE and stored nowhere.
create table platform.supsim_messages (
    message_id  text primary key,
    field_set   text not null,
    record_id   text not null,
    op          text not null,
    version     bigint not null,
    received_at timestamptz not null default now()
);
create index supsim_messages_received on platform.supsim_messages (received_at desc);

-- The newest state of each record; a message older than the stored version is counted as
-- out of order and changes nothing.
create table platform.supsim_records (
    field_set  text not null,
    record_id  text not null,
    op         text not null,
    version    bigint not null,
    body       jsonb not null,
    updated_at timestamptz not null default now(),
    primary key (field_set, record_id)
);

-- Fault control and counters (one row).
create table platform.supsim_control (
    id          integer primary key check (id = 1),
    fault       text not null default 'none' check (fault in ('none', 'refuse', 'timeout', 'slow', 'drop')),
    delay_ms    integer not null default 0 check (delay_ms between 0 and 120000),
    refused     bigint not null default 0,
    duplicates  bigint not null default 0,
    out_of_order bigint not null default 0,
    rejected    bigint not null default 0
);
insert into platform.supsim_control (id) values (1);
