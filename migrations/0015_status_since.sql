-- The effective date of each enrolment's latest history entry, kept beside its status: whether an
-- enrolment was active on day d needs the history only when d is before that date. Order ingest
-- probed the history for every order. Kept by the same statements that write the history.
ALTER TABLE enrolments ADD COLUMN status_since date;

UPDATE enrolments e SET status_since = latest.effective_date
FROM (SELECT DISTINCT ON (province_code, enrolment_id) province_code, enrolment_id, effective_date
      FROM enrolment_history
      ORDER BY province_code, enrolment_id, seq DESC) latest
WHERE e.province_code = latest.province_code AND e.enrolment_id = latest.enrolment_id;

UPDATE enrolments SET status_since = cover_start WHERE status_since IS NULL;

ALTER TABLE enrolments ALTER COLUMN status_since SET NOT NULL;
