-- The serving process connects as a least-privilege role (SPEC §9): it
-- can append to the audit log and read it, never change or remove what
-- is in it, even if it is compromised. Migrations run as the owner of the
-- tables; the server runs as a member of the group role lockbox_app (or
-- as lockbox_app itself, with LOGIN), which holds exactly the privileges
-- below. The app role owns nothing, so it cannot ALTER TABLE (no
-- DISABLE TRIGGER), and with no CREATE on the schema it cannot create
-- functions or tables either. See README, "Database roles".
--
-- The rule for every later migration: a table, view, sequence or function
-- the server uses is granted to lockbox_app, explicitly and only as far as
-- the server needs it, in the migration that creates it. (Not ALTER
-- DEFAULT PRIVILEGES: that would hand every future table the same broad
-- set, audit tables included, and it depends on which role migrates.)
-- tests/api/roles.rs lists the expected privileges of every relation and
-- fails on a new one nobody decided about.

-- The role is cluster-wide; another lockbox database (or the embedded
-- bootstrap) may have created it already. Creating it takes CREATEROLE.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lockbox_app') THEN
        BEGIN
            CREATE ROLE lockbox_app NOLOGIN;
        EXCEPTION
            -- Created by a concurrent migration of another database.
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'lockbox needs the database role lockbox_app, and % may not create roles', current_user
                    USING HINT = 'As a superuser: CREATE ROLE lockbox_app NOLOGIN; GRANT lockbox_app TO <the role DATABASE_URL connects as>; then migrate again.';
        END;
    END IF;
END;
$$;

-- Only the owner creates objects here. PostgreSQL 15 already revokes this
-- from PUBLIC in new databases; older servers (and upgraded ones) did not.
-- (Without the right to, this only warns.)
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO lockbox_app;
-- Before PostgreSQL 15 the schema belongs to the bootstrap superuser, and
-- the owner's REVOKE above only warns: then the app role could still plant
-- functions that later run with the owner's rights. Refuse to go on.
DO $$
BEGIN
    IF has_schema_privilege('lockbox_app', 'public', 'CREATE') THEN
        RAISE EXCEPTION 'lockbox_app may still create objects in schema public'
            USING HINT = 'As a superuser: ALTER SCHEMA public OWNER TO ' || quote_ident(current_user)
                || '; (or REVOKE CREATE ON SCHEMA public FROM PUBLIC;) then migrate again.';
    END IF;
END;
$$;

-- Tenants: read; the Lockbox switch (set_lockbox locks the row FOR UPDATE,
-- which takes UPDATE too). Tenants are created by the operator (CLI).
GRANT SELECT, UPDATE ON tenants TO lockbox_app;
-- The admin center adds users and changes their roles; nothing deletes.
GRANT SELECT, INSERT, UPDATE ON tenant_users TO lockbox_app;
-- Provider staff are created by the operator (CLI); the portal signs in.
GRANT SELECT ON provider_staff TO lockbox_app;

-- Sessions: created, renewed, ended, pruned.
GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions TO lockbox_app;
-- Sign-in throttling: failures recorded, cleared and pruned; lock-outs
-- upserted and pruned.
GRANT SELECT, INSERT, DELETE ON sign_in_failures TO lockbox_app;
GRANT USAGE ON SEQUENCE sign_in_failures_id_seq TO lockbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_lockouts TO lockbox_app;
-- The shared cookie key: created by the first process to start.
GRANT SELECT, INSERT ON app_secrets TO lockbox_app;

-- Requests: filed and moved through their states; the timeline only grows.
GRANT SELECT, INSERT, UPDATE ON access_requests TO lockbox_app;
GRANT SELECT, INSERT ON access_request_events TO lockbox_app;
GRANT USAGE ON SEQUENCE access_request_events_id_seq TO lockbox_app;

-- Mail: written with its change, claimed and marked by the worker.
GRANT SELECT, INSERT, UPDATE ON outbox TO lockbox_app;

-- Customer content: read only (seeded by the operator's `lockbox demo`).
GRANT SELECT ON mailboxes, mail_messages, sites, documents, document_versions,
    drive_files, drive_file_versions TO lockbox_app;

-- The audit log: append and read, nothing else. Records are appended
-- through audit_append (its trigger draws the id from the sequence, as the
-- caller), sealed by inserting into audit_chain; no UPDATE, DELETE or
-- TRUNCATE, whatever the triggers say.
GRANT SELECT, INSERT ON audit_records, audit_chain TO lockbox_app;
GRANT USAGE ON SEQUENCE audit_records_id_seq TO lockbox_app;
GRANT SELECT ON audit_log TO lockbox_app;
-- Functions are executable by PUBLIC unless revoked. The app calls these
-- two (both run as the caller: SECURITY INVOKER); nobody calls the trigger
-- functions (a trigger runs its function whoever fires it) or diesel's
-- helper, which creates triggers.
REVOKE EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb),
    audit_watermark(uuid),
    audit_records_append_only(),
    audit_records_number(),
    diesel_manage_updated_at(regclass),
    diesel_set_updated_at()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    audit_append(uuid, timestamptz, text, text, text, text, text, uuid, jsonb),
    audit_watermark(uuid)
    TO lockbox_app;

-- At start-up the server checks that every migration it knows is applied.
GRANT SELECT ON __diesel_schema_migrations TO lockbox_app;
