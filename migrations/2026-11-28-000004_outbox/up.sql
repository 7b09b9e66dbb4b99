-- The transactional outbox: mail is written here in the same transaction as
-- the state change it reports, and delivered by a worker. A message is
-- claimed with FOR UPDATE SKIP LOCKED, so two workers never send it at the
-- same time; its Message-ID is fixed here, so a resend after a crash is
-- recognisable as the same message.
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    kind text NOT NULL,
    request_id uuid REFERENCES access_requests (id),
    to_address text NOT NULL CHECK (to_address LIKE '%@%'),
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error text,
    created_at timestamptz NOT NULL,
    sent_at timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
