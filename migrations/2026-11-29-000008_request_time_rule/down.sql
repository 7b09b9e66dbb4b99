DROP FUNCTION request_effective_status(text, timestamptz, timestamptz, timestamptz);
