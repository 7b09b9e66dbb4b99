-- Free text in an audit search is `parameters::text ILIKE '%term%'`. A term
-- common among the newest records is found by the ordered scan; a rare one
-- would make that scan read the whole tenant. This trigram index finds it
-- instead (src/audit/search.rs decides which way to go). pg_trgm ships with
-- PostgreSQL and is a trusted extension: a database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX audit_records_parameters_trgm_idx ON audit_records
    USING gin ((parameters::text) gin_trgm_ops);
