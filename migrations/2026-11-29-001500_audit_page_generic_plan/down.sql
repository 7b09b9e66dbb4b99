CREATE OR REPLACE FUNCTION audit_page(p_tenant uuid, p_before_at timestamptz, p_before_id bigint, p_limit bigint)
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
