-- The outbox is a delivery queue. Its rows are written by one statement,
-- INSERT … SELECT from notifications joined to users, so the row each points
-- to exists when it is written; users are never deleted, and retention
-- deletes a notification only once no outbox row points to it
-- (src/privacy/retention.rs). The foreign keys checked that again for every
-- row, locking each referenced notification and user (FOR KEY SHARE): for a
-- notice to a district, 400,000 lookups and locks in the sending
-- transaction, two thirds of the time of writing its outbox rows.
ALTER TABLE outbox DROP CONSTRAINT outbox_notification_id_fkey;
ALTER TABLE outbox DROP CONSTRAINT outbox_user_id_fkey;
