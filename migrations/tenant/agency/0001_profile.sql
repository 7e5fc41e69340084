-- Agency tenant: basic profile seeded from the tenant manifest (R-A02, R-A03).

create table profile (
    id           smallint primary key default 1 check (id = 1),
    credit_code  text not null check (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    address      text not null,
    intro        text not null default '',
    updated_at   timestamptz not null default now()
);

create table categories (
    id         bigint generated always as identity primary key,
    name       text not null unique,
    created_at timestamptz not null default now()
);
