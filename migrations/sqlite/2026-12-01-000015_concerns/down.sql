DROP TABLE concern_students;
CREATE TABLE concerns_old (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    absence_days INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (student_id, window_start)
);
INSERT INTO concerns_old SELECT id, student_id, school_id, window_start, window_end,
                                absence_days, created_at
    FROM concerns WHERE kind = 'absence_pattern';
DROP TABLE concerns;
ALTER TABLE concerns_old RENAME TO concerns;
CREATE INDEX concerns_school ON concerns(school_id);
