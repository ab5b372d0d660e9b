ALTER TABLE districts DROP COLUMN vetting_requires_commitment;
DROP TABLE watch_list;
DROP TABLE vetting_reminders;
DROP TABLE vetting_trainings;
DROP TABLE vetting_commitments;
DROP TABLE vetting_checks;
DROP TABLE personnel;
