-- Issue 20. The webhook claim looks, for each enabled endpoint, for its
-- pending delivery due longest, and whether the endpoint is resting (a
-- failed attempt waiting out its backoff, or one in flight). With due
-- deliveries indexed by time alone, each endpoint's look walked every due
-- delivery of every endpoint: 8 ms an endpoint with 50,000 waiting, on
-- every round. Indexed by endpoint, then time, each look reads a few rows.
CREATE INDEX webhook_deliveries_endpoint_due
    ON webhook_deliveries (endpoint_id, next_attempt_at, created_at)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_due;
