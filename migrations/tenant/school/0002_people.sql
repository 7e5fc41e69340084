-- School tenant: people (issue #4): departments, staff (F3), students (F4), guardians,
-- homeroom teachers, class status for promotion, and bulk-import jobs.
-- ID numbers and phones are stored only as AEAD ciphertext (key id inside the blob), a keyed
-- hash for exact-match lookup and duplicate detection, and the masked form for lists.

-- A class lives in a grade until it graduates; its home classroom is a venue, which makes
-- the venue "in use".
alter table classes
    add column status     text not null default 'active' check (status in ('active', 'graduated')),
    add column venue_id   bigint references venues (id),
    add column graduated_on date;
create index classes_venue on classes (venue_id) where venue_id is not null;

-- R-S03: departments (教研组、年级组、行政部门).
create table departments (
    id         bigint generated always as identity primary key,
    name       text not null unique check (length(name) between 1 and 50),
    created_at timestamptz not null default now()
);

-- F3: staff. Age comes from the ID number, teaching years from the first year employed.
create table staff (
    id               bigint generated always as identity primary key,
    staff_no         text   not null unique check (length(staff_no) between 1 and 32),
    name             text   not null check (length(name) between 1 and 50),
    id_number_enc    bytea  not null,
    id_number_hash   bytea  not null unique,
    id_number_masked text   not null,
    birth_date       date   not null,
    sex              text   not null check (sex in ('M', 'F')),
    qualification_no text   check (length(qualification_no) <= 32),
    education        text   check (length(education) <= 20),
    title            text   check (length(title) <= 20),
    phone_enc        bytea  not null,
    phone_hash       bytea  not null,
    phone_masked     text   not null,
    resume           text   check (length(resume) <= 4000),
    employed_since   smallint check (employed_since between 1950 and 2100),
    duties           text   check (length(duties) <= 200),
    monthly_salary   numeric(10, 2) check (monthly_salary >= 0),
    -- the platform account found or created by phone when a role is granted
    account_id       bigint,
    status           text   not null default 'active' check (status in ('active', 'left')),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index staff_phone on staff (phone_hash);
create index staff_account on staff (account_id) where account_id is not null;

create table department_members (
    department_id bigint not null references departments (id) on delete cascade,
    staff_id      bigint not null references staff (id) on delete cascade,
    primary key (department_id, staff_id)
);
create index department_members_staff on department_members (staff_id);

-- F4: students. Age and sex come from the ID number.
create table students (
    id               bigint generated always as identity primary key,
    name             text   not null check (length(name) between 1 and 50),
    id_number_enc    bytea  not null,
    id_number_hash   bytea  not null unique,
    id_number_masked text   not null,
    birth_date       date   not null,
    sex              text   not null check (sex in ('M', 'F')),
    -- restrict: a class with students cannot be deleted
    class_id         bigint not null references classes (id) on delete restrict,
    status           text   not null default 'active' check (status in ('active', 'graduated', 'left')),
    created_at       timestamptz not null default now(),
    updated_at       timestamptz not null default now()
);
create index students_class on students (class_id);

create table guardians (
    id           bigint generated always as identity primary key,
    name         text  not null check (length(name) between 1 and 50),
    phone_enc    bytea not null,
    phone_hash   bytea not null unique,
    phone_masked text  not null,
    -- the platform account found or created by phone (role parent in this school)
    account_id   bigint,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index guardians_account on guardians (account_id) where account_id is not null;

create table student_guardians (
    student_id  bigint not null references students (id) on delete cascade,
    guardian_id bigint not null references guardians (id) on delete cascade,
    relation    text   not null check (relation in
                    ('father', 'mother', 'grandfather', 'grandmother', 'guardian', 'other')),
    primary key (student_id, guardian_id)
);
create index student_guardians_guardian on student_guardians (guardian_id);

-- One homeroom teacher (班主任) per class.
create table class_homeroom (
    class_id   bigint primary key references classes (id) on delete cascade,
    staff_id   bigint not null references staff (id) on delete restrict,
    created_at timestamptz not null default now()
);
create index class_homeroom_staff on class_homeroom (staff_id);

-- Bulk imports: all-or-nothing; progress is written by separate short transactions while
-- the import's own transaction is open, so the clerk sees it move.
create table import_jobs (
    id             uuid primary key,
    kind           text not null check (kind in ('staff', 'students', 'guardians')),
    file_name      text not null,
    file_sha256    text not null,
    status         text not null check (status in ('running', 'succeeded', 'failed')),
    phase          text not null default 'validating' check (phase in ('validating', 'writing', 'done')),
    total_rows     int  not null default 0,
    processed_rows int  not null default 0,
    inserted       int  not null default 0,
    updated        int  not null default 0,
    error_count    int  not null default 0,
    -- [{sheet, row, column, value, reason}], capped; the report is built from it
    errors         jsonb not null default '[]',
    message        text,
    created_by     bigint not null,
    created_at     timestamptz not null default now(),
    heartbeat_at   timestamptz not null default now(),
    finished_at    timestamptz
);
create index import_jobs_recent on import_jobs (created_at desc);

-- Promotion to the next grade happens once per school year (named by the year it starts).
create table promotions (
    school_year  smallint primary key check (school_year between 2000 and 2100),
    promoted_at  timestamptz not null default now(),
    promoted_by  bigint not null,
    summary      jsonb not null
);
