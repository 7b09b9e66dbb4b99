-- Back to records that carry their own chain fields. Only when every
-- record is sealed: start a lockbox server (it seals) before going back.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_records r WHERE NOT EXISTS (
                   SELECT 1 FROM audit_chain c WHERE c.tenant_id = r.tenant_id AND c.record_id = r.id)) THEN
        RAISE EXCEPTION 'audit_records: some records are not sealed yet; not going back';
    END IF;
END;
$$;

DROP FUNCTION audit_watermark(uuid);
DROP FUNCTION audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb);
DROP VIEW audit_log;
DROP INDEX audit_records_tenant_item_idx;

CREATE TABLE audit_records_old (LIKE audit_records INCLUDING DEFAULTS);
ALTER TABLE audit_records_old
    ADD COLUMN seq bigint, ADD COLUMN prev_hash bytea, ADD COLUMN hash bytea;
INSERT INTO audit_records_old
SELECT r.*, c.seq, c.prev_hash, c.hash
FROM audit_records r JOIN audit_chain c ON c.tenant_id = r.tenant_id AND c.record_id = r.id;
ALTER SEQUENCE audit_records_id_seq OWNED BY NONE;
DROP TABLE audit_records;
DROP TABLE audit_chain;
DROP FUNCTION audit_records_number();
CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_records is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
ALTER TABLE audit_records_old RENAME TO audit_records;
ALTER SEQUENCE audit_records_id_seq OWNED BY audit_records.id;
ALTER TABLE audit_records ALTER COLUMN id SET DEFAULT nextval('audit_records_id_seq');
ALTER TABLE audit_records
    ALTER COLUMN seq SET NOT NULL, ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL,
    ADD CHECK (seq >= 1), ADD CHECK (length(prev_hash) = 32), ADD CHECK (length(hash) = 32),
    ADD CHECK (length(activity) BETWEEN 1 AND 100),
    ADD CONSTRAINT audit_records_chain_position PRIMARY KEY (tenant_id, seq);
CREATE INDEX audit_records_tenant_time_idx ON audit_records (tenant_id, occurred_at DESC, seq DESC);
CREATE INDEX audit_records_tenant_activity_idx ON audit_records (tenant_id, activity, occurred_at DESC, seq DESC);
CREATE INDEX audit_records_request_idx ON audit_records (request_id) WHERE request_id IS NOT NULL;
CREATE TRIGGER audit_records_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();
CREATE TRIGGER audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

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
