CREATE INDEX audit_records_request_idx ON audit_records (request_id) WHERE request_id IS NOT NULL;
DROP INDEX audit_records_request_time_idx;
DROP FUNCTION request_effective_status(text, timestamptz, timestamptz, timestamptz);
