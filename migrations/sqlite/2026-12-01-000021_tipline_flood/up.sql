-- Anonymous floods do not starve the school day (issue 13, section 6).
--
-- Challenges are signed and expiring, and written nowhere: only a spent
-- one is kept (so it cannot be used twice) until it expires. Challenges
-- issued before this migration were rows; they are simply no longer
-- accepted, and a client asks for a new one.
DROP TABLE tip_pow_challenges;
CREATE TABLE tip_pow_spent (
    id TEXT PRIMARY KEY NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_pow_spent_expires ON tip_pow_spent(expires_at);

-- Wrong receipts and lookups are counted in memory: a wrong one writes nothing.
DROP TABLE tip_receipt_failures;

-- Sealed attachments live in the blob directory, one file each, named by
-- a random id; the database keeps what a reader and the district's daily
-- quota need. `created_at` is the message's window start, never finer.
-- Attachments stored before this migration keep their envelope in
-- tip_messages.envelope and have no row here; both are read.
CREATE TABLE tip_attachment_blobs (
    id TEXT PRIMARY KEY NOT NULL,
    message_id TEXT NOT NULL UNIQUE REFERENCES tip_messages(id),
    report_id TEXT NOT NULL REFERENCES tip_reports(id),
    district_id TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tip_attachment_blobs_report ON tip_attachment_blobs(report_id);
CREATE INDEX tip_attachment_blobs_quota ON tip_attachment_blobs(district_id, created_at);

-- The surge difficulty counts one school's recent reports.
CREATE INDEX tip_reports_school_window ON tip_reports(school_id, window_end);
