DROP INDEX outbox_request_idx;
