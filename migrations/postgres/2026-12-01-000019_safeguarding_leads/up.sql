-- The counsellors the principal names (issue 15): with the school's admins
-- (the principal), they are the designated safeguarding handlers who are
-- alerted of every concern, triage it, handle the school's cases and read a
-- pupil's chronology. Counsellors already at a school when this arrives are
-- named, so nothing a school relied on stops; new counsellors are named by
-- the principal.
CREATE TABLE safeguarding_leads (
    school_id TEXT NOT NULL REFERENCES schools(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    named_by TEXT REFERENCES users(id),
    named_at TIMESTAMP NOT NULL,
    PRIMARY KEY (school_id, user_id)
);
CREATE INDEX safeguarding_leads_user ON safeguarding_leads(user_id);
INSERT INTO safeguarding_leads (school_id, user_id, named_by, named_at)
    SELECT school_id, id, NULL, created_at FROM users
    WHERE role = 'counselor' AND school_id IS NOT NULL AND NOT disabled;
-- A case's handlers were written on it when it was opened (every admin and
-- counsellor of the school). They are now its named handlers (who opened
-- it, the head teachers) and the school's designated handlers of the day,
-- so a designation withdrawn is withdrawn from the school's cases too.
DELETE FROM case_handlers
WHERE EXISTS (
    SELECT 1 FROM cases c
    JOIN users u ON u.id = case_handlers.user_id
    WHERE c.id = case_handlers.case_id
      AND c.opened_by <> case_handlers.user_id
      AND u.role IN ('school_admin', 'counselor')
      AND u.school_id = c.school_id
);
