DROP INDEX audit_records_parameters_trgm_idx;
DROP INDEX audit_records_tenant_actor_name_idx;
DROP INDEX audit_records_tenant_actor_idx;
-- pg_trgm stays: something else may use it.
