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

-- Staff who leave: on `effective_on` (from `effective_at`, its first instant
-- at the school, as stored) the account's sessions end and it is
-- disabled, its tip-line mailbox places and head-teacher classes are
-- released, and the principal is told what needs a new owner (`done_at`).
CREATE TABLE staff_departures (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id),
    school_id TEXT NOT NULL REFERENCES schools (id),
    effective_on TEXT NOT NULL,
    effective_at TIMESTAMP NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    done_at TIMESTAMP
);
CREATE INDEX staff_departures_due ON staff_departures (effective_at) WHERE done_at IS NULL;
