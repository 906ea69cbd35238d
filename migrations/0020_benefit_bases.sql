-- The right bases as data (DOMAIN.md, Claims §5). The funeral subsidy and the dependants'
-- pensions (and their cap) are computed on a percent of the previous year's urban private-sector
-- average wage of the province, a different statistic from the all-sector average wage
-- (average_wages) that the injury wage base and the pension bases use.
CREATE TABLE private_sector_wages (
    province_code  char(2) NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    year           integer NOT NULL CHECK (year BETWEEN 1990 AND 2200),
    annual_fen     bigint NOT NULL CHECK (annual_fen > 0),
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (province_code, year)
);

-- The percent of that wage the death base is (60, secondary source: verify), and the months of
-- the wage base of the grades 5 and 6 one-time disability allowance (30 and 25, 人社厅函〔2025〕
-- 79号 Art. 38(4), secondary source: verify), nationally and per province like the other rules.
ALTER TABLE claim_policy
    ADD COLUMN death_base_percent integer NOT NULL DEFAULT 60
        CHECK (death_base_percent BETWEEN 1 AND 300),
    ADD COLUMN grade_5_allowance_months integer NOT NULL DEFAULT 30
        CHECK (grade_5_allowance_months BETWEEN 0 AND 120),
    ADD COLUMN grade_6_allowance_months integer NOT NULL DEFAULT 25
        CHECK (grade_6_allowance_months BETWEEN 0 AND 120);
ALTER TABLE claim_policy
    ALTER COLUMN death_base_percent DROP DEFAULT,
    ALTER COLUMN grade_5_allowance_months DROP DEFAULT,
    ALTER COLUMN grade_6_allowance_months DROP DEFAULT;

-- 2024 national urban per-capita disposable income: 54,188 yuan (deaths in 2025 need it).
INSERT INTO national_incomes (year, annual_fen, updated_at) VALUES (2024, 5418800, now())
ON CONFLICT (year) DO NOTHING;
