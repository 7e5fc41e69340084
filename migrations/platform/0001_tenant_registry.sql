-- Tenant registry: one row per school or agency, each with its own schema and role.
-- No foreign key ever points from platform into a tenant schema (Citus-compatible).

create or replace function platform.touch_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end $$;

create table platform.tenants (
    id              bigint generated always as identity primary key,
    code            text not null unique check (code ~ '^[a-z][a-z0-9_]{1,30}$'),
    kind            text not null check (kind in ('school', 'agency')),
    name            text not null check (length(name) between 1 and 100),
    status          text not null default 'active' check (status in ('active', 'suspended')),
    schema_name     text not null unique check (schema_name ~ '^[a-z][a-z0-9_]{0,62}$'),
    db_role         text not null unique check (db_role ~ '^[a-z][a-z0-9_]{0,62}$'),
    schema_version  int  not null default 0,
    manifest_hash   text,
    suspended_reason text,
    suspended_at    timestamptz,
    last_migration_error text,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);

create trigger tenants_touch before update on platform.tenants
    for each row execute function platform.touch_updated_at();

-- Lets `migrate` find tenants behind the latest version with one index scan.
create index tenants_kind_version on platform.tenants (kind, schema_version);

-- Checksums of the tenant migration files as first applied: an edited file is refused.
create table platform.tenant_migrations (
    kind        text not null check (kind in ('school', 'agency')),
    version     int  not null,
    name        text not null,
    checksum    text not null,
    recorded_at timestamptz not null default now(),
    primary key (kind, version)
);
