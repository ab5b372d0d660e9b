-- The audit chain's links become HMACs under SAFECAMPUS_AUDIT_KEY, a secret
-- outside the database. An existing chain is checked and re-linked with the
-- key at the first start after this migration (`keyed` says it was done);
-- an empty one starts keyed.
ALTER TABLE audit_head ADD COLUMN keyed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE audit_head SET keyed = TRUE WHERE NOT EXISTS (SELECT 1 FROM audit_events);
