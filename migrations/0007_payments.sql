-- Payments against monthly declarations, recorded by province agencies or national admins.
-- Partial and over-payments are kept as they are: the statement shows the balance either way.
CREATE TABLE contribution_payments (
    province_code  char(2) NOT NULL,
    payment_id     uuid NOT NULL,
    platform_id    text NOT NULL REFERENCES platforms,
    period         date NOT NULL,
    amount_fen     bigint NOT NULL CHECK (amount_fen > 0),
    paid_on        date NOT NULL,
    recorded_at    timestamptz NOT NULL,
    recorded_by    text NOT NULL,
    PRIMARY KEY (province_code, payment_id)
);
CREATE INDEX contribution_payments_by_series ON contribution_payments (province_code, platform_id, period);
