-- A decision withdraws the reminder still queued for its request
-- (outbox::withdraw, by request_id): without an index that read the whole
-- outbox, sent mails included, inside every decision's transaction (66 ms
-- per decision with 30,000 mails in the outbox; issue 20).
CREATE INDEX outbox_request_idx ON outbox (request_id) WHERE request_id IS NOT NULL;
