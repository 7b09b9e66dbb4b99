-- Issue 18. A mail language the person chose on their account page: sign-in
-- and the language switch no longer overwrite it (they set the language only
-- while nobody chose one).
ALTER TABLE language_preferences ADD COLUMN chosen boolean NOT NULL DEFAULT false;
