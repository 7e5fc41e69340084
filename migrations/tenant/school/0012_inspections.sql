-- Inspections (issue #17, 巡课): an inspector visits a session and records what was seen,
-- with an optional photo; the school admin sees every inspection.
create table inspections (
    id                bigint generated always as identity primary key,
    course_id         bigint not null references courses (id),
    day               date   not null,
    inspector_account bigint not null,
    inspector_name    text   not null,
    observed_at       timestamptz not null,
    notes             text   not null check (length(notes) between 1 and 500),
    picture_key       text,
    picture_bytes     integer check (picture_bytes > 0)
);
create index inspections_day on inspections (day desc, id desc);
