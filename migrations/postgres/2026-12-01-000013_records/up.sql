-- What an edit changed: the fields it changed, as they were and as they
-- became, beside the audit event that says who changed them and when.
CREATE TABLE record_changes (
    event_id TEXT PRIMARY KEY NOT NULL REFERENCES audit_events (id),
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);

-- A password an admin set is changed at first login; until then the
-- account reaches nothing but its own password.
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;

-- One-time codes that let a new account set its own password (an account
-- made without one has an empty password_hash and cannot log in). Only a
-- hash of the code is kept; a used code is deleted.
CREATE TABLE activation_codes (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
