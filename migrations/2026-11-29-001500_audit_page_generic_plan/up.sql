-- audit_page (migration 000600) is planned once per session and kept.
-- PL/pgSQL prepares its query once but, like any prepared statement,
-- plans it for the call's values until the plan for unknown values (the
-- generic plan) looks no dearer. With the limit a parameter, the generic
-- plan guesses a page is a tenth of the tenant's records and never looks
-- cheap enough: every page was planned afresh. The generic plan here is
-- the ordered index scan that stops at the page's end (sorting is off),
-- right for every tenant and cursor, so it is forced.
CREATE OR REPLACE FUNCTION audit_page(p_tenant uuid, p_before_at timestamptz, p_before_id bigint, p_limit bigint)
RETURNS SETOF audit_log LANGUAGE plpgsql STABLE
SET enable_sort = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    RETURN QUERY
    SELECT * FROM audit_log
    WHERE tenant_id = p_tenant AND (occurred_at, id) < (p_before_at, p_before_id)
    ORDER BY occurred_at DESC, id DESC
    LIMIT p_limit;
END
$$;
