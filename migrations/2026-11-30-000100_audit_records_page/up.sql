-- One page of a tenant's audit records as a results page lists them:
-- audit_page (migrations 000600 and 001500) without the seal. The Audit
-- page shows no seq or hash per row, and joining each of a page's rows to
-- audit_chain was half of what PostgreSQL spent on the page: with a
-- million records, pgbench -M prepared -c 8 ran 3,700-4,700 calls a
-- second of audit_page and 6,700-7,200 of this one (issue 20). Same
-- order, same plan, for the same reasons (see those migrations).
CREATE FUNCTION audit_records_page(p_tenant uuid, p_before_at timestamptz, p_before_id bigint, p_limit bigint)
RETURNS SETOF audit_records LANGUAGE plpgsql STABLE
SET enable_sort = off
SET plan_cache_mode = force_generic_plan
SET max_parallel_workers_per_gather = 0
AS $$
BEGIN
    RETURN QUERY
    SELECT * FROM audit_records
    WHERE tenant_id = p_tenant AND (occurred_at, id) < (p_before_at, p_before_id)
    ORDER BY occurred_at DESC, id DESC
    LIMIT p_limit;
END
$$;

REVOKE EXECUTE ON FUNCTION audit_records_page(uuid, timestamptz, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_records_page(uuid, timestamptz, bigint, bigint) TO lockbox_app;
