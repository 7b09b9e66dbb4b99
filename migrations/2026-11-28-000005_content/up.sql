-- The bundled content store: what the lockbox guards. Exchange Online
-- mailboxes and messages, SharePoint Online sites and documents with their
-- versions, OneDrive for Business files with their versions. Provider staff
-- read it only through the enforcement point (src/content/mod.rs).

CREATE TABLE mailboxes (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    address text NOT NULL,
    display_name text NOT NULL,
    UNIQUE (tenant_id, address)
);

CREATE TABLE mail_messages (
    id uuid PRIMARY KEY,
    mailbox_id uuid NOT NULL REFERENCES mailboxes (id),
    sender text NOT NULL,
    recipients text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    received_at timestamptz NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes >= 0)
);
CREATE INDEX mail_messages_mailbox_idx ON mail_messages (mailbox_id, received_at DESC);

CREATE TABLE sites (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    path text NOT NULL,
    title text NOT NULL,
    UNIQUE (tenant_id, path)
);

CREATE TABLE documents (
    id uuid PRIMARY KEY,
    site_id uuid NOT NULL REFERENCES sites (id),
    path text NOT NULL,
    title text NOT NULL,
    body text NOT NULL,
    UNIQUE (site_id, path)
);

CREATE TABLE document_versions (
    document_id uuid NOT NULL REFERENCES documents (id),
    version integer NOT NULL CHECK (version >= 1),
    modified_by text NOT NULL,
    modified_at timestamptz NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes >= 0),
    PRIMARY KEY (document_id, version)
);

CREATE TABLE drive_files (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id),
    owner text NOT NULL,
    path text NOT NULL,
    UNIQUE (tenant_id, owner, path)
);

CREATE TABLE drive_file_versions (
    file_id uuid NOT NULL REFERENCES drive_files (id),
    version integer NOT NULL CHECK (version >= 1),
    modified_at timestamptz NOT NULL,
    size_bytes integer NOT NULL CHECK (size_bytes >= 0),
    PRIMARY KEY (file_id, version)
);

-- The enforcement point's lookup: an engineer's approved window.
CREATE INDEX access_requests_window_lookup_idx
    ON access_requests (engineer_id, tenant_id, workload, ends_at) WHERE status = 'approved';
