-- The primary key (province_code, enrolment_id) already serves "a province's enrolments, newest
-- first" (a backward index scan); a second index on the same columns only slowed every insert.
DROP INDEX enrolments_by_province;
