-- Signed receipts of customer decisions (src/audit/receipt.rs documents the
-- signed bytes): one per approve / deny / cancel / revoke, written in the
-- decision's transaction, naming the decision's audit record. Append-only,
-- like the log whose record it vouches for.
CREATE TABLE decision_receipts (
    tenant_id uuid NOT NULL,
    -- The audit record of the decision (audit_records.id).
    audit_record bigint NOT NULL,
    request_id uuid NOT NULL,
    decision text NOT NULL CHECK (decision IN ('Approve', 'Deny', 'Cancel', 'Revoke')),
    approver text NOT NULL,
    approver_name text NOT NULL,
    comment_sha256 bytea NOT NULL CHECK (length(comment_sha256) = 32),
    decided_at timestamptz NOT NULL,
    request_fingerprint bytea NOT NULL CHECK (length(request_fingerprint) = 32),
    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    signature bytea NOT NULL CHECK (length(signature) = 64),
    CONSTRAINT decision_receipts_record PRIMARY KEY (tenant_id, audit_record)
);

CREATE INDEX decision_receipts_request_idx ON decision_receipts (request_id, audit_record);

CREATE TRIGGER decision_receipts_no_update_delete
    BEFORE UPDATE OR DELETE ON decision_receipts
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

CREATE TRIGGER decision_receipts_no_truncate
    BEFORE TRUNCATE ON decision_receipts
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

GRANT SELECT, INSERT ON decision_receipts TO lockbox_app;
