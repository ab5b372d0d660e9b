DROP INDEX audit_events_actor;
DROP TABLE tip_recipient_changes;
DROP INDEX tip_reports_due;
ALTER TABLE tip_reports DROP COLUMN due_at;
