-- Issue 18. The language each person's mail is written in (both realms:
-- `admin` tenant users and `engineer` provider staff, as in second_factors), kept apart from the account tables
-- so the runtime role may write it without writing the accounts.
CREATE TABLE language_preferences (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account_id uuid NOT NULL,
    lang text NOT NULL CHECK (lang IN ('en', 'nl')),
    updated_at timestamptz NOT NULL,
    CONSTRAINT language_preferences_account PRIMARY KEY (realm, account_id)
);

GRANT SELECT, INSERT, UPDATE ON language_preferences TO lockbox_app;

-- The reminder of a pending request, at most one: the key makes one lockbox
-- process the sender when several run.
CREATE TABLE request_reminders (
    request_id uuid PRIMARY KEY REFERENCES access_requests (id) ON DELETE CASCADE,
    sent_at timestamptz NOT NULL
);

GRANT SELECT, INSERT ON request_reminders TO lockbox_app;

-- A message no longer useful (a reminder of a request someone decided
-- meanwhile) is `withdrawn`, never sent, never counted as failed.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'withdrawn'));
