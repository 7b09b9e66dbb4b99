-- API tokens (SPEC §8): a customer's, created by a global administrator of
-- the tenant and acting with that user's rights capped by its scope; or a
-- provider staff member's. Only the SHA-256 of the secret is stored: the
-- secret itself is shown once, at creation.
CREATE TABLE api_tokens (
    id uuid PRIMARY KEY,
    realm text NOT NULL CHECK (realm IN ('customer', 'staff')),
    tenant_id uuid REFERENCES tenants (id),
    user_id uuid REFERENCES tenant_users (id),
    staff_id uuid REFERENCES provider_staff (id),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    scope text NOT NULL CHECK (scope IN ('read', 'decide', 'admin')),
    secret_hash bytea NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at timestamptz,
    last_used_at timestamptz,
    CHECK (
        (realm = 'customer' AND tenant_id IS NOT NULL AND user_id IS NOT NULL AND staff_id IS NULL)
        OR (realm = 'staff' AND staff_id IS NOT NULL AND tenant_id IS NULL AND user_id IS NULL)
    )
);
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id, created_at DESC) WHERE tenant_id IS NOT NULL;
CREATE INDEX api_tokens_staff_idx ON api_tokens (staff_id, created_at DESC) WHERE staff_id IS NOT NULL;

-- The serving role (migration 2026-11-28-000008): created, listed, revoked
-- and stamped with their last use; never deleted.
GRANT SELECT, INSERT, UPDATE ON api_tokens TO lockbox_app;
