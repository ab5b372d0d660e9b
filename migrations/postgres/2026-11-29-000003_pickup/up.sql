-- Pickup: who may take a pupil home, who never may, one-time passes, the
-- handovers themselves, and the school's dismissal settings.
-- Dates of the school day are TEXT 'YYYY-MM-DD' in the school's time zone.

CREATE TABLE pickup_settings (
    school_id TEXT PRIMARY KEY NOT NULL REFERENCES schools(id),
    late_threshold_minutes INTEGER NOT NULL,
    pass_cutoff TEXT,
    updated_at TIMESTAMP NOT NULL
);

-- Overrides of schools.dismissal_time: per weekday (1 = Monday … 7 = Sunday),
-- per grade, or both; the most specific row wins.
CREATE TABLE pickup_dismissal_times (
    id TEXT PRIMARY KEY NOT NULL,
    school_id TEXT NOT NULL REFERENCES schools(id),
    weekday INTEGER,
    grade INTEGER,
    dismissal_time TEXT NOT NULL
);
CREATE INDEX pickup_dismissal_times_school ON pickup_dismissal_times(school_id);

-- Days the school is closed (holidays): no dismissal, no late alerts.
CREATE TABLE pickup_closed_days (
    school_id TEXT NOT NULL REFERENCES schools(id),
    local_date TEXT NOT NULL,
    PRIMARY KEY (school_id, local_date)
);

CREATE TABLE pickup_persons (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    relation TEXT NOT NULL,
    phone TEXT NOT NULL,
    id_last4 TEXT,
    photo BYTEA,
    photo_type TEXT,
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    weekdays INTEGER NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT REFERENCES users(id)
);
CREATE INDEX pickup_persons_student ON pickup_persons(student_id);

CREATE TABLE pickup_blocks (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    name TEXT NOT NULL,
    name_norm TEXT NOT NULL,
    phone TEXT,
    id_last4 TEXT,
    note TEXT NOT NULL,
    court_order BOOLEAN NOT NULL,
    created_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    lifted_at TIMESTAMP,
    lifted_by TEXT REFERENCES users(id),
    lift_note TEXT
);
CREATE INDEX pickup_blocks_student ON pickup_blocks(student_id);

CREATE TABLE pickup_passes (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    pickup_person_id TEXT REFERENCES pickup_persons(id),
    valid_on TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    qr_token_hash TEXT NOT NULL UNIQUE,
    expires_at TIMESTAMP NOT NULL,
    issued_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    cancelled_at TIMESTAMP
);
CREATE INDEX pickup_passes_student ON pickup_passes(student_id, valid_on);

-- Which way a pupil goes home; no row means handover.
CREATE TABLE pickup_dismissal_modes (
    student_id TEXT PRIMARY KEY NOT NULL REFERENCES students(id),
    mode TEXT NOT NULL,
    set_by TEXT NOT NULL REFERENCES users(id),
    approved_by TEXT REFERENCES users(id),
    updated_at TIMESTAMP NOT NULL
);

-- One release per pupil per school day: the unique key is what makes a
-- second release impossible, even for two gates at once.
CREATE TABLE handovers (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    class_id TEXT NOT NULL REFERENCES classes(id),
    local_date TEXT NOT NULL,
    adult_kind TEXT NOT NULL,
    guardian_user_id TEXT REFERENCES users(id),
    pickup_person_id TEXT REFERENCES pickup_persons(id),
    pass_id TEXT REFERENCES pickup_passes(id),
    released_name TEXT NOT NULL,
    released_relation TEXT NOT NULL,
    released_by TEXT NOT NULL REFERENCES users(id),
    at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    disputed_at TIMESTAMP,
    dispute_note TEXT,
    answered_by TEXT REFERENCES users(id),
    UNIQUE (student_id, local_date)
);
CREATE INDEX handovers_school_date ON handovers(school_id, local_date);

-- What the late-pickup worker already said, so a second run says nothing.
CREATE TABLE pickup_late_alerts (
    id TEXT PRIMARY KEY NOT NULL,
    student_id TEXT NOT NULL REFERENCES students(id),
    local_date TEXT NOT NULL,
    level INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (student_id, local_date, level)
);
