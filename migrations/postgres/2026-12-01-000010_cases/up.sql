-- Cases and mandatory reporting (强制报告, issue 15): every suspicion of
-- abuse becomes a case the bureau sees at once. Nothing here is updated but
-- a case's state (acknowledged, police reported, closing); what was said or
-- done is appended, never edited or deleted.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    -- Human case number, unique per district: C-2026-0001.
    number TEXT NOT NULL,
    category TEXT NOT NULL,
    mandatory BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    source_kind TEXT NOT NULL,
    source_ref TEXT,
    summary TEXT NOT NULL,
    suspect_kind TEXT NOT NULL,
    -- A suspect with an account never sees the case.
    suspect_user_id TEXT REFERENCES users(id),
    suspect_personnel_id TEXT REFERENCES personnel(id),
    opened_by TEXT NOT NULL REFERENCES users(id),
    opened_at TIMESTAMP NOT NULL,
    -- Mandatory categories: when the police should have been told.
    police_due_at TIMESTAMP,
    police_reported_at TIMESTAMP,
    ack_due_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by TEXT REFERENCES users(id),
    outcome TEXT,
    close_proposed_by TEXT REFERENCES users(id),
    close_proposed_at TIMESTAMP,
    closed_by TEXT REFERENCES users(id),
    closed_at TIMESTAMP,
    UNIQUE (district_id, number)
);
CREATE INDEX cases_school ON cases(school_id, id);

CREATE TABLE case_students (
    case_id TEXT NOT NULL REFERENCES cases(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    PRIMARY KEY (case_id, student_id)
);
CREATE INDEX case_students_student ON case_students(student_id);

-- Who handles a case, fixed when it opens: the opener, the pupils' head
-- teachers, the school's admins (the principal) and counsellors.
CREATE TABLE case_handlers (
    case_id TEXT NOT NULL REFERENCES cases(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_handlers_user ON case_handlers(user_id);

-- The case's history, append-only, in order (seq). A correction is a new
-- entry that names the one it corrects.
CREATE TABLE case_entries (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    author_id TEXT REFERENCES users(id),
    body TEXT NOT NULL,
    corrects TEXT REFERENCES case_entries(id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (case_id, seq)
);

CREATE TABLE case_police_reports (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    reported_at TIMESTAMP NOT NULL,
    station TEXT NOT NULL,
    reference TEXT NOT NULL,
    channel TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_police_reports_case ON case_police_reports(case_id, id);

CREATE TABLE case_support (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    partner TEXT,
    given_on TEXT NOT NULL,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_support_case ON case_support(case_id, id);

CREATE TABLE case_measures (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    target TEXT,
    note TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX case_measures_case ON case_measures(case_id, id);

-- Which timer alerts a case has had, so each goes out once.
CREATE TABLE case_alerts (
    case_id TEXT NOT NULL REFERENCES cases(id),
    kind TEXT NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, kind)
);

-- A staff suspect's access to pupils, taken by a case's measure until the
-- bureau lifts it.
ALTER TABLE personnel ADD COLUMN suspended_at TIMESTAMP;
