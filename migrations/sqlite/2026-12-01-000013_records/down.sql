DROP TABLE staff_departures;
DROP TABLE activation_codes;
ALTER TABLE users DROP COLUMN password_change_required;
DROP TABLE record_changes;
