-- Retention as data (issue 17): how long the person access log is kept (PIPL asks for at least
-- three years) and, for the orders' partition maintenance to come, how many months orders are
-- kept in detail. Province '00' is the national default, the only row for now.
CREATE TABLE retention_policy (
    province_code        text PRIMARY KEY CHECK (province_code = '00'),
    access_log_years     integer NOT NULL CHECK (access_log_years BETWEEN 3 AND 30),
    order_detail_months  integer NOT NULL CHECK (order_detail_months BETWEEN 1 AND 600),
    updated_at           timestamptz NOT NULL
);
INSERT INTO retention_policy VALUES ('00', 3, 24, now());

-- What `flexcover admin maintain` (or serve's periodic pass) removed, one row per step that did
-- something: the trace left when audit rows are purged.
CREATE TABLE maintenance_log (
    maintenance_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    step            text NOT NULL,
    finished_at     timestamptz NOT NULL,
    cutoff          timestamptz NOT NULL,
    rows_removed    bigint NOT NULL CHECK (rows_removed > 0)
);

-- The purge takes the oldest rows first, batch by batch.
CREATE INDEX person_access_log_by_time ON person_access_log (accessed_at);

-- The access log stays append-only but for the retention purge: a transaction that declares its
-- cutoff (the transaction-local setting flexcover.access_log_cutoff) may delete rows older than
-- it, and no others. Updates and TRUNCATE stay refused.
CREATE FUNCTION person_access_log_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cutoff text := current_setting('flexcover.access_log_cutoff', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(cutoff, '') <> ''
       AND OLD.accessed_at < cutoff::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
DROP TRIGGER person_access_log_append_only ON person_access_log;
CREATE TRIGGER person_access_log_append_only
    BEFORE UPDATE OR DELETE ON person_access_log
    FOR EACH ROW EXECUTE FUNCTION person_access_log_purge_only();
