-- How many days ahead of today (China Standard Time) an enrolment's cover may start, beside the
-- backdating window and like it: province '00' holds the national default, a province's own value
-- overrides it, and a province row without one (NULL: only its backdating window was set) follows
-- the default.
ALTER TABLE enrolment_policy
    ADD COLUMN max_cover_start_days_ahead integer
        CHECK (max_cover_start_days_ahead BETWEEN 0 AND 3650);

INSERT INTO enrolment_policy (province_code, max_backdate_days, max_cover_start_days_ahead, updated_at)
VALUES ('00', 30, 30, now())
ON CONFLICT (province_code) DO UPDATE SET max_cover_start_days_ahead = 30;

ALTER TABLE enrolment_policy
    ADD CONSTRAINT enrolment_policy_national_cover_start_window
        CHECK (province_code <> '00' OR max_cover_start_days_ahead IS NOT NULL);
