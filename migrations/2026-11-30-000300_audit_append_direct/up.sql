-- Issue 20. Records are appended by a prepared INSERT … RETURNING id
-- (audit::append); the table's trigger still takes the tenant's lock
-- shared and draws the id, whoever inserts. The PL/pgSQL function that
-- wrapped that INSERT cost a customer decision about 5 % of its
-- PostgreSQL CPU time (README, Web benchmark) and has no caller left.
DROP FUNCTION audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb);
