-- Issue 18. Webhook endpoints: a tenant's (registered by a global admin in
-- Settings › Webhooks) or the provider's (`tenant_id` NULL: `lockbox
-- webhook add`, receiving every tenant's events).
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    url text NOT NULL,
    -- The event groups sent (see `webhooks::EventGroup`).
    events text[] NOT NULL,
    -- The endpoint's `whsec_<base64>` signing secret, sealed like the
    -- authenticator secrets (XChaCha20-Poly1305, bound to the endpoint id).
    secret bytea NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    -- Since when every delivery failed (NULL: the last one succeeded);
    -- three days of it disable the endpoint.
    failing_since timestamptz,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id);

-- The webhook outbox: one row per event and endpoint, written in the
-- transaction of the change. `message_id` is the `webhook-id` every retry
-- repeats; `payload` the exact body every retry signs.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    message_id text NOT NULL UNIQUE,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    tenant_id uuid,
    event_type text NOT NULL,
    payload text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    -- When a worker may try it next; a claim moves it past the attempt's
    -- timeout (a lease), so a crashed worker's claim comes due again.
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints TO lockbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_deliveries TO lockbox_app;
