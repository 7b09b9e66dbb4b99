-- The chain moves off the commit path. Until now every append took its
-- tenant's exclusive lock and held it through its transaction's commit, so
-- one tenant's changes committed one fsync at a time. Now:
--
-- * audit_records holds what happened. A change inserts its record in its
--   own transaction (as before) under a *shared* tenant lock, so appends
--   to one tenant no longer wait for each other.
-- * audit_chain holds the seal of each record: its place in the tenant's
--   chain (seq), its predecessor's hash and its hash. A sealer (any
--   lockbox process; see src/audit/seal.rs) appends seals in record id
--   order, a batch per transaction.
-- * audit_log presents both as the one log: every field of a record, and
--   its seq, prev_hash and hash once sealed.
--
-- Both tables are strictly append-only: their triggers refuse UPDATE,
-- DELETE and TRUNCATE, with no exception.
--
-- Why id order is safe: every insert takes its tenant's lock shared and
-- only then draws its id (the trigger audit_records_numbered, so no insert
-- can skip it). The sealer takes the lock *exclusively* for an instant
-- (audit_watermark), which waits for every append in flight to end; the
-- greatest id it then sees is the watermark, and every record of the
-- tenant up to it is committed. A later append draws a greater id from the
-- sequence, which therefore must hand out ids in order (CACHE 1, the
-- default, set explicitly below).

CREATE TABLE audit_chain (
    tenant_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    record_id bigint NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    CONSTRAINT audit_chain_position PRIMARY KEY (tenant_id, seq),
    CONSTRAINT audit_chain_one_seal_per_record UNIQUE (tenant_id, record_id)
);

-- Chains written by 000003 already run in id order (seq and id were both
-- drawn under the tenant's exclusive lock); make sure before relying on it.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM (
                   SELECT id, lag(id) OVER (PARTITION BY tenant_id ORDER BY seq) AS before
                   FROM audit_records) ordered
               WHERE before > id) THEN
        RAISE EXCEPTION 'audit_records: a chain does not run in id order; not migrating';
    END IF;
END;
$$;

INSERT INTO audit_chain (tenant_id, seq, record_id, prev_hash, hash)
SELECT tenant_id, seq, id, prev_hash, hash FROM audit_records;

DROP INDEX audit_records_tenant_time_idx;
DROP INDEX audit_records_tenant_activity_idx;
ALTER TABLE audit_records
    DROP CONSTRAINT audit_records_chain_position,
    DROP COLUMN seq,
    DROP COLUMN prev_hash,
    DROP COLUMN hash,
    ADD CONSTRAINT audit_records_pkey PRIMARY KEY (tenant_id, id);
ALTER SEQUENCE audit_records_id_seq CACHE 1;
-- Ids come from the trigger below, after the lock (a column default would
-- be drawn before it).
ALTER TABLE audit_records ALTER COLUMN id DROP DEFAULT;

-- Search: newest first within a tenant, keyset (occurred_at, id).
CREATE INDEX audit_records_tenant_time_idx ON audit_records (tenant_id, occurred_at DESC, id DESC);
CREATE INDEX audit_records_tenant_activity_idx ON audit_records (tenant_id, activity, occurred_at DESC, id DESC);
-- "Everything about this request": an item is usually a request GUID that
-- only a handful of records share; without this a search for it reads the
-- whole tenant (50 ms at 100,000 records). Costs appends nothing measurable.
CREATE INDEX audit_records_tenant_item_idx ON audit_records (tenant_id, item, occurred_at DESC, id DESC);

CREATE OR REPLACE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- Every record, however inserted: the tenant's lock shared, then the id.
CREATE FUNCTION audit_records_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(NEW.tenant_id::text, 7346205010));
    NEW.id := nextval('audit_records_id_seq');
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_records_numbered
    BEFORE INSERT ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_records_number();

CREATE TRIGGER audit_chain_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_records_append_only();

CREATE TRIGGER audit_chain_no_truncate
    BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only();

CREATE VIEW audit_log AS
SELECT r.id, r.tenant_id, r.occurred_at, r.actor_id, r.actor_name, r.ip, r.activity,
       r.item, r.parameters, r.request_id, c.seq, c.prev_hash, c.hash
FROM audit_records r
LEFT JOIN audit_chain c ON c.tenant_id = r.tenant_id AND c.record_id = r.id;

DROP FUNCTION audit_append(uuid, timestamptz, text, text, text, text, text, uuid, text, bytea, bytea);

-- Inserts a record and returns its id: one prepared round trip (the
-- trigger takes the shared tenant lock, held until the caller's
-- transaction ends, and numbers the record).
CREATE FUNCTION audit_append(
    p_tenant uuid, p_occurred_at timestamptz, p_actor_id text, p_actor_name text, p_ip text,
    p_activity text, p_item text, p_request_id uuid, p_parameters jsonb
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    appended bigint;
BEGIN
    INSERT INTO audit_records (tenant_id, occurred_at, actor_id, actor_name, ip,
                               activity, item, request_id, parameters)
    VALUES (p_tenant, p_occurred_at, p_actor_id, p_actor_name, p_ip,
            p_activity, p_item, p_request_id, p_parameters)
    RETURNING id INTO appended;
    RETURN appended;
END;
$$;

-- The tenant's watermark: the greatest record id such that every record of
-- the tenant up to it is committed. Takes the tenant lock exclusively,
-- which waits for the appends in flight, and reads the greatest id with a
-- snapshot taken after that (a VOLATILE function's statements each take a
-- fresh one, in READ COMMITTED). Call it in a transaction of its own
-- (autocommit), so the lock is held only for that instant. While it waits,
-- new appends to the tenant queue behind it; so it waits at most 50 ms
-- (an append in flight normally ends within a few) and answers NULL,
-- "nothing to seal this round", when an open transaction holds it up.
CREATE FUNCTION audit_watermark(p_tenant uuid) RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM set_config('lock_timeout', '50ms', true);
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_tenant::text, 7346205010));
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    RETURN (SELECT max(id) FROM audit_records WHERE tenant_id = p_tenant);
END;
$$;
