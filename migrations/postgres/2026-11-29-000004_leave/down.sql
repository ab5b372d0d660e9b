DROP TABLE concerns;
DROP TABLE absences;
DROP TABLE roll_calls;
DROP TABLE leave_overdue_alerts;
DROP TABLE leave_requests;
