-- Issue 19. The customer quorum: how many of a tenant's approvers (global
-- administrators and approvers) must approve a request before it opens.
-- Set in Settings by a global administrator; 1 (one approver decides) is
-- the default and what every tenant had before.
ALTER TABLE tenants
    ADD COLUMN approvals_required smallint NOT NULL DEFAULT 1
        CHECK (approvals_required BETWEEN 1 AND 5);

-- The quorum a request is decided under: the tenant's setting at the moment
-- the request entered PendingCustomer (the manager's approval), copied so a
-- later change of the setting never moves a request already waiting. NULL
-- while the request waits for a manager, and for a request opened at once
-- (Lockbox off). Requests that reached the customer before this migration
-- were decided by one approver.
ALTER TABLE access_requests
    ADD COLUMN approvals_required smallint
        CHECK (approvals_required BETWEEN 1 AND 5);
-- (A request that reached the customer is the one with a deadline.)
UPDATE access_requests SET approvals_required = 1 WHERE expires_at IS NOT NULL;

-- An approval is a timeline entry 'customer_approved' (a partial one keeps
-- the state pending_customer). One person approves a request at most once:
-- held by the database as well as by the state machine.
CREATE UNIQUE INDEX access_request_events_one_approval_each
    ON access_request_events (request_id, actor_id)
    WHERE event = 'customer_approved';

-- No state is entered twice (000002) — but a partial approval records the
-- request staying in pending_customer, once per approver; those entries are
-- held to one per approver by the index above instead.
DROP INDEX access_request_events_once;
CREATE UNIQUE INDEX access_request_events_once ON access_request_events (request_id, to_status)
    WHERE NOT (event = 'customer_approved' AND to_status = 'pending_customer');
