-- The account a session is signed in as, beside the session's state (which
-- keeps it too, for the pages): reading a session joins its account in the
-- same statement, so a page view reads both in one round trip (issue 20).
-- The session store writes it whenever it writes the state. Adding a
-- column without a default is a catalogue change, but it waits for the
-- table's lock behind the sessions being read: give up rather than queue
-- every page view behind it.
SET LOCAL lock_timeout = '5s';
ALTER TABLE web_sessions ADD COLUMN principal_id uuid;

-- Live sessions signed in before this migration: the state holds the id
-- as a JSON string inside a JSON string ("\"<uuid>\""). A session left
-- without it still works: the page then reads its account on its own.
UPDATE web_sessions
   SET principal_id = substr(state ->> 'principal', 2, 36)::uuid
 WHERE expires_at > now()
   AND state ->> 'principal' ~ '^"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"$';
