-- The time rule of a request, in SQL: the twin of `Snapshot::effective` in
-- src/requests/machine.rs, and the only place SQL states it. A request
-- waiting for the customer is expired from its deadline on; an approved
-- request is ended from the end of its window on; whether or not anybody
-- recorded it yet. `at` is the caller's "now" (the application's clock).
-- LANGUAGE sql and IMMUTABLE, so the planner inlines it into each query.
CREATE FUNCTION request_effective_status(
    status text,
    expires_at timestamptz,
    ends_at timestamptz,
    at timestamptz
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN status = 'pending_customer' AND expires_at <= at THEN 'expired'
        WHEN status = 'approved' AND ends_at <= at THEN 'ended'
        ELSE status
    END
$$;

-- A request's own audit records, newest first, a page at a time (the
-- operator actions on the customer's request page).
CREATE INDEX audit_records_request_time_idx
    ON audit_records (request_id, occurred_at DESC, id DESC) WHERE request_id IS NOT NULL;
DROP INDEX audit_records_request_idx;

-- The serving role calls it in its queries (see migration 2026-11-28-000008).
REVOKE EXECUTE ON FUNCTION request_effective_status(text, timestamptz, timestamptz, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION request_effective_status(text, timestamptz, timestamptz, timestamptz)
    TO lockbox_app;
