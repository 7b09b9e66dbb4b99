DROP FUNCTION audit_records_page(uuid, timestamptz, bigint, bigint);
