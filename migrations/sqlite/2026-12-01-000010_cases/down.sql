ALTER TABLE personnel DROP COLUMN suspended_at;
DROP TABLE case_alerts;
DROP TABLE case_measures;
DROP TABLE case_support;
DROP TABLE case_police_reports;
DROP TABLE case_entries;
DROP TABLE case_handlers;
DROP TABLE case_students;
DROP TABLE cases;
