-- Access requests and their timeline. The current state is kept on the
-- request for querying; every transition is a row in the timeline. Reading
-- code derives the effective state from the deadlines, so a request is
-- expired the instant its deadline passes even before the sweeper records it.

CREATE TABLE access_requests (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    engineer_id uuid NOT NULL REFERENCES provider_staff (id),
    service_request text NOT NULL CHECK (length(service_request) BETWEEN 1 AND 64 AND service_request = btrim(service_request)),
    workload text NOT NULL CHECK (workload IN ('exchange', 'sharepoint', 'onedrive')),
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 480),
    justification text NOT NULL CHECK (length(justification) BETWEEN 1 AND 2000),
    status text NOT NULL CHECK (status IN (
        'pending_manager', 'pending_customer', 'approved', 'rejected', 'denied',
        'expired', 'cancelled', 'revoked', 'ended')),
    created_at timestamptz NOT NULL,
    manager_id uuid REFERENCES provider_staff (id),
    manager_decided_at timestamptz,
    -- Deadline of the customer's decision (set on reaching pending_customer).
    expires_at timestamptz,
    approved_at timestamptz,
    -- End of the access window (set on approval).
    ends_at timestamptz,
    closed_at timestamptz,
    -- The two-person rule, held by the database too.
    CONSTRAINT two_person_rule CHECK (manager_id IS NULL OR manager_id <> engineer_id),
    CONSTRAINT pending_customer_has_deadline CHECK (status <> 'pending_customer' OR expires_at IS NOT NULL),
    CONSTRAINT approved_has_window CHECK (status <> 'approved' OR (approved_at IS NOT NULL AND ends_at IS NOT NULL))
);
CREATE INDEX access_requests_tenant_idx ON access_requests (tenant_id, created_at DESC, id DESC);
CREATE INDEX access_requests_engineer_idx ON access_requests (engineer_id, created_at DESC, id DESC);
CREATE INDEX access_requests_status_idx ON access_requests (status, created_at);
CREATE INDEX access_requests_due_idx ON access_requests (expires_at) WHERE status = 'pending_customer';
CREATE INDEX access_requests_window_idx ON access_requests (ends_at) WHERE status = 'approved';

CREATE TABLE access_request_events (
    id bigserial PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES access_requests (id),
    occurred_at timestamptz NOT NULL,
    event text NOT NULL CHECK (event IN (
        'filed', 'manager_approved', 'manager_rejected', 'customer_approved', 'customer_denied',
        'cancelled', 'revoked', 'expired', 'ended')),
    to_status text NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('engineer', 'manager', 'customer', 'system')),
    actor_id uuid,
    actor_name text NOT NULL,
    comment text CHECK (comment IS NULL OR length(comment) <= 1000)
);
-- No state is ever entered twice, so two concurrent decisions cannot both
-- be recorded even if the row lock were bypassed.
CREATE UNIQUE INDEX access_request_events_once ON access_request_events (request_id, to_status);
