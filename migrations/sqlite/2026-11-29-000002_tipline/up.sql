-- Recipients' public keys (the private halves never reach the server).
CREATE TABLE tip_recipient_keys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id),
    public_key TEXT NOT NULL,
    key_backup TEXT,
    created_at TIMESTAMP NOT NULL,
    retired_at TIMESTAMP
);
CREATE INDEX tip_recipient_keys_user ON tip_recipient_keys(user_id);

-- The school staff a school admin designated to receive the mailbox.
CREATE TABLE tip_mailbox_recipients (
    id TEXT PRIMARY KEY NOT NULL,
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (school_id, user_id)
);

-- One-time proof-of-work challenges; a used one is deleted.
CREATE TABLE tip_pow_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    difficulty INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- Reports: metadata and ciphertext only. Nothing about the sender.
CREATE TABLE tip_reports (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    category TEXT NOT NULL,
    urgency TEXT NOT NULL,
    concerns_staff BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    receipt_mac TEXT NOT NULL UNIQUE,
    reporter_public_key TEXT NOT NULL,
    envelope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    escalated_at TIMESTAMP,
    outcome TEXT,
    close_requested_by TEXT REFERENCES users(id),
    close_outcome TEXT,
    close_note TEXT
);
CREATE INDEX tip_reports_school ON tip_reports(school_id, status);
CREATE INDEX tip_reports_district ON tip_reports(district_id, status);
CREATE INDEX tip_reports_created ON tip_reports(created_at);

-- Messages and attachments: `sender` is reporter or school; author_id is the
-- staff member for school messages, never anything about the reporter.
CREATE TABLE tip_messages (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES tip_reports(id),
    sender TEXT NOT NULL,
    author_id TEXT REFERENCES users(id),
    is_attachment BOOLEAN NOT NULL,
    envelope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_messages_report ON tip_messages(report_id, created_at);

-- Per-user relation to a report: 'shared' (given access to a concerns_staff
-- report by the bureau), 'recused' (conflict of interest), with read marks.
CREATE TABLE tip_report_access (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES tip_reports(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (report_id, user_id, kind)
);
CREATE INDEX tip_report_access_user ON tip_report_access(user_id, kind);

CREATE TABLE tip_report_reads (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES tip_reports(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    read_at TIMESTAMP NOT NULL,
    UNIQUE (report_id, user_id)
);

-- Handling history: who moved a report to which status, with the note.
CREATE TABLE tip_report_events (
    id TEXT PRIMARY KEY NOT NULL,
    report_id TEXT NOT NULL REFERENCES tip_reports(id),
    actor_id TEXT REFERENCES users(id),
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_report_events_report ON tip_report_events(report_id, created_at);

-- Wrong receipts, counted globally (no address, nothing per sender).
CREATE TABLE tip_receipt_failures (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX tip_receipt_failures_at ON tip_receipt_failures(at);
