-- The account a session is signed in as, beside the session's state (which
-- keeps it too, for the pages): reading a session joins its account in the
-- same statement, so a page view reads both in one round trip (issue 20).
-- The session store writes it whenever it writes the state.
ALTER TABLE web_sessions ADD COLUMN principal_id uuid;

-- Sessions signed in before this migration: the state holds the id as a
-- JSON string inside a JSON string ("\"<uuid>\"").
UPDATE web_sessions
   SET principal_id = substr(state ->> 'principal', 2, 36)::uuid
 WHERE state ->> 'principal' ~ '^"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$';
