-- Benefits in payment (DOMAIN.md, Claims §7): periodic items (the disability allowance of grades
-- 1-4, each dependant's pension) are paid month by month, one payment per item per month, and
-- end, are suspended and resumed by dated changes. A claim whose one-time items are paid while a
-- periodic benefit runs is 'in_payment' (claims.status is text: no constraint to change).

-- A child's pension runs for the months that begin before this day (the birthday of the claim
-- policy's age); only this day is stored, never the birth date.
ALTER TABLE benefit_items ADD COLUMN eligible_before date;

-- The item and month a periodic payment is for. Payments recorded before this migration (and
-- one-time payments) have neither.
ALTER TABLE benefit_payments
    ADD COLUMN item integer CHECK (item > 0),
    ADD COLUMN month date CHECK (month = date_trunc('month', month)::date),
    ADD CONSTRAINT benefit_payments_month_with_item CHECK ((month IS NULL) = (item IS NULL));
CREATE UNIQUE INDEX benefit_payments_once_a_month
    ON benefit_payments (province_code, claim_id, kind, item, month) WHERE month IS NOT NULL;

-- Ends, suspensions and resumptions of periodic items, in order; never updated.
CREATE TABLE periodic_changes (
    province_code  char(2) NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    claim_id       uuid NOT NULL,
    kind           text NOT NULL,
    item           integer NOT NULL CHECK (item > 0),
    seq            integer NOT NULL CHECK (seq > 0),
    change         text NOT NULL CHECK (change IN ('end', 'suspend', 'resume')),
    reason         text NOT NULL,
    effective_on   date NOT NULL,
    recorded_at    timestamptz NOT NULL,
    actor          text NOT NULL,
    PRIMARY KEY (province_code, claim_id, kind, item, seq),
    FOREIGN KEY (province_code, claim_id) REFERENCES claims (province_code, claim_id)
);
CREATE TRIGGER periodic_changes_append_only
    BEFORE UPDATE OR DELETE ON periodic_changes
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

-- The age until which a child's pension runs (18, DOMAIN.md; data like the other rules).
ALTER TABLE claim_policy
    ADD COLUMN child_pension_until_age integer NOT NULL DEFAULT 18
        CHECK (child_pension_until_age BETWEEN 14 AND 30);
ALTER TABLE claim_policy ALTER COLUMN child_pension_until_age DROP DEFAULT;
