-- Tip line protocol v2 (issue 13, sections 3 and 4).
--
-- `protocol` 2: the phone made the code; `receipt_mac` holds HMAC(pepper,
-- lookup) and every envelope of the report must be bound (aad) and
-- committed. `submission_digest` is SHA-256 of the submitted envelope, so a
-- retry of the same submission gets the first answer and another envelope
-- under the same lookup is refused.
ALTER TABLE tip_reports ADD COLUMN protocol INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tip_reports ADD COLUMN submission_digest TEXT;
