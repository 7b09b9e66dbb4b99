DROP TABLE sign_in_lockouts;
DROP TABLE sign_in_counters;

CREATE TABLE sign_in_failures (
    id bigserial PRIMARY KEY,
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account text NOT NULL,
    ip text NOT NULL,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_pair_idx ON sign_in_failures (realm, account, ip, occurred_at);
CREATE INDEX sign_in_failures_ip_idx ON sign_in_failures (realm, ip, occurred_at);

CREATE TABLE sign_in_lockouts (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    scope_key text NOT NULL,
    locked_until timestamptz NOT NULL,
    PRIMARY KEY (realm, scope_key)
);

GRANT SELECT, INSERT, DELETE ON sign_in_failures TO lockbox_app;
GRANT USAGE ON SEQUENCE sign_in_failures_id_seq TO lockbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_lockouts TO lockbox_app;
