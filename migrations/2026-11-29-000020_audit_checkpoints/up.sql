-- Signed checkpoints of each tenant's audit chain (src/audit/checkpoint.rs
-- documents the signed bytes): the chain's head at a moment, signed with
-- the deployment's Ed25519 key, which lives in a file, never here. Like the
-- log itself, append-only, for everyone.
CREATE TABLE audit_checkpoints (
    tenant_id uuid NOT NULL,
    -- The chain position the checkpoint vouches for (the head then).
    seq bigint NOT NULL CHECK (seq >= 1),
    head_hash bytea NOT NULL CHECK (length(head_hash) = 32),
    record_count bigint NOT NULL CHECK (record_count >= 1),
    created_at timestamptz NOT NULL,
    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    signature bytea NOT NULL CHECK (length(signature) = 64),
    -- One checkpoint per chain position: two writers racing make one.
    CONSTRAINT audit_checkpoints_position PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX audit_checkpoints_tenant_time_idx ON audit_checkpoints (tenant_id, created_at DESC);

CREATE TRIGGER audit_checkpoints_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

CREATE TRIGGER audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

GRANT SELECT, INSERT ON audit_checkpoints TO lockbox_app;
