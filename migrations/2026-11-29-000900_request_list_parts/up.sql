-- The request list (queries::list_for_tenant) shows pending requests first,
-- then the rest, each newest first. Each part is read by keyset from an
-- index of its own, so a page reads about a page of rows instead of ranking
-- every request of the tenant. Requests whose deadline passed before the
-- sweeper recorded it are found by the third index.
CREATE INDEX access_requests_tenant_open_idx
    ON access_requests (tenant_id, created_at DESC, id DESC)
    WHERE status IN ('pending_manager', 'pending_customer');
CREATE INDEX access_requests_tenant_closed_idx
    ON access_requests (tenant_id, created_at DESC, id DESC)
    WHERE status NOT IN ('pending_manager', 'pending_customer');
-- The tenant's requests whose deadline passed while still stored as waiting
-- for the customer (the sweeper records them as expired soon after).
CREATE INDEX access_requests_tenant_due_idx
    ON access_requests (tenant_id, expires_at)
    WHERE status = 'pending_customer';
