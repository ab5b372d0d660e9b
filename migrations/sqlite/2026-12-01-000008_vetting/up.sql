-- Staff vetting (入职查询 / 准入查询): every adult with access to pupils has a
-- personnel record; a clear check of the sexual-offence record, renewed
-- yearly, is what grants an account access to pupils. Offence details are
-- never stored: only the result, the authority and the reference.
CREATE TABLE personnel (
    id TEXT PRIMARY KEY,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT UNIQUE REFERENCES users(id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    employer TEXT,
    -- The ID number only as its last 4 characters and a keyed hash.
    id_last4 TEXT,
    id_hmac TEXT,
    starts_on TEXT NOT NULL,
    -- Accounts that existed before vetting: the grace period starts at the
    -- first start of the service after this migration (the app's clock).
    grace_pending BOOLEAN NOT NULL DEFAULT FALSE,
    grace_until TIMESTAMP,
    -- Until when the account may reach pupils, kept by the vetting service
    -- whenever a check, commitment or training is recorded.
    access_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX personnel_school ON personnel(school_id, id);

CREATE TABLE vetting_checks (
    id TEXT PRIMARY KEY,
    personnel_id TEXT NOT NULL REFERENCES personnel(id),
    kind TEXT NOT NULL,
    checked_on TEXT NOT NULL,
    authority TEXT NOT NULL,
    reference TEXT NOT NULL,
    result TEXT NOT NULL,
    consent_ref TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX vetting_checks_personnel ON vetting_checks(personnel_id, id);

CREATE TABLE vetting_commitments (
    id TEXT PRIMARY KEY,
    personnel_id TEXT NOT NULL REFERENCES personnel(id),
    document_version TEXT NOT NULL,
    signed_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX vetting_commitments_personnel ON vetting_commitments(personnel_id, id);

CREATE TABLE vetting_trainings (
    id TEXT PRIMARY KEY,
    personnel_id TEXT NOT NULL REFERENCES personnel(id),
    course TEXT NOT NULL,
    hours INTEGER NOT NULL,
    completed_on TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES users(id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX vetting_trainings_personnel ON vetting_trainings(personnel_id, id);

-- Each reminder of a clearance's expiry is sent once.
CREATE TABLE vetting_reminders (
    personnel_id TEXT NOT NULL REFERENCES personnel(id),
    valid_until TEXT NOT NULL,
    days_before INTEGER NOT NULL,
    sent_at TIMESTAMP NOT NULL,
    PRIMARY KEY (personnel_id, valid_until, days_before)
);

-- People never to be let near pupils, for the gate: a vetting hit adds one.
CREATE TABLE watch_list (
    id TEXT PRIMARY KEY,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT REFERENCES schools(id),
    personnel_id TEXT REFERENCES personnel(id),
    name TEXT NOT NULL,
    id_last4 TEXT,
    id_hmac TEXT,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX watch_list_district ON watch_list(district_id, id);

-- Whether a signed code of conduct and prevention training are needed
-- before access, as well as a clear check.
ALTER TABLE districts ADD COLUMN vetting_requires_commitment BOOLEAN NOT NULL DEFAULT TRUE;

INSERT INTO personnel (id, district_id, school_id, user_id, name, kind, starts_on, grace_pending, created_at)
SELECT id, district_id, school_id, id, display_name, role, substr(created_at, 1, 10), TRUE, created_at
FROM users
WHERE school_id IS NOT NULL
  AND role IN ('school_admin', 'teacher', 'guard', 'counselor', 'legal_vp', 'dorm_manager');
