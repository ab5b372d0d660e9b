-- What an edit changed: the fields it changed, as they were and as they
-- became, beside the audit event that says who changed them and when.
CREATE TABLE record_changes (
    event_id TEXT PRIMARY KEY NOT NULL REFERENCES audit_events (id),
    before_json TEXT NOT NULL,
    after_json TEXT NOT NULL
);
