-- The daily digest of each tenant's newest signed checkpoint, mailed to its
-- global administrators: the copy outside the provider's database. One row
-- per tenant and UTC day; the key makes one lockbox process the sender
-- when several run.
CREATE TABLE checkpoint_digests (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    sent_on date NOT NULL,
    seq bigint NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT checkpoint_digests_day PRIMARY KEY (tenant_id, sent_on)
);

GRANT SELECT, INSERT ON checkpoint_digests TO lockbox_app;
