-- Supervision (issue 18): shortfalls kept as facts, and the findings an agency reads.

-- Orders refused for missing cover (no enrolment active on the order's day, or the enrolment is
-- in another province or industry), counted per platform x province x industry x day (China
-- Standard Time). Written in the chunk's transaction, never charged: nothing here reaches a
-- declaration. The samples are bounded (the statement keeps the first few) and hold order ids
-- and masked ID numbers only. A stream spreads its chunks over `slot` (0-3), so the chunks it has
-- in flight never wait on each other's row; readers sum the slots.
CREATE TABLE cover_shortfalls (
    province_code     char(2) NOT NULL,
    platform_id       text NOT NULL,
    industry          text NOT NULL,
    day               date NOT NULL,
    slot              smallint NOT NULL CHECK (slot BETWEEN 0 AND 3),
    refused_orders    bigint NOT NULL CHECK (refused_orders > 0),
    sample_order_ids  text[] NOT NULL,
    sample_workers    text[] NOT NULL,
    last_refused_at   timestamptz NOT NULL,
    PRIMARY KEY (province_code, platform_id, industry, day, slot)
);

-- The days each worker (by blind index, never the number) had orders refused, per platform and
-- industry: which workers an uncovered day waits for, and when a late enrolment's worker was
-- first refused. Written once per worker and day (a repeat is an index probe, not a write).
CREATE TABLE cover_shortfall_days (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL,
    person_key     bytea NOT NULL,
    industry       text NOT NULL,
    day            date NOT NULL,
    PRIMARY KEY (province_code, platform_id, person_key, industry, day)
);

-- The months (China Standard Time) in which a platform had accepted orders in a province: what
-- "a month with orders but no declaration" is checked against without scanning the orders. A
-- stream writes each month once (it remembers what it wrote).
CREATE TABLE order_months (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL,
    period         date NOT NULL CHECK (extract(day FROM period) = 1),
    PRIMARY KEY (province_code, platform_id, period)
);
INSERT INTO order_months
    SELECT DISTINCT province_code, platform_id,
           date_trunc('month', (accepted_at AT TIME ZONE INTERVAL '+08:00'))::date
    FROM orders;

-- What the agency reads: one row per (platform, kind, period, subject), derived from the facts by
-- an idempotent refresh. `measure` is the kind's number (orders, days, fen, claims); `detail` an
-- arrears age band. A resolved finding that holds again is reopened.
CREATE TABLE supervision_findings (
    province_code  char(2) NOT NULL,
    finding_id     uuid NOT NULL,
    platform_id    text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('uncovered_orders', 'undeclared_month', 'arrears',
                                                 'uncovered_claims', 'late_enrolment')),
    period_start   date NOT NULL,
    -- Exclusive.
    period_end     date NOT NULL CHECK (period_end > period_start),
    -- '' or, for a late enrolment, the enrolment id.
    subject        text NOT NULL,
    measure        bigint NOT NULL,
    detail         text NOT NULL,
    state          text NOT NULL CHECK (state IN ('open', 'resolved')),
    opened_at      timestamptz NOT NULL,
    resolved_at    timestamptz,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (province_code, finding_id),
    UNIQUE (province_code, platform_id, kind, period_start, subject),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX supervision_findings_by_id ON supervision_findings (finding_id);
