ALTER TABLE language_preferences DROP COLUMN chosen;
