-- Notices (issue #17; R-P01, R-T01): picture-and-text notices from the school to the parents
-- of a whole school, some grades or some classes. A school admin sends to any of these; a
-- homeroom teacher to the classes they lead (checked by the service). Drafts are edited
-- and given pictures, then published once: the parents in scope at that moment are
-- messaged once each (the outbox key), and whoever reads it is recorded.
create table notices (
    id           bigint generated always as identity primary key,
    title        text   not null check (length(title) between 1 and 60),
    body         text   not null check (length(body) between 1 and 5000),
    -- school: every class; grades / classes: the ids in notice_targets
    audience     text   not null check (audience in ('school', 'grades', 'classes')),
    status       text   not null default 'draft'
                 check (status in ('draft', 'published', 'withdrawn')),
    created_by   bigint not null,
    -- the sender's name as shown to parents (e.g. 一年级1班 王老师, 学校)
    sender_label text   not null,
    created_at   timestamptz not null,
    published_at timestamptz,
    -- last edit after publishing (readers see it was edited)
    edited_at    timestamptz,
    withdrawn_at timestamptz,
    -- parents messaged at publishing
    messaged     integer not null default 0 check (messaged >= 0)
);
create index notices_published on notices (published_at desc) where status = 'published';
create index notices_author on notices (created_by, created_at desc);

create table notice_targets (
    notice_id bigint not null references notices (id) on delete cascade,
    grade_id  bigint references grades (id) on delete cascade,
    class_id  bigint references classes (id) on delete cascade,
    check ((grade_id is null) <> (class_id is null))
);
create unique index notice_targets_grade on notice_targets (notice_id, grade_id) where grade_id is not null;
create unique index notice_targets_class on notice_targets (notice_id, class_id) where class_id is not null;

-- Up to nine pictures per notice, in order; the objects live under the tenant's prefix.
create table notice_pictures (
    notice_id  bigint  not null references notices (id) on delete cascade,
    -- 1 to 9; negative only for a moment while the pictures after a removed one move up
    position   integer not null check (position between -9 and 9 and position <> 0),
    object_key text    not null,
    bytes      integer not null check (bytes > 0),
    primary key (notice_id, position)
);

-- Who read it (a parent's account), first and last time.
create table notice_reads (
    notice_id     bigint not null references notices (id) on delete cascade,
    account_id    bigint not null,
    first_read_at timestamptz not null,
    last_read_at  timestamptz not null,
    primary key (notice_id, account_id)
);
