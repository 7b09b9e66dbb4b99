-- Filters that match few records of a tenant. The search reads a tenant's
-- records newest first and stops at a page's end, which is quick for
-- anything common; for a rare value that scan would read the whole tenant
-- (30-100 ms at 100,000 records). These indexes find such records instead;
-- each costs appends a few per cent (see README, Audit benchmark).

-- Users: by actor id or by display name, case-insensitively, as searched.
CREATE INDEX audit_records_tenant_actor_idx ON audit_records (tenant_id, actor_id, occurred_at DESC, id DESC);
CREATE INDEX audit_records_tenant_actor_name_idx ON audit_records (tenant_id, lower(actor_name), occurred_at DESC, id DESC);

-- Free text is `parameters::text ILIKE '%term%'`: trigrams. The planner
-- would take this index for common terms too, where it is slow, so
-- src/audit/search.rs first reads the newest candidates in order and only
-- asks it about the older ones. pg_trgm ships with PostgreSQL and is a
-- trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX audit_records_parameters_trgm_idx ON audit_records
    USING gin ((parameters::text) gin_trgm_ops);
