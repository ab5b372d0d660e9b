-- No timing trail (issue 13, section 1). A report or a reporter's message
-- is kept to the window its urgency sets (normal 60 minutes, urgent 15,
-- danger_now none): its times are the window's start, and it stays `held`,
-- unseen by staff and unannounced, until the window ends and a worker
-- releases the window's whole batch in random order. `window_end` is kept:
-- a report's deadlines count from it. Rows written before windows existed
-- are released, their window ending when they were made.
ALTER TABLE tip_reports ADD COLUMN window_end TIMESTAMP;
ALTER TABLE tip_reports ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE tip_reports SET window_end = created_at;
CREATE INDEX tip_reports_held ON tip_reports(held, window_end);
ALTER TABLE tip_messages ADD COLUMN window_end TIMESTAMP;
ALTER TABLE tip_messages ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE tip_messages SET window_end = created_at;
CREATE INDEX tip_messages_held ON tip_messages(held, window_end);
