-- The role itself stays: it is cluster-wide, and other lockbox databases
-- may use it. CREATE on the schema is not handed back to PUBLIC.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM lockbox_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM lockbox_app;
REVOKE EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb),
    audit_watermark(uuid)
    FROM lockbox_app;
GRANT EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb),
    audit_watermark(uuid),
    audit_records_append_only(),
    audit_records_number(),
    diesel_manage_updated_at(regclass),
    diesel_set_updated_at()
    TO PUBLIC;
REVOKE USAGE ON SCHEMA public FROM lockbox_app;
