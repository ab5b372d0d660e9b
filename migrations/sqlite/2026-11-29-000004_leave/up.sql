-- Leave and return (请假/销假): the request, its approval chain, the pass the
-- guard checks (hashes only), the exit and the return.
CREATE TABLE leave_requests (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    reason TEXT NOT NULL,
    leaves_campus BOOLEAN NOT NULL,
    pickup_person_id TEXT REFERENCES pickup_persons(id),
    requested_by TEXT NOT NULL REFERENCES users(id),
    requester_role TEXT NOT NULL,
    status TEXT NOT NULL,
    needs_school BOOLEAN NOT NULL,
    guardian_decided_by TEXT REFERENCES users(id),
    guardian_note TEXT,
    teacher_decided_by TEXT REFERENCES users(id),
    teacher_note TEXT,
    school_decided_by TEXT REFERENCES users(id),
    school_note TEXT,
    code_hash TEXT,
    qr_token_hash TEXT,
    left_at TIMESTAMP,
    exit_by TEXT REFERENCES users(id),
    exit_adult_kind TEXT,
    exit_adult_name TEXT,
    returned_at TIMESTAMP,
    returned_by TEXT REFERENCES users(id),
    overdue_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX leave_requests_student ON leave_requests(student_id, starts_at);
CREATE INDEX leave_requests_school_status ON leave_requests(school_id, status);
CREATE INDEX leave_requests_code ON leave_requests(code_hash);
CREATE INDEX leave_requests_qr ON leave_requests(qr_token_hash);

-- What the overdue worker already said (level 1: family and head teacher,
-- level 2: the school admins), so a second run says nothing.
CREATE TABLE leave_overdue_alerts (
    id TEXT PRIMARY KEY NOT NULL,
    leave_id TEXT NOT NULL REFERENCES leave_requests(id),
    level INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (leave_id, level)
);

-- One roll call per class, school date and period; a second one replaces it.
CREATE TABLE roll_calls (
    id TEXT PRIMARY KEY NOT NULL,
    class_id TEXT NOT NULL REFERENCES classes(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    local_date TEXT NOT NULL,
    period INTEGER NOT NULL,
    taken_by TEXT NOT NULL REFERENCES users(id),
    taken_at TIMESTAMP NOT NULL,
    corrected_at TIMESTAMP,
    UNIQUE (class_id, local_date, period)
);

-- A student marked absent at a roll call; excused when an approved leave
-- covered it. A correction withdraws it (the row is kept).
CREATE TABLE absences (
    id TEXT PRIMARY KEY NOT NULL,
    roll_call_id TEXT NOT NULL REFERENCES roll_calls(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    local_date TEXT NOT NULL,
    period INTEGER NOT NULL,
    excused BOOLEAN NOT NULL,
    leave_id TEXT REFERENCES leave_requests(id),
    explanation TEXT,
    explained_by TEXT REFERENCES users(id),
    explained_at TIMESTAMP,
    withdrawn_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX absences_student_date ON absences(student_id, local_date);
CREATE INDEX absences_roll_call ON absences(roll_call_id);

-- A confidential warning: repeated unexplained absences in a window. Seen
-- only by the head teacher, the school's counsellors and its admins.
CREATE TABLE concerns (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    absence_days INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (student_id, window_start)
);
CREATE INDEX concerns_school ON concerns(school_id);
