-- Stored responses for replays are sealed with the PII key (a claim's answer holds its
-- description): the key id sits beside the ciphertext, as for every sealed column. Rows written
-- before this migration have no key id; `serve` seals them at start-up.
ALTER TABLE idempotency_keys ADD COLUMN response_key_id text;
