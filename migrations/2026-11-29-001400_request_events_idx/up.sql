-- A request's timeline and its customer approvals are read by request_id
-- (queries::timeline, queries::with_approvals, the list's approvals). The
-- two unique indexes on (request_id, …) are partial since the customer
-- quorum (000500), and a statement whose event is a parameter, or that
-- reads every event of a request, cannot prove their predicates: each such
-- read scanned the whole table (1.25 ms per decision's approvals with
-- 20,000 requests; every detail page's timeline; issue 20).
CREATE INDEX access_request_events_request_idx
    ON access_request_events (request_id, occurred_at, id);
