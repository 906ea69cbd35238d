-- A covered day is a day (China Standard Time) on which a worker had an accepted order under an
-- enrolment. Kept as its own table it was a second row written for nearly every order (a month of
-- orders of a million workers touches tens of millions of worker-days); derived from the orders it
-- costs nothing to write and is read through the (enrolment, accepted_at) index.
DROP TABLE covered_days;
CREATE VIEW covered_days AS
    SELECT DISTINCT province_code, enrolment_id,
           (accepted_at AT TIME ZONE INTERVAL '+08:00')::date AS day
    FROM orders;
