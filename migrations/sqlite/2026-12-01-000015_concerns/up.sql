-- Any adult raises a concern (issue 15): the attendance concerns become one
-- queue with what staff saw. A concern is about one or more pupils
-- (concern_students; `student_id` stays the first, for the absence pattern's
-- one-per-window rule), is triaged by the principal or a counsellor, and
-- links to the case it became. SQLite cannot drop NOT NULL: the table is
-- rebuilt.
CREATE TABLE concerns_new (
    id TEXT PRIMARY KEY NOT NULL,
    school_id TEXT NOT NULL REFERENCES schools(id),
    -- absence_pattern (raised by attendance) | observation (written by staff)
    kind TEXT NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    window_start TEXT,
    window_end TEXT,
    absence_days INTEGER,
    category TEXT,
    author_id TEXT REFERENCES users(id),
    what_happened TEXT,
    location TEXT,
    happened_at TIMESTAMP,
    child_words TEXT,
    action_taken TEXT,
    -- open | monitor | no_action | case_opened
    status TEXT NOT NULL,
    triage_note TEXT,
    triaged_by TEXT REFERENCES users(id),
    triaged_at TIMESTAMP,
    case_id TEXT REFERENCES cases(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (student_id, window_start)
);
INSERT INTO concerns_new (id, school_id, kind, student_id, window_start, window_end,
                          absence_days, status, created_at)
    SELECT id, school_id, 'absence_pattern', student_id, window_start, window_end,
           absence_days, 'open', created_at
    FROM concerns;
DROP TABLE concerns;
ALTER TABLE concerns_new RENAME TO concerns;
CREATE INDEX concerns_school ON concerns(school_id, id);
CREATE INDEX concerns_author ON concerns(author_id);

CREATE TABLE concern_students (
    concern_id TEXT NOT NULL REFERENCES concerns(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (concern_id, student_id)
);
CREATE INDEX concern_students_student ON concern_students(student_id);
INSERT INTO concern_students (concern_id, student_id) SELECT id, student_id FROM concerns;
