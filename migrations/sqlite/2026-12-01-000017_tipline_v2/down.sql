ALTER TABLE tip_reports DROP COLUMN submission_digest;
ALTER TABLE tip_reports DROP COLUMN protocol;
