-- Monthly contribution declarations: per platform, province and month, lines per industry and
-- rate version. A correction is a new version; nothing is overwritten.

-- Due day of the month after the period, and the late fee, as data. Province '00' is the
-- national default; a province row overrides it.
CREATE TABLE contribution_policy (
    province_code    char(2) PRIMARY KEY,
    due_day          integer NOT NULL CHECK (due_day BETWEEN 1 AND 28),
    late_fee_ppm_per_day integer NOT NULL CHECK (late_fee_ppm_per_day BETWEEN 0 AND 100000),
    updated_at       timestamptz NOT NULL
);
INSERT INTO contribution_policy VALUES ('00', 15, 500, now());

CREATE TABLE declarations (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL REFERENCES platforms,
    period         date NOT NULL CHECK (extract(day FROM period) = 1),
    version        integer NOT NULL CHECK (version > 0),
    source         text NOT NULL CHECK (source IN ('orders', 'declared_counts')),
    total_fen      bigint NOT NULL,
    due_date       date NOT NULL,
    declared_at    timestamptz NOT NULL,
    declared_by    text NOT NULL,
    PRIMARY KEY (province_code, platform_id, period, version)
);

CREATE TABLE declaration_lines (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL,
    period         date NOT NULL,
    version        integer NOT NULL,
    line_no        integer NOT NULL CHECK (line_no > 0),
    industry       text NOT NULL,
    base_rate_id   bigint NOT NULL REFERENCES base_rates (base_rate_id),
    multiplier_id  bigint REFERENCES rate_multipliers (multiplier_id),
    orders         bigint NOT NULL CHECK (orders >= 0),
    amount_fen     bigint NOT NULL CHECK (amount_fen >= 0),
    PRIMARY KEY (province_code, platform_id, period, version, line_no),
    FOREIGN KEY (province_code, platform_id, period, version) REFERENCES declarations
);
