DROP INDEX audit_records_parameters_trgm_idx;
-- pg_trgm stays: something else may use it.
