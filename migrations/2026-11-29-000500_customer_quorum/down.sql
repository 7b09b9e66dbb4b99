DROP INDEX access_request_events_once;
CREATE UNIQUE INDEX access_request_events_once ON access_request_events (request_id, to_status);
DROP INDEX access_request_events_one_approval_each;
ALTER TABLE access_requests DROP COLUMN approvals_required;
ALTER TABLE tenants DROP COLUMN approvals_required;
