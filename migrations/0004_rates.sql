-- Per-order premium rates as effective-dated data. Each version has an id, so every computed
-- amount can store the exact versions it used.

CREATE TABLE base_rates (
    base_rate_id   bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    industry       text NOT NULL,
    rate_class     text NOT NULL,
    valid_from     date NOT NULL,
    fen_per_order  bigint NOT NULL CHECK (fen_per_order >= 0),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (industry, rate_class, valid_from)
);

-- Which base rate class a platform pays in an industry; absent means 'standard'.
CREATE TABLE platform_rate_classes (
    platform_id  text NOT NULL REFERENCES platforms,
    industry     text NOT NULL,
    rate_class   text NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (platform_id, industry)
);

-- A province's multiplier for one platform and industry: 0.5 to 1.5 in tenths, effective
-- 1 January, at most once a year (the primary key holds one per day, the check holds the day).
CREATE TABLE rate_multipliers (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL REFERENCES platforms,
    industry       text NOT NULL,
    valid_from     date NOT NULL CHECK (extract(month FROM valid_from) = 1 AND extract(day FROM valid_from) = 1),
    multiplier_id  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenths         smallint NOT NULL CHECK (tenths BETWEEN 5 AND 15),
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (province_code, platform_id, industry, valid_from)
);
