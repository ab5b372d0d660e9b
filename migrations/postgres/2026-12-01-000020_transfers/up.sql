-- Transfers (issue 17): a pupil moves to another school of the district.
-- The new school gets a new record (new number, no history); the old record
-- stays with the old school, readable by it, marked as left, with no
-- guardians and no account, so the old school neither reaches the family
-- nor lists the pupil any more. A school admin's request waits for an
-- admin of the receiving school; the bureau moves at once.
ALTER TABLE students ADD COLUMN left_at TIMESTAMP;
CREATE TABLE student_transfers (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    from_school_id TEXT NOT NULL REFERENCES schools(id),
    to_school_id TEXT NOT NULL REFERENCES schools(id),
    to_class_id TEXT NOT NULL REFERENCES classes(id),
    -- pending | done | declined
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL REFERENCES users(id),
    requested_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users(id),
    decided_at TIMESTAMP,
    new_student_id TEXT REFERENCES students(id)
);
CREATE INDEX student_transfers_to ON student_transfers(to_school_id, status);
CREATE INDEX student_transfers_from ON student_transfers(from_school_id, status);
CREATE INDEX student_transfers_student ON student_transfers(student_id);
