-- A report's thread is ordered by a number given inside the write
-- transaction, not by a time or an id: times are kept only coarsely, and an
-- id's time part says nothing about the order of one report's messages.
ALTER TABLE tip_reports ADD COLUMN message_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tip_messages ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

UPDATE tip_messages SET seq = (
    SELECT COUNT(*) FROM tip_messages earlier
    WHERE earlier.report_id = tip_messages.report_id
      AND (earlier.created_at < tip_messages.created_at
           OR (earlier.created_at = tip_messages.created_at AND earlier.id <= tip_messages.id))
);
UPDATE tip_reports SET message_seq = (
    SELECT COUNT(*) FROM tip_messages WHERE tip_messages.report_id = tip_reports.id
);

CREATE UNIQUE INDEX tip_messages_report_seq ON tip_messages(report_id, seq);
