-- The outbox is a delivery queue without foreign keys, as on PostgreSQL
-- (see its migration of the same name): its rows are written by one
-- INSERT … SELECT from notifications joined to users, users are never
-- deleted, and retention deletes a notification only once no outbox row
-- points to it. SQLite cannot drop a constraint, so the table is rebuilt.
CREATE TABLE outbox_queue (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    reason TEXT NOT NULL,
    urgent BOOLEAN NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    provider_id TEXT,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
INSERT INTO outbox_queue SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_queue RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
