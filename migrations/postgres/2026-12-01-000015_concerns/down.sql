DROP TABLE concern_students;
DELETE FROM concerns WHERE kind <> 'absence_pattern';
DROP INDEX concerns_author;
DROP INDEX concerns_school;
CREATE INDEX concerns_school ON concerns(school_id);
ALTER TABLE concerns DROP COLUMN case_id, DROP COLUMN triaged_at, DROP COLUMN triaged_by,
    DROP COLUMN triage_note, DROP COLUMN status, DROP COLUMN action_taken,
    DROP COLUMN child_words, DROP COLUMN happened_at, DROP COLUMN location,
    DROP COLUMN what_happened, DROP COLUMN author_id, DROP COLUMN category, DROP COLUMN kind;
ALTER TABLE concerns ALTER COLUMN window_start SET NOT NULL;
ALTER TABLE concerns ALTER COLUMN window_end SET NOT NULL;
ALTER TABLE concerns ALTER COLUMN absence_days SET NOT NULL;
