ALTER TABLE pickup_blocks DROP COLUMN court_order_ref;
ALTER TABLE pickup_blocks DROP COLUMN confirmed_at;
ALTER TABLE pickup_blocks DROP COLUMN confirmed_by;
ALTER TABLE pickup_blocks DROP COLUMN status;
