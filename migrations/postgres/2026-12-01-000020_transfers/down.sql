DROP TABLE student_transfers;
ALTER TABLE students DROP COLUMN left_at;
