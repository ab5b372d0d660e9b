-- Any adult raises a concern (issue 15): the attendance concerns become one
-- queue with what staff saw. A concern is about one or more pupils
-- (concern_students; `student_id` stays the first, for the absence pattern's
-- one-per-window rule), is triaged by the principal or a counsellor, and
-- links to the case it became.
ALTER TABLE concerns ADD COLUMN kind TEXT NOT NULL DEFAULT 'absence_pattern';
ALTER TABLE concerns ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE concerns ALTER COLUMN window_start DROP NOT NULL;
ALTER TABLE concerns ALTER COLUMN window_end DROP NOT NULL;
ALTER TABLE concerns ALTER COLUMN absence_days DROP NOT NULL;
ALTER TABLE concerns ADD COLUMN category TEXT;
ALTER TABLE concerns ADD COLUMN author_id TEXT REFERENCES users(id);
ALTER TABLE concerns ADD COLUMN what_happened TEXT;
ALTER TABLE concerns ADD COLUMN location TEXT;
ALTER TABLE concerns ADD COLUMN happened_at TIMESTAMP;
ALTER TABLE concerns ADD COLUMN child_words TEXT;
ALTER TABLE concerns ADD COLUMN action_taken TEXT;
ALTER TABLE concerns ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE concerns ALTER COLUMN status DROP DEFAULT;
ALTER TABLE concerns ADD COLUMN triage_note TEXT;
ALTER TABLE concerns ADD COLUMN triaged_by TEXT REFERENCES users(id);
ALTER TABLE concerns ADD COLUMN triaged_at TIMESTAMP;
ALTER TABLE concerns ADD COLUMN case_id TEXT REFERENCES cases(id);
DROP INDEX concerns_school;
CREATE INDEX concerns_school ON concerns(school_id, id);
CREATE INDEX concerns_author ON concerns(author_id);

CREATE TABLE concern_students (
    concern_id TEXT NOT NULL REFERENCES concerns(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (concern_id, student_id)
);
CREATE INDEX concern_students_student ON concern_students(student_id);
INSERT INTO concern_students (concern_id, student_id) SELECT id, student_id FROM concerns;
