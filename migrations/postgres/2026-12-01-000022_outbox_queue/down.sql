ALTER TABLE outbox ADD CONSTRAINT outbox_notification_id_fkey
    FOREIGN KEY (notification_id) REFERENCES notifications(id);
ALTER TABLE outbox ADD CONSTRAINT outbox_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users(id);
