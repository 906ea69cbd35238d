-- Orders and coverage look enrolments up by person and platform. With an index on the person alone,
-- a planner working from stale statistics (right after a bulk enrolment) AND-ed it with the whole
-- platform index on every lookup; one index on both columns is always the cheap path.
DROP INDEX enrolments_by_person;
CREATE INDEX enrolments_by_person ON enrolments (person_key, platform_id);
