DROP INDEX tip_messages_held;
ALTER TABLE tip_messages DROP COLUMN held;
ALTER TABLE tip_messages DROP COLUMN window_end;
DROP INDEX tip_reports_held;
ALTER TABLE tip_reports DROP COLUMN held;
ALTER TABLE tip_reports DROP COLUMN window_end;
