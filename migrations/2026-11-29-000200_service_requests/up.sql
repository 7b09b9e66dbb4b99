-- Service requests (support tickets) a customer opens in the admin center and
-- provider staff answer in the engineer portal (SPEC §12), the lockbox
-- request's link to the ticket it cites, and the approvers' "more
-- information" questions with the engineers' answers (SPEC §2).

-- Ticket numbers: SR-YYYYMMDD followed by this sequence's value (at least
-- five digits). A sequence never hands out a value twice, so numbers are
-- unique across the deployment and never reused, however many open at once.
CREATE SEQUENCE service_request_number_seq;

CREATE TABLE service_requests (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    number text NOT NULL UNIQUE CHECK (number ~ '^SR-[0-9]{13,}$'),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 4000),
    workload text NOT NULL CHECK (workload IN ('exchange', 'sharepoint', 'onedrive')),
    severity text NOT NULL CHECK (severity IN ('A', 'B', 'C')),
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    opened_by uuid NOT NULL REFERENCES tenant_users (id),
    opener_name text NOT NULL,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz,
    closed_by_name text,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
-- The tenant's list: open first, newest first (keyset).
CREATE INDEX service_requests_tenant_list
    ON service_requests (tenant_id, (status = 'open') DESC, opened_at DESC, id DESC);
-- The provider's queue: every open ticket, oldest first.
CREATE INDEX service_requests_open_queue
    ON service_requests (opened_at, id) WHERE status = 'open';

CREATE TABLE service_request_messages (
    id bigserial PRIMARY KEY,
    ticket_id uuid NOT NULL REFERENCES service_requests (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    author_kind text NOT NULL CHECK (author_kind IN ('customer', 'staff')),
    author_id uuid NOT NULL,
    author_name text NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000)
);
CREATE INDEX service_request_messages_ticket ON service_request_messages (ticket_id, id);

-- The open ticket a request cited when it was filed (NULL: no matching
-- ticket, only possible with LOCKBOX_REQUIRE_TICKET off, or filed before).
ALTER TABLE access_requests ADD COLUMN ticket_id uuid REFERENCES service_requests (id);
CREATE INDEX access_requests_ticket ON access_requests (ticket_id) WHERE ticket_id IS NOT NULL;

-- "More information": an approver's question and the engineer's answer.
CREATE TABLE request_information (
    id bigserial PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES access_requests (id),
    kind text NOT NULL CHECK (kind IN ('question', 'answer')),
    occurred_at timestamptz NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('customer', 'engineer')),
    actor_id uuid NOT NULL,
    actor_name text NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000)
);
CREATE INDEX request_information_request ON request_information (request_id, id);

GRANT USAGE ON SEQUENCE service_request_number_seq TO lockbox_app;
GRANT SELECT, INSERT, UPDATE ON service_requests TO lockbox_app;
GRANT SELECT, INSERT ON service_request_messages TO lockbox_app;
GRANT USAGE ON SEQUENCE service_request_messages_id_seq TO lockbox_app;
GRANT SELECT, INSERT ON request_information TO lockbox_app;
GRANT USAGE ON SEQUENCE request_information_id_seq TO lockbox_app;
