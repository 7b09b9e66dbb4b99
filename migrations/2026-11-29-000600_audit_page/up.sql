-- One page of a tenant's audit log, newest first, strictly before a
-- (time, id) cursor, read in the order of the index on (tenant_id,
-- occurred_at DESC, id DESC) whatever the statistics say. A log loaded in
-- bulk and not analysed yet has none; the planner then guesses a tenant
-- has a few dozen records and fetches all of them to sort them for one
-- page — a million rows for fifty. Sorting is turned off for this query
-- only, so the ordered index scan that stops at the page's end is the
-- plan. PL/pgSQL keeps the plan for the session (prepared once).
CREATE FUNCTION audit_page(p_tenant uuid, p_before_at timestamptz, p_before_id bigint, p_limit bigint)
RETURNS SETOF audit_log LANGUAGE plpgsql STABLE
SET enable_sort = off
AS $$
BEGIN
    RETURN QUERY
    SELECT * FROM audit_log
    WHERE tenant_id = p_tenant AND (occurred_at, id) < (p_before_at, p_before_id)
    ORDER BY occurred_at DESC, id DESC
    LIMIT p_limit;
END
$$;

REVOKE EXECUTE ON FUNCTION audit_page(uuid, timestamptz, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION audit_page(uuid, timestamptz, bigint, bigint) TO lockbox_app;
