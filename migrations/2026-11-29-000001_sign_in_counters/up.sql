-- Sign-in throttling counts an attempt *before* its password is checked
-- (src/auth/throttle.rs). The tables of 000001 recorded failures after the
-- check, so every guess of a parallel burst passed the lock check before
-- the first failure was written. Their rows only ever matter for fifteen
-- minutes, so they are dropped rather than converted.
DROP TABLE sign_in_failures;
DROP TABLE sign_in_lockouts;

-- One row per throttling key: an (account, network) pair, a network across
-- accounts, or an account across networks. An attempt locks its rows
-- (FOR UPDATE, in key order), judges them and counts itself in one
-- transaction, so concurrent attempts on one key are judged one after the
-- other. `attempts` counts the window's attempts that did not succeed,
-- including those still being checked.
CREATE TABLE sign_in_counters (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    scope_key text NOT NULL,
    window_start timestamptz NOT NULL,
    attempts integer NOT NULL CHECK (attempts >= 0),
    last_attempt_at timestamptz NOT NULL,
    locked_until timestamptz,
    PRIMARY KEY (realm, scope_key)
);
-- Housekeeping forgets rows whose window has run out.
CREATE INDEX sign_in_counters_window_idx ON sign_in_counters (window_start);

-- One row per lock-out of an (account, network) pair, kept until it has
-- ended and been reported (once) to the tenant's audit log with the number
-- of attempts it refused.
CREATE TABLE sign_in_lockouts (
    id bigserial PRIMARY KEY,
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    scope_key text NOT NULL,
    -- As typed (bounded); NULL in the engineer realm.
    organization text,
    email text NOT NULL,
    -- An IPv4 address or an IPv6 /64.
    network text NOT NULL,
    locked_at timestamptz NOT NULL,
    locked_until timestamptz NOT NULL CHECK (locked_until >= locked_at),
    refused integer NOT NULL DEFAULT 0 CHECK (refused >= 0)
);
CREATE INDEX sign_in_lockouts_key_idx ON sign_in_lockouts (realm, scope_key, locked_until);
CREATE INDEX sign_in_lockouts_until_idx ON sign_in_lockouts (locked_until);

-- The serving role (migration 2026-11-28-000008): counters are upserted,
-- locked and pruned; lock-outs are opened, counted, reported and removed.
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_counters TO lockbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_lockouts TO lockbox_app;
GRANT USAGE ON SEQUENCE sign_in_lockouts_id_seq TO lockbox_app;
