-- Orders ingested from platforms, priced once at the rate in force at acceptance, and the days
-- each worker was covered. An order is recorded exactly once per platform and order id.

CREATE TABLE orders (
    province_code      char(2) NOT NULL,
    platform_id        text NOT NULL,
    order_id           text NOT NULL,
    enrolment_id       uuid NOT NULL,
    place_code         char(6) NOT NULL,
    industry           text NOT NULL,
    accepted_at        timestamptz NOT NULL,
    completed_at       timestamptz,
    base_rate_id       bigint NOT NULL REFERENCES base_rates (base_rate_id),
    multiplier_id      bigint REFERENCES rate_multipliers (multiplier_id),
    -- Exact: base fen per order x multiplier tenths.
    premium_tenth_fen  bigint NOT NULL CHECK (premium_tenth_fen >= 0),
    recorded_at        timestamptz NOT NULL,
    PRIMARY KEY (province_code, platform_id, order_id),
    CHECK (completed_at IS NULL OR completed_at >= accepted_at)
);
-- Exactly once per (platform, order id), whatever province a resend names.
CREATE UNIQUE INDEX orders_once ON orders (platform_id, order_id);
-- "Which order was this worker on at that instant?"
CREATE INDEX orders_by_enrolment ON orders (enrolment_id, accepted_at);

CREATE TABLE covered_days (
    province_code  char(2) NOT NULL,
    enrolment_id   uuid NOT NULL,
    day            date NOT NULL,
    PRIMARY KEY (province_code, enrolment_id, day)
);
