-- A review appraisal (复查鉴定) may be made this many months after the last appraisal's
-- conclusion (12, DOMAIN.md Claims §7; data like the other rules).
ALTER TABLE claim_policy
    ADD COLUMN review_interval_months integer NOT NULL DEFAULT 12
        CHECK (review_interval_months BETWEEN 1 AND 120);
ALTER TABLE claim_policy ALTER COLUMN review_interval_months DROP DEFAULT;
