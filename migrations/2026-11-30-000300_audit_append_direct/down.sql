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
REVOKE EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb) TO lockbox_app;
