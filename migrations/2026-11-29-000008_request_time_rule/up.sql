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
