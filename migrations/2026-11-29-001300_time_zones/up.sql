-- Issue 22. Times in the reader's time zone (IANA names, e.g.
-- 'Europe/Amsterdam'). Each organisation has a default for its people
-- (Settings › Org settings); UTC until a global administrator picks one.
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK (time_zone <> '' AND length(time_zone) <= 64);

-- The zone each person chose on their account page (both realms, as
-- language_preferences: `admin` tenant users, `engineer` provider staff),
-- kept apart from the account tables so the runtime role may write it
-- without writing the accounts. `zone` NULL: the organisation's default
-- (staff: UTC).
CREATE TABLE time_zone_preferences (
    realm text NOT NULL CHECK (realm IN ('admin', 'engineer')),
    account_id uuid NOT NULL,
    zone text CHECK (zone <> '' AND length(zone) <= 64),
    updated_at timestamptz NOT NULL,
    CONSTRAINT time_zone_preferences_account PRIMARY KEY (realm, account_id)
);

GRANT SELECT, INSERT, UPDATE ON time_zone_preferences TO lockbox_app;
