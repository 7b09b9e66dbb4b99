-- The tamper-evident audit log. One append-only table, logically
-- partitioned by tenant: each tenant's records form a hash chain
-- (hash = SHA-256(prev_hash || canonical(record)), see src/audit/chain.rs),
-- numbered by seq. The database itself refuses UPDATE, DELETE and TRUNCATE.

CREATE TABLE audit_records (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    seq bigint NOT NULL CHECK (seq >= 1),
    occurred_at timestamptz NOT NULL,
    actor_id text NOT NULL,
    actor_name text NOT NULL,
    ip text NOT NULL,
    activity text NOT NULL CHECK (length(activity) BETWEEN 1 AND 100),
    item text NOT NULL,
    parameters jsonb NOT NULL,
    request_id uuid,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT audit_records_chain_position UNIQUE (tenant_id, seq)
);

-- Search: newest first within a tenant, keyset (occurred_at, seq).
CREATE INDEX audit_records_tenant_time_idx ON audit_records (tenant_id, occurred_at DESC, seq DESC);
CREATE INDEX audit_records_tenant_activity_idx ON audit_records (tenant_id, activity, occurred_at DESC, seq DESC);
CREATE INDEX audit_records_request_idx ON audit_records (request_id) WHERE request_id IS NOT NULL;

CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_records_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

CREATE TRIGGER audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();
