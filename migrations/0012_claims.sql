-- Occupational-injury claims: report -> application -> decision -> appraisal -> benefits, with the
-- deadlines stored on each claim, a timeline of every step, and the admin data the rules use.

-- The national default ('00') and per-province overrides of the claim rules (DOMAIN.md, Claims).
CREATE TABLE claim_policy (
    province_code              char(2) PRIMARY KEY,
    platform_application_days  integer NOT NULL CHECK (platform_application_days > 0),
    worker_application_days    integer NOT NULL CHECK (worker_application_days > 0),
    decision_working_days      integer NOT NULL CHECK (decision_working_days > 0),
    duplicate_window_minutes   integer NOT NULL CHECK (duplicate_window_minutes >= 0),
    -- The monthly wage base: this percent of the province's average monthly wage of the year
    -- (accident year + offset). The base for platform workers is still to be verified.
    wage_base_percent          integer NOT NULL CHECK (wage_base_percent > 0),
    wage_base_year_offset      integer NOT NULL CHECK (wage_base_year_offset BETWEEN -5 AND 0),
    updated_at                 timestamptz NOT NULL
);
INSERT INTO claim_policy VALUES ('00', 30, 90, 30, 120, 100, -1, now());

-- Exceptions to Monday-Friday: public holidays, and weekend days worked to make up for them.
CREATE TABLE public_holidays (
    day         date PRIMARY KEY,
    holiday     boolean NOT NULL,
    name        text NOT NULL,
    updated_at  timestamptz NOT NULL
);
-- The State Council's arrangements for 2025 and 2026.
INSERT INTO public_holidays (day, holiday, name, updated_at)
SELECT d::date, true, name, now()
FROM (VALUES
    ('2025-01-01', '2025-01-01', 'New Year''s Day'),
    ('2025-01-28', '2025-02-04', 'Spring Festival'),
    ('2025-04-04', '2025-04-06', 'Qingming Festival'),
    ('2025-05-01', '2025-05-05', 'Labour Day'),
    ('2025-05-31', '2025-06-02', 'Dragon Boat Festival'),
    ('2025-10-01', '2025-10-08', 'National Day and Mid-Autumn Festival'),
    ('2026-01-01', '2026-01-03', 'New Year''s Day'),
    ('2026-02-15', '2026-02-23', 'Spring Festival'),
    ('2026-04-04', '2026-04-06', 'Qingming Festival'),
    ('2026-05-01', '2026-05-05', 'Labour Day'),
    ('2026-06-19', '2026-06-21', 'Dragon Boat Festival'),
    ('2026-09-25', '2026-09-27', 'Mid-Autumn Festival'),
    ('2026-10-01', '2026-10-07', 'National Day')
) AS h(first_day, last_day, name),
generate_series(h.first_day::date, h.last_day::date, interval '1 day') AS d;
INSERT INTO public_holidays (day, holiday, name, updated_at) VALUES
    ('2025-01-26', false, 'Spring Festival make-up working day', now()),
    ('2025-02-08', false, 'Spring Festival make-up working day', now()),
    ('2025-04-27', false, 'Labour Day make-up working day', now()),
    ('2025-09-28', false, 'National Day make-up working day', now()),
    ('2025-10-11', false, 'National Day make-up working day', now()),
    ('2026-01-04', false, 'New Year make-up working day', now()),
    ('2026-02-14', false, 'Spring Festival make-up working day', now()),
    ('2026-02-28', false, 'Spring Festival make-up working day', now()),
    ('2026-05-09', false, 'Labour Day make-up working day', now()),
    ('2026-09-20', false, 'National Day make-up working day', now()),
    ('2026-10-10', false, 'National Day make-up working day', now());

-- National urban per-capita disposable income (the one-time death subsidy is 20 times the
-- previous year's).
CREATE TABLE national_incomes (
    year        integer PRIMARY KEY CHECK (year BETWEEN 1990 AND 2200),
    annual_fen  bigint NOT NULL CHECK (annual_fen > 0),
    updated_at  timestamptz NOT NULL
);
INSERT INTO national_incomes VALUES (2023, 5182100, now());

CREATE TABLE claims (
    province_code             char(2) NOT NULL,
    claim_id                  uuid NOT NULL,
    platform_id               text NOT NULL REFERENCES platforms,
    -- The person may never have been enrolled (a report is recorded regardless), so no reference.
    person_key                bytea NOT NULL,
    id_masked                 text NOT NULL,
    order_id                  text NOT NULL,
    occurred_at               timestamptz NOT NULL,
    place_code                char(6) NOT NULL,
    kind                      text NOT NULL CHECK (kind IN ('injury', 'death')),
    -- What happened, AES-256-GCM sealed with the claim id as associated data.
    description_ciphertext    bytea NOT NULL,
    description_key_id        text NOT NULL,
    status                    text NOT NULL,
    covered                   boolean NOT NULL,
    enrolment_id              uuid,
    covering_order_id         text,
    reported_at               timestamptz NOT NULL,
    platform_application_due  date NOT NULL,
    worker_application_due    date NOT NULL,
    decision_due              date,
    applicant                 text,
    late_explanation          text,
    decision_reasons          text,
    -- NULL: not appraised; 0: no disability grade; 1..10.
    grade                     smallint CHECK (grade BETWEEN 0 AND 10),
    updated_at                timestamptz NOT NULL,
    PRIMARY KEY (province_code, claim_id)
);
CREATE UNIQUE INDEX claims_by_id ON claims (claim_id);
-- Duplicate detection: the same person's incidents near in time, on any platform.
CREATE INDEX claims_by_person ON claims (person_key, occurred_at);
CREATE INDEX claims_by_platform ON claims (platform_id, claim_id DESC);
CREATE INDEX claims_by_province ON claims (province_code, claim_id DESC);

-- Pairs of possibly duplicate reports, both ways.
CREATE TABLE claim_duplicates (
    province_code   char(2) NOT NULL,
    claim_id        uuid NOT NULL,
    other_claim_id  uuid NOT NULL,
    flagged_at      timestamptz NOT NULL,
    PRIMARY KEY (province_code, claim_id, other_claim_id)
);

-- Every step, in order; never updated.
CREATE TABLE claim_timeline (
    province_code  char(2) NOT NULL,
    claim_id       uuid NOT NULL,
    seq            integer NOT NULL CHECK (seq > 0),
    step           text NOT NULL,
    status         text NOT NULL,
    at             timestamptz NOT NULL,
    actor          text NOT NULL,
    detail         text NOT NULL,
    PRIMARY KEY (province_code, claim_id, seq),
    FOREIGN KEY (province_code, claim_id) REFERENCES claims (province_code, claim_id)
);
CREATE TRIGGER claim_timeline_append_only
    BEFORE UPDATE OR DELETE ON claim_timeline
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

-- The items of each assessment; a new assessment (after a re-appraisal) supersedes the earlier.
CREATE TABLE benefit_items (
    province_code   char(2) NOT NULL,
    claim_id        uuid NOT NULL,
    assessment      integer NOT NULL CHECK (assessment > 0),
    item            integer NOT NULL CHECK (item > 0),
    kind            text NOT NULL,
    payer           text NOT NULL CHECK (payer IN ('fund', 'platform')),
    amount_fen      bigint NOT NULL CHECK (amount_fen >= 0),
    monthly         boolean NOT NULL,
    formula         text NOT NULL,
    input_names     text[] NOT NULL,
    input_values    bigint[] NOT NULL,
    PRIMARY KEY (province_code, claim_id, assessment, item),
    FOREIGN KEY (province_code, claim_id) REFERENCES claims (province_code, claim_id)
);

CREATE TABLE benefit_payments (
    province_code  char(2) NOT NULL,
    claim_id       uuid NOT NULL,
    payment_id     uuid NOT NULL,
    kind           text NOT NULL,
    amount_fen     bigint NOT NULL CHECK (amount_fen > 0),
    paid_on        date NOT NULL,
    recorded_at    timestamptz NOT NULL,
    actor          text NOT NULL,
    PRIMARY KEY (province_code, claim_id, payment_id),
    FOREIGN KEY (province_code, claim_id) REFERENCES claims (province_code, claim_id)
);
