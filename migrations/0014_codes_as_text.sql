-- Province and division codes become text (with the same shape checked). As char(n) they could
-- not be compared with a text parameter without casting the column, and a cast column cannot use
-- its index: `province_code = $1` from the service was a sequential scan (StreamEvents read the
-- whole province log per page; history and timeline lookups scanned their tables).
DROP VIEW covered_days;

ALTER TABLE enrolment_history DROP CONSTRAINT enrolment_history_province_code_enrolment_id_fkey;
ALTER TABLE declaration_lines DROP CONSTRAINT declaration_lines_province_code_platform_id_period_version_fkey;
ALTER TABLE claim_timeline DROP CONSTRAINT claim_timeline_province_code_claim_id_fkey;
ALTER TABLE benefit_items DROP CONSTRAINT benefit_items_province_code_claim_id_fkey;
ALTER TABLE benefit_payments DROP CONSTRAINT benefit_payments_province_code_claim_id_fkey;
ALTER TABLE average_wages
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT average_wages_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE benefit_items
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT benefit_items_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE benefit_payments
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT benefit_payments_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE claim_duplicates
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT claim_duplicates_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE claim_policy
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT claim_policy_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE claim_timeline
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT claim_timeline_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE claims
    ALTER COLUMN place_code TYPE text,
    ADD CONSTRAINT claims_place_code_shape CHECK (place_code ~ '^[0-9]{6}$'),
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT claims_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE contribution_payments
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT contribution_payments_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE contribution_policy
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT contribution_policy_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE declaration_lines
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT declaration_lines_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE declarations
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT declarations_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE enrolment_history
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT enrolment_history_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE enrolment_policy
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT enrolment_policy_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE enrolments
    ALTER COLUMN place_code TYPE text,
    ADD CONSTRAINT enrolments_place_code_shape CHECK (place_code ~ '^[0-9]{6}$'),
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT enrolments_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE events
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT events_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE orders
    ALTER COLUMN place_code TYPE text,
    ADD CONSTRAINT orders_place_code_shape CHECK (place_code ~ '^[0-9]{6}$'),
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT orders_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE pension_enrolments
    ALTER COLUMN place_code TYPE text,
    ADD CONSTRAINT pension_enrolments_place_code_shape CHECK (place_code ~ '^[0-9]{6}$'),
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT pension_enrolments_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE pension_months
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT pension_months_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE pilot_scope
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT pilot_scope_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE province_heads
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT province_heads_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE province_log
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT province_log_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE rate_multipliers
    ALTER COLUMN province_code TYPE text,
    ADD CONSTRAINT rate_multipliers_province_code_shape CHECK (province_code ~ '^[0-9]{2}$');
ALTER TABLE enrolment_history ADD CONSTRAINT enrolment_history_province_code_enrolment_id_fkey FOREIGN KEY (province_code, enrolment_id) REFERENCES enrolments(province_code, enrolment_id);
ALTER TABLE declaration_lines ADD CONSTRAINT declaration_lines_province_code_platform_id_period_version_fkey FOREIGN KEY (province_code, platform_id, period, version) REFERENCES declarations(province_code, platform_id, period, version);
ALTER TABLE claim_timeline ADD CONSTRAINT claim_timeline_province_code_claim_id_fkey FOREIGN KEY (province_code, claim_id) REFERENCES claims(province_code, claim_id);
ALTER TABLE benefit_items ADD CONSTRAINT benefit_items_province_code_claim_id_fkey FOREIGN KEY (province_code, claim_id) REFERENCES claims(province_code, claim_id);
ALTER TABLE benefit_payments ADD CONSTRAINT benefit_payments_province_code_claim_id_fkey FOREIGN KEY (province_code, claim_id) REFERENCES claims(province_code, claim_id);
CREATE VIEW covered_days AS
    SELECT DISTINCT province_code, enrolment_id,
           (accepted_at AT TIME ZONE INTERVAL '+08:00')::date AS day
    FROM orders;
