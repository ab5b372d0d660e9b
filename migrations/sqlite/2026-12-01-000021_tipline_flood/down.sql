DROP INDEX tip_reports_school_window;
DROP TABLE tip_attachment_blobs;
CREATE TABLE tip_receipt_failures (
    id TEXT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL
);
CREATE INDEX tip_receipt_failures_at ON tip_receipt_failures(at);
DROP TABLE tip_pow_spent;
CREATE TABLE tip_pow_challenges (
    id TEXT PRIMARY KEY NOT NULL,
    difficulty INTEGER NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
