DROP TABLE login_devices;
DROP INDEX login_failures_client_at;
DROP INDEX login_failures_username_client_at;
ALTER TABLE login_failures DROP COLUMN client;
CREATE INDEX login_failures_username_at ON login_failures(username, at);
