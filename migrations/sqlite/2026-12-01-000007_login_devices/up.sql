-- Login throttling per (username, client) instead of per username: a client
-- is 'unknown' (no device token, or one not issued to this user), a device
-- the user logged in from before ('device:<login_devices.id>'), or a
-- session changing its password ('session:<sessions.id>'). Existing rows
-- were counted per username, so they join the unknown bucket.
ALTER TABLE login_failures ADD COLUMN client TEXT NOT NULL DEFAULT 'unknown';
DROP INDEX login_failures_username_at;
CREATE INDEX login_failures_username_client_at ON login_failures(username, client, at);
CREATE INDEX login_failures_client_at ON login_failures(client, at);

-- Devices a user has logged in from: only a hash of the device token the
-- server handed out is kept, never the token and never an address.
CREATE TABLE login_devices (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL
);
CREATE INDEX login_devices_user ON login_devices(user_id);
CREATE INDEX login_devices_last_used ON login_devices(last_used_at);
