-- Two-factor sign-in (TOTP, RFC 6238) for both realms; see src/auth/totp/.

-- The tenant setting "Require two-factor sign-in for global administrators
-- and approvers". Tenants that exist when this migration runs keep signing
-- in as before (their global administrators turn it on under Settings ›
-- Security): forcing every existing administrator into enrolment at their
-- next sign-in is a decision for the tenant, not for an upgrade. Every
-- tenant created from now on has it on.
ALTER TABLE tenants ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;
ALTER TABLE tenants ALTER COLUMN require_two_factor SET DEFAULT true;

-- One authenticator per account of either realm (a tenant user or a staff
-- member: `account_id` is the id of the one its realm names), written once
-- a code from it was accepted (an enrolment under way lives, sealed, in
-- the enrolling person's server-side session). Secrets are sealed
-- (XChaCha20-Poly1305, key in app_secrets `second_factor_key`, bound to
-- realm and account), never stored in the clear. `last_step` is the TOTP
-- time step of the last accepted code: a code is accepted only for a later
-- step (conditional UPDATE), so none is replayed.
CREATE TABLE second_factors (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account_id uuid NOT NULL,
    secret bytea NOT NULL,
    last_step bigint NOT NULL,
    enrolled_at timestamptz NOT NULL,
    PRIMARY KEY (realm, account_id)
);

-- Ten single-use recovery codes per enrolment, stored as SHA-256 (each
-- code carries 80 random bits).
CREATE TABLE recovery_codes (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account_id uuid NOT NULL,
    code_hash bytea NOT NULL,
    used_at timestamptz,
    PRIMARY KEY (realm, account_id, code_hash),
    FOREIGN KEY (realm, account_id) REFERENCES second_factors (realm, account_id) ON DELETE CASCADE
);

-- The serving role enrols, confirms, removes and resets authenticators,
-- and marks recovery codes used.
GRANT SELECT, INSERT, UPDATE, DELETE ON second_factors TO lockbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON recovery_codes TO lockbox_app;
