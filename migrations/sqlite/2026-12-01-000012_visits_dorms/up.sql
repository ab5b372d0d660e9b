-- The gate's visitors and vehicles (issue 16). The watch list gains what a
-- guard can match at the gate (a phone, a plate), who added an entry and
-- when it was lifted; a school admin's own bans are kept with a note.
ALTER TABLE watch_list ADD COLUMN phone TEXT;
ALTER TABLE watch_list ADD COLUMN plate TEXT;
ALTER TABLE watch_list ADD COLUMN note TEXT;
ALTER TABLE watch_list ADD COLUMN created_by TEXT REFERENCES users(id);
ALTER TABLE watch_list ADD COLUMN lifted_at TIMESTAMP;
ALTER TABLE watch_list ADD COLUMN lifted_by TEXT REFERENCES users(id);
ALTER TABLE watch_list ADD COLUMN lift_note TEXT;
CREATE INDEX watch_list_school ON watch_list(school_id, id);

-- A visit: pre-registered by its host (status 'expected', an 8-digit code
-- kept only as a keyed hash), or a walk-in the guard records ('pending_host'
-- until the host decides). The visitor's ID number is kept as its last 4
-- and a keyed hash, never whole.
CREATE TABLE visits (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    host_user_id TEXT NOT NULL REFERENCES users(id),
    visitor_name TEXT NOT NULL,
    visitor_phone TEXT NOT NULL,
    id_last4 TEXT,
    id_hmac TEXT,
    purpose TEXT NOT NULL,
    vehicle_plate TEXT,
    window_from TIMESTAMP NOT NULL,
    window_until TIMESTAMP NOT NULL,
    code_hash TEXT,
    walk_in BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    decided_by TEXT REFERENCES users(id),
    decided_at TIMESTAMP,
    checked_in_at TIMESTAMP,
    checked_in_by TEXT REFERENCES users(id),
    checked_out_at TIMESTAMP,
    checked_out_by TEXT REFERENCES users(id),
    overstay_alerted_at TIMESTAMP,
    -- A visit a case refers to is kept past the retention period.
    case_id TEXT REFERENCES cases(id)
);
CREATE INDEX visits_school ON visits(school_id, window_from);
CREATE INDEX visits_code ON visits(school_id, code_hash);
CREATE INDEX visits_status ON visits(status, window_until);

-- When the school's gate closes (its local time): the guard and the
-- principal then get the list of visitors still inside, once a day.
ALTER TABLE schools ADD COLUMN closing_time TEXT NOT NULL DEFAULT '18:00';
CREATE TABLE gate_closing_alerts (
    school_id TEXT NOT NULL REFERENCES schools(id),
    local_date TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (school_id, local_date)
);

-- Girls' dormitories (issue 16): a person's sex, kept only where a rule needs
-- it (who may work in or live in a girls' dormitory).
ALTER TABLE users ADD COLUMN sex TEXT;
ALTER TABLE students ADD COLUMN sex TEXT;

CREATE TABLE dorms (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (school_id, name)
);
CREATE TABLE dorm_residents (
    dorm_id TEXT NOT NULL REFERENCES dorms(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (dorm_id, student_id)
);
CREATE TABLE dorm_staff (
    dorm_id TEXT NOT NULL REFERENCES dorms(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (dorm_id, user_id)
);
-- A man entering a girls' dormitory: approved beforehand by the school
-- admin or the dorm's manager, with a reason; otherwise an incident.
CREATE TABLE dorm_entries (
    id TEXT PRIMARY KEY,
    dorm_id TEXT NOT NULL REFERENCES dorms(id),
    name TEXT NOT NULL,
    user_id TEXT REFERENCES users(id),
    reason TEXT,
    approved_by TEXT REFERENCES users(id),
    incident BOOLEAN NOT NULL,
    entered_at TIMESTAMP NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id)
);
CREATE INDEX dorm_entries_dorm ON dorm_entries(dorm_id, id);
CREATE TABLE dorm_roll_calls (
    id TEXT PRIMARY KEY,
    dorm_id TEXT NOT NULL REFERENCES dorms(id),
    local_date TEXT NOT NULL,
    taken_by TEXT NOT NULL REFERENCES users(id),
    taken_at TIMESTAMP NOT NULL,
    UNIQUE (dorm_id, local_date)
);
CREATE TABLE dorm_absences (
    roll_call_id TEXT NOT NULL REFERENCES dorm_roll_calls(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    excused_by_leave TEXT,
    PRIMARY KEY (roll_call_id, student_id)
);
