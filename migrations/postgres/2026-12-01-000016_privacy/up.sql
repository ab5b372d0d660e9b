-- Children's personal data (issue 18 §2).
-- A guardian's consent to a use beyond the school's legal duties, per pupil
-- and purpose: the decision in force (the last one any guardian made); each
-- decision is also in the audit chain.
CREATE TABLE consents (
    student_id TEXT NOT NULL REFERENCES students(id),
    -- pickup_photos | optional_contact | push_notifications
    purpose TEXT NOT NULL,
    given BOOLEAN NOT NULL,
    guardian_id TEXT NOT NULL REFERENCES users(id),
    policy_version TEXT NOT NULL,
    -- app | paper | web
    channel TEXT NOT NULL,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (student_id, purpose)
);

-- A family's request about the data held on them (access, copy, correct,
-- delete), answered by the school admin within 15 school days.
CREATE TABLE data_requests (
    id TEXT PRIMARY KEY NOT NULL,
    school_id TEXT NOT NULL REFERENCES schools(id),
    requester_id TEXT NOT NULL REFERENCES users(id),
    student_id TEXT REFERENCES students(id),
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    -- open | completed | refused
    status TEXT NOT NULL,
    due_on TEXT NOT NULL,
    alert_on TEXT NOT NULL,
    alerted_at TIMESTAMP,
    answer TEXT,
    answered_by TEXT REFERENCES users(id),
    answered_at TIMESTAMP,
    -- A copy request's JSON export, made when it is completed.
    export TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX data_requests_school ON data_requests(school_id, id);
CREATE INDEX data_requests_requester ON data_requests(requester_id, id);
