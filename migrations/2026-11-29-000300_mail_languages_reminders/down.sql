UPDATE outbox SET status = 'failed' WHERE status = 'withdrawn';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed'));
DROP TABLE request_reminders;
DROP TABLE language_preferences;
