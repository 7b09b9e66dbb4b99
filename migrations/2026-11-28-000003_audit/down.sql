DROP FUNCTION audit_append(uuid, timestamptz, text, text, text, text, text, uuid, text, bytea, bytea);
DROP TABLE audit_records;
DROP FUNCTION audit_records_append_only();
