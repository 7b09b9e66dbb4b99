DROP TABLE time_zone_preferences;
ALTER TABLE tenants DROP COLUMN time_zone;
