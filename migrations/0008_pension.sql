-- Employee basic pension insurance of flexible workers: provincial average wages as data, one
-- active pension enrolment per person nationally, and the months paid.

CREATE TABLE average_wages (
    province_code  char(2) NOT NULL,
    year           integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    annual_fen     bigint NOT NULL CHECK (annual_fen > 0),
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (province_code, year)
);

CREATE TABLE pension_enrolments (
    province_code     char(2) NOT NULL,
    pension_id        uuid NOT NULL,
    person_key        bytea NOT NULL REFERENCES persons,
    place_code        char(6) NOT NULL,
    monthly_base_fen  bigint NOT NULL CHECK (monthly_base_fen > 0),
    status            text NOT NULL CHECK (status IN ('active', 'transferred')),
    transferred_to    uuid,
    created_at        timestamptz NOT NULL,
    created_by        text NOT NULL,
    PRIMARY KEY (province_code, pension_id),
    CHECK (left(place_code, 2) = province_code)
);
CREATE UNIQUE INDEX pension_enrolments_by_id ON pension_enrolments (pension_id);
-- One active pension enrolment per person, nationally: a move is a transfer.
CREATE UNIQUE INDEX pension_one_active_per_person ON pension_enrolments (person_key) WHERE status = 'active';

CREATE TABLE pension_months (
    province_code   char(2) NOT NULL,
    pension_id      uuid NOT NULL,
    month           date NOT NULL CHECK (extract(day FROM month) = 1),
    person_key      bytea NOT NULL,
    base_fen        bigint NOT NULL,
    total_fen       bigint NOT NULL,
    individual_fen  bigint NOT NULL,
    declared_at     timestamptz NOT NULL,
    PRIMARY KEY (province_code, pension_id, month)
);
-- A month is paid once per person, whichever enrolment it was paid under.
CREATE UNIQUE INDEX pension_month_once_per_person ON pension_months (person_key, month);
