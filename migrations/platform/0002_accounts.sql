-- Accounts, role assignments, sessions, one-time codes, consent (issue #3).
-- Accounts are keyed by mobile phone: the clear number is never stored, only an AEAD
-- ciphertext (key id inside the blob) and a keyed hash for exact-match lookup.

create table platform.accounts (
    id                  bigint generated always as identity primary key,
    phone_hash          bytea not null unique,
    phone_enc           bytea not null,
    display_name        text  not null check (length(display_name) between 1 and 50),
    -- argon2id PHC string; null for accounts that only sign in by SMS code (parents)
    password_hash       text,
    password_changed_at timestamptz,
    totp_secret_enc     bytea,
    totp_enabled_at     timestamptz,
    -- last accepted TOTP time step: a code is never accepted twice
    totp_last_step      bigint,
    failed_logins       int not null default 0,
    locked_until        timestamptz,
    status              text not null default 'active' check (status in ('active', 'disabled')),
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create trigger accounts_touch before update on platform.accounts
    for each row execute function platform.touch_updated_at();

-- Who holds which role where. Platform roles (operator split into three, bureau officer)
-- have no tenant; every other role belongs to exactly one tenant.
create table platform.role_assignments (
    id          bigint generated always as identity primary key,
    account_id  bigint not null references platform.accounts (id),
    role        text   not null check (role in (
                    'operator_sys', 'operator_sec', 'operator_audit', 'bureau_officer',
                    'school_admin', 'homeroom_teacher', 'teacher', 'inspector', 'parent',
                    'agency_admin', 'agency_teacher')),
    tenant_id   bigint references platform.tenants (id),
    created_by  bigint references platform.accounts (id),
    created_at  timestamptz not null default now(),
    check ((role in ('operator_sys', 'operator_sec', 'operator_audit', 'bureau_officer')) = (tenant_id is null))
);
create unique index role_assignments_unique
    on platform.role_assignments (account_id, role, coalesce(tenant_id, 0));
create index role_assignments_tenant on platform.role_assignments (tenant_id, role);

-- Server-side sessions; the client holds an opaque token, we keep its SHA-256.
create table platform.sessions (
    id            bigint generated always as identity primary key,
    token_hash    bytea not null unique,
    account_id    bigint not null references platform.accounts (id),
    created_at    timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    expires_at    timestamptz not null,
    revoked_at    timestamptz,
    -- false until an admin role has passed (or set up) the second factor
    mfa_passed    boolean not null default false,
    source_ip     text,
    user_agent    text
);
create index sessions_account on platform.sessions (account_id) where revoked_at is null;

-- One-time sign-in codes sent by SMS; only a hash of the code is kept.
create table platform.sms_codes (
    id          bigint generated always as identity primary key,
    phone_hash  bytea not null,
    code_hash   bytea not null,
    purpose     text  not null check (purpose in ('login')),
    created_at  timestamptz not null default now(),
    expires_at  timestamptz not null,
    consumed_at timestamptz,
    attempts    int not null default 0
);
create index sms_codes_phone on platform.sms_codes (phone_hash, created_at desc);

-- The SMS simulator's outbox (embedded default sender): what would have been sent.
create table platform.sms_outbox (
    id          bigint generated always as identity primary key,
    phone_hash  bytea not null,
    phone_enc   bytea not null,
    body        text  not null,
    created_at  timestamptz not null default now()
);

-- Guardian consent to the platform's personal-data rules, per version of the text.
create table platform.consents (
    id            bigint generated always as identity primary key,
    account_id    bigint not null references platform.accounts (id),
    terms_version text   not null,
    granted_at    timestamptz not null default now(),
    withdrawn_at  timestamptz,
    source_ip     text
);
create unique index consents_active on platform.consents (account_id, terms_version)
    where withdrawn_at is null;
