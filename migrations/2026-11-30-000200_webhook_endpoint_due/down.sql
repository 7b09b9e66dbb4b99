ALTER TABLE webhook_endpoints DROP COLUMN resting_until, DROP COLUMN failures;
DROP INDEX webhook_deliveries_finished;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
DROP INDEX webhook_deliveries_endpoint_due;
