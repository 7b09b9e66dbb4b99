ALTER TABLE web_sessions DROP COLUMN principal_id;
