-- Issue 20. The webhook claim looks, for each enabled endpoint that is not
-- resting, for its pending delivery due longest. With due deliveries
-- indexed by time alone, each endpoint's look walked every due delivery
-- of every endpoint: 8 ms an endpoint with 50,000 waiting, on every round.
-- Indexed by endpoint, then time, each look reads a few rows.
CREATE INDEX webhook_deliveries_endpoint_due
    ON webhook_deliveries (endpoint_id, next_attempt_at, created_at)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_due;

-- The retention sweep (finished deliveries older than 30 days) runs each
-- round; without an index it read the whole table when nothing was old.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (created_at)
    WHERE status <> 'pending';

-- An endpoint's own backoff: its failed attempts in a row (0 after a
-- success) and, after a failure, when it may be tried again. A receiver
-- that is away is tried once per backoff (30 s doubling, capped at an
-- hour, ±20 %), whatever its backlog; one event it rejects while it
-- accepts the others holds them up for about 30 s each time it is retried,
-- since a success resets the count.
ALTER TABLE webhook_endpoints
    ADD COLUMN failures integer NOT NULL DEFAULT 0,
    ADD COLUMN resting_until timestamptz;
