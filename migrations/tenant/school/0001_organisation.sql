-- School tenant: organisation and base configuration seeded from the tenant manifest.
-- Runs with search_path = <tenant schema> as the tenant's own role.

create table grades (
    id         bigint generated always as identity primary key,
    code       text not null unique,
    name       text not null,
    -- 1..9: 一年级 .. 初三 (compulsory education years)
    level      smallint not null check (level between 1 and 12),
    created_at timestamptz not null default now()
);

-- R-S02: a class has its system name and an alias shown to teachers and parents.
create table classes (
    id         bigint generated always as identity primary key,
    grade_id   bigint not null references grades (id),
    code       text not null unique,
    name       text not null,
    alias      text,
    created_at timestamptz not null default now()
);
create index classes_grade on classes (grade_id);

-- R-S05: venues and periods.
create table venues (
    id         bigint generated always as identity primary key,
    code       text not null unique,
    name       text not null,
    kind       text not null check (kind in ('classroom', 'gym', 'canteen', 'field', 'hall', 'other')),
    capacity   int  not null check (capacity between 1 and 10000),
    created_at timestamptz not null default now()
);

create table periods (
    id         bigint generated always as identity primary key,
    code       text not null unique,
    name       text not null,
    kind       text not null check (kind in ('noon', 'after_school', 'evening', 'weekend')),
    starts_at  time not null,
    ends_at    time not null,
    -- ISO weekdays, 1 = Monday .. 7 = Sunday
    weekdays   smallint[] not null,
    created_at timestamptz not null default now(),
    check (ends_at > starts_at),
    check (weekdays <@ array[1,2,3,4,5,6,7]::smallint[] and cardinality(weekdays) > 0)
);

-- The term calendar is the one source for which days custody and meals run and are charged.
create table terms (
    id                bigint generated always as identity primary key,
    code              text not null unique,
    name              text not null,
    starts_on         date not null,
    ends_on           date not null,
    teaching_weekdays smallint[] not null,
    created_at        timestamptz not null default now(),
    check (ends_on >= starts_on)
);

-- Exceptions to the weekly rule: holidays (放假), make-up days (调休上课), closures (停课).
create table calendar_exceptions (
    term_id bigint not null references terms (id) on delete cascade,
    day     date not null,
    kind    text not null check (kind in ('holiday', 'makeup', 'closure')),
    name    text not null,
    primary key (term_id, day)
);
