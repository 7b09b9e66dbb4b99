DROP TABLE recovery_codes;
DROP TABLE second_factors;
ALTER TABLE tenants DROP COLUMN require_two_factor;
