DROP INDEX tip_messages_report_seq;
ALTER TABLE tip_messages DROP COLUMN seq;
ALTER TABLE tip_reports DROP COLUMN message_seq;
