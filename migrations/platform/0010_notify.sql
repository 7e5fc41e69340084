-- Messages to parents and staff (issue #15, item 5; `afterschool::notify`): per-recipient
-- WeChat subscription state, the delivery log that makes each message go out once, and
-- the WeChat message simulator's tables (the embedded default receiver of
-- `/cgi-bin/message/subscribe/bizsend`).

-- Whether a recipient accepted WeChat subscription messages of one kind (订阅通知: the
-- long-term kind of the 教育 category). `off`: turned off here or refused at WeChat
-- (errcode 43101), so the message goes by SMS.
create table platform.notify_subscriptions (
    account_id  bigint not null references platform.accounts (id),
    kind        text   not null,
    status      text   not null check (status in ('accept', 'reject', 'off')),
    openid      text,
    changed_at  timestamptz not null default now(),
    primary key (account_id, kind)
);

-- One row per message (event × recipient): the unique key makes a second delivery of the
-- same event a no-op. `sending` is written before the call to WeChat or the SMS gateway,
-- so a crash in between leaves `unknown` rather than a second message.
create table platform.notify_messages (
    id          bigint generated always as identity primary key,
    idem_key    text   not null unique,
    account_id  bigint not null references platform.accounts (id),
    tenant_id   bigint,
    kind        text   not null,
    channel     text   check (channel in ('wechat', 'sms')),
    status      text   not null check (status in ('sending', 'sent', 'failed', 'unknown')),
    -- the rendered fields (child's and course's names), sealed with the data key
    fields_enc  bytea  not null,
    detail      text,
    wx_msgid    text,
    created_at  timestamptz not null default now(),
    sent_at     timestamptz
);
create index notify_messages_recipient on platform.notify_messages (account_id, sent_at desc);
create index notify_messages_created on platform.notify_messages (created_at desc);

-- The WeChat simulator: subscriptions users accepted in its popup (`/mp/subscribemsg`).
create table platform.wxmsg_sim_grants (
    openid       text not null,
    template_id  text not null,
    status       text not null check (status in ('accept', 'reject')),
    updated_at   timestamptz not null default now(),
    primary key (openid, template_id)
);

-- The WeChat simulator: messages it accepted (values sealed with the data key).
create table platform.wxmsg_sim_inbox (
    id           bigint generated always as identity primary key,
    msgid        text   not null unique,
    openid       text   not null,
    template_id  text   not null,
    data_enc     bytea  not null,
    page         text,
    received_at  timestamptz not null default now()
);

-- The WeChat simulator's fault control and counters (one row).
create table platform.wxmsg_sim_control (
    id        integer primary key check (id = 1),
    fault     text   not null default 'none' check (fault in ('none', 'busy', 'refuse', 'timeout', 'revoked')),
    refused   bigint not null default 0,
    rejected  bigint not null default 0
);
insert into platform.wxmsg_sim_control (id) values (1);
