-- One guardian cannot silently cut off the other (issue 18, section 1): an
-- entry naming a current guardian waits, 'pending', for the school admin to
-- confirm it against a court or protective order ('active') or reject it
-- ('rejected', which ends it as a lift does).
ALTER TABLE pickup_blocks ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE pickup_blocks ADD COLUMN confirmed_by TEXT REFERENCES users(id);
ALTER TABLE pickup_blocks ADD COLUMN confirmed_at TIMESTAMP;
ALTER TABLE pickup_blocks ADD COLUMN court_order_ref TEXT;
