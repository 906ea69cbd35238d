-- Which blind-index key the stored persons were indexed with, as a fingerprint (an HMAC of a fixed
-- text under that key, which does not reveal it). `serve` refuses a PII key ring whose blind index
-- differs while persons exist: every lookup by ID number would miss and every enrolment would make
-- a second person. Rotating the encryption keys leaves it unchanged.
CREATE TABLE pii_blind_index (
    only_row     boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    fingerprint  bytea NOT NULL,
    recorded_at  timestamptz NOT NULL
);
