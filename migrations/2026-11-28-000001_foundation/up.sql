-- Foundation: tenants, their users, provider staff, server-side sessions and
-- sign-in throttling. Rules that protect data live here as constraints, so a
-- bug in Rust (or a hand-written SQL session) cannot break them.

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100 AND name = btrim(name)),
    lockbox_enabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX tenants_name_key ON tenants (lower(name));

CREATE TABLE tenant_users (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    email text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role text NOT NULL CHECK (role IN ('global_admin', 'approver', 'user')),
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX tenant_users_email_key ON tenant_users (tenant_id, lower(email));

CREATE TABLE provider_staff (
    id uuid PRIMARY KEY,
    email text NOT NULL CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    display_name text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 100),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role text NOT NULL CHECK (role IN ('engineer', 'manager')),
    created_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX provider_staff_email_key ON provider_staff (lower(email));

-- Sessions are stored server-side so that sign-out and timeouts end them for
-- good. Only a SHA-256 of the session key is kept: a copy of this table does
-- not let anyone take over a session.
CREATE TABLE web_sessions (
    key_hash bytea PRIMARY KEY CHECK (length(key_hash) = 32),
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    state jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at >= created_at)
);
CREATE INDEX web_sessions_expires_at_idx ON web_sessions (expires_at);

CREATE TABLE sign_in_failures (
    id bigserial PRIMARY KEY,
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account text NOT NULL,
    ip text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_pair_idx ON sign_in_failures (realm, account, ip, occurred_at);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (realm, ip, occurred_at);

-- A lock-out is keyed either by (account, address) or by address alone.
CREATE TABLE sign_in_lockouts (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    scope_key text NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (realm, scope_key)
);

-- Secrets every lockbox process must share (the cookie signing key), created
-- by whichever process starts first.
CREATE TABLE app_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 64)
);
