-- The tamper-evident audit log. One append-only table, logically
-- partitioned by tenant: each tenant's records form a hash chain
-- (hash = SHA-256(prev_hash || canonical(record)), see src/audit/chain.rs),
-- numbered by seq. The database itself refuses UPDATE, DELETE and TRUNCATE.

CREATE TABLE audit_records (
    -- A global insertion number, for exports; records are addressed by
    -- (tenant_id, seq), so it needs no index of its own.
    id bigserial NOT NULL,
    -- No foreign key: its check would lock the tenant row on every append
    -- (tenants are never deleted).
    tenant_id uuid NOT NULL,
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
    CONSTRAINT audit_records_chain_position PRIMARY KEY (tenant_id, seq)
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

-- Appends a record to its tenant's chain and returns its id. The application
-- passes the canonical encoding (src/audit/chain.rs) split around the seq
-- field, which only this function knows; hash = SHA-256(prev_hash ||
-- before || field(seq) || after). Appends to one tenant are serialised by an
-- advisory lock; the unique (tenant_id, seq) constraint stays the arbiter of
-- last resort (a record inserted past the lock makes this one try again).
-- A plpgsql function, so its plans are prepared once per connection.
CREATE FUNCTION audit_append(
    p_tenant uuid, p_occurred_at timestamptz, p_actor_id text, p_actor_name text, p_ip text,
    p_activity text, p_item text, p_request_id uuid, p_parameters text,
    p_before_seq bytea, p_after_seq bytea
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash bytea;
    appended bigint;
BEGIN
    -- Appends to one tenant's chain queue here, until the caller's
    -- transaction ends. The head is read by the next statement, so with a
    -- snapshot taken after the lock: it is the latest committed head.
    PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 7346205010));
    FOR attempt IN 1..5 LOOP
        SELECT seq, hash INTO head_seq, head_hash
            FROM audit_records WHERE tenant_id = p_tenant ORDER BY seq DESC LIMIT 1;
        head_seq := coalesce(head_seq, 0) + 1;
        head_hash := coalesce(head_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
        INSERT INTO audit_records (tenant_id, seq, occurred_at, actor_id, actor_name, ip,
                                   activity, item, request_id, parameters, prev_hash, hash)
        VALUES (p_tenant, head_seq, p_occurred_at, p_actor_id, p_actor_name, p_ip,
                p_activity, p_item, p_request_id, p_parameters::jsonb, head_hash,
                sha256(head_hash || p_before_seq
                       || int8send(octet_length(head_seq::text)::bigint)
                       || convert_to(head_seq::text, 'UTF8') || p_after_seq))
        ON CONFLICT ON CONSTRAINT audit_records_chain_position DO NOTHING
        RETURNING id INTO appended;
        IF FOUND THEN
            RETURN appended;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'audit_append: could not append to the chain of tenant %', p_tenant;
END;
$$;
