DROP FUNCTION audit_page(uuid, timestamptz, bigint, bigint);
