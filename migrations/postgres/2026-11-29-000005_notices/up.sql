-- Notices, their recipients as resolved when sent, delivery preferences, and
-- the outbox of external deliveries (email, push and SMS webhooks).

ALTER TABLE notifications ADD COLUMN notice_id TEXT;
ALTER TABLE notifications ADD COLUMN batch_id TEXT;
ALTER TABLE notifications ADD COLUMN requires_ack BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE notifications ADD COLUMN acked_at TIMESTAMP;
ALTER TABLE notifications ADD COLUMN delivered_at TIMESTAMP;
CREATE INDEX notifications_batch ON notifications(batch_id);
CREATE INDEX notifications_notice ON notifications(notice_id);

CREATE TABLE notices (
    id TEXT PRIMARY KEY NOT NULL,
    district_id TEXT NOT NULL REFERENCES districts(id),
    school_id TEXT REFERENCES schools(id),
    sender_id TEXT NOT NULL REFERENCES users(id),
    audience TEXT NOT NULL,
    to_whom TEXT NOT NULL,
    category TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    requires_ack BOOLEAN NOT NULL,
    ack_due_at TIMESTAMP,
    escalated_at TIMESTAMP,
    recipient_count INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX notices_sender ON notices(sender_id, id);
CREATE INDEX notices_school ON notices(school_id, id);
CREATE INDEX notices_district ON notices(district_id, category, created_at);
CREATE INDEX notices_due ON notices(ack_due_at);

CREATE TABLE notice_recipients (
    id TEXT PRIMARY KEY NOT NULL,
    notice_id TEXT NOT NULL REFERENCES notices(id),
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    student_id TEXT NOT NULL REFERENCES students(id),
    class_id TEXT NOT NULL,
    school_id TEXT NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX notice_recipients_notice ON notice_recipients(notice_id);

CREATE TABLE notification_preferences (
    user_id TEXT NOT NULL REFERENCES users(id),
    category TEXT NOT NULL,
    in_app BOOLEAN NOT NULL,
    email BOOLEAN NOT NULL,
    push BOOLEAN NOT NULL,
    sms BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE notification_settings (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id),
    quiet_start TEXT NOT NULL,
    quiet_end TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY NOT NULL,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    user_id TEXT NOT NULL REFERENCES users(id),
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
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
