-- Adjustments of periodic benefits (DOMAIN.md, Claims §7): a province announces a percentage
-- adjustment effective from a month; entitlements from that month follow, compounding in order.
-- Versions are never overwritten: one adjustment per province and month, and every periodic
-- payment keeps the versions its entitlement used.
CREATE TABLE benefit_adjustments (
    province_code    char(2) NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    effective_month  date NOT NULL CHECK (effective_month = date_trunc('month', effective_month)::date),
    adjustment_id    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- Hundredths of a percent: 500 is +5%.
    basis_points     integer NOT NULL CHECK (basis_points BETWEEN -5000 AND 5000),
    recorded_at      timestamptz NOT NULL,
    actor            text NOT NULL,
    PRIMARY KEY (province_code, effective_month)
);
CREATE TRIGGER benefit_adjustments_append_only
    BEFORE UPDATE OR DELETE ON benefit_adjustments
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

-- The adjustment versions a periodic payment's entitlement used ('none', 'adj-3+adj-7').
ALTER TABLE benefit_payments ADD COLUMN adjustment_version text;
