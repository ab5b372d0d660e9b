-- The tip line against an insider (issue 13, sections 2 and 5).
--
-- Every open state has a deadline: `due_at` is when a report that left
-- `new` must next move on (acknowledged: reach investigating within school
-- days; investigating and beyond: a progress note). `escalated_at` is
-- cleared at each step, so each deadline escalates once. Reports already
-- past `new` get a deadline counted from their last activity (three
-- calendar days for acknowledged ones: never later than three school days).
ALTER TABLE tip_reports ADD COLUMN due_at TIMESTAMP;
UPDATE tip_reports SET due_at = datetime(last_activity_at, '+3 days'), escalated_at = NULL
    WHERE status = 'acknowledged';
UPDATE tip_reports SET due_at = datetime(last_activity_at, '+14 days'), escalated_at = NULL
    WHERE status IN ('investigating', 'referred_to_police', 'resolved');
CREATE INDEX tip_reports_due ON tip_reports(due_at);

-- A school's mailbox recipients change only when a bureau officer approves.
CREATE TABLE tip_recipient_changes (
    id TEXT PRIMARY KEY,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    proposed_by TEXT NOT NULL REFERENCES users(id),
    -- JSON array of user ids: the whole new list.
    user_ids TEXT NOT NULL,
    -- pending | approved | superseded
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users(id),
    decided_at TIMESTAMP
);
CREATE INDEX tip_recipient_changes_district ON tip_recipient_changes(district_id, status, id);
CREATE INDEX tip_recipient_changes_school ON tip_recipient_changes(school_id, status);

-- Key backup reads are limited per user by counting them in the audit log.
CREATE INDEX audit_events_actor ON audit_events(actor_id, action, at);
