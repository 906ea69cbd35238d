-- Enrolment lifecycle: suspension, resumption, termination, transfer; full history; the backdating
-- window as data; the append-only log of lookups of a person by ID number.

ALTER TABLE enrolments
    ADD COLUMN cover_end date,
    ADD COLUMN transferred_from uuid,
    ADD COLUMN transferred_to uuid,
    ADD COLUMN updated_at timestamptz;

-- Suspended enrolments are still open: a platform cannot open a second one beside them.
DROP INDEX enrolments_one_open_per_platform;
CREATE UNIQUE INDEX enrolments_one_open_per_platform
    ON enrolments (platform_id, person_key) WHERE status IN ('active', 'suspended');

-- Every state an enrolment has been in: when it took effect, why, and who said so.
CREATE TABLE enrolment_history (
    province_code         char(2) NOT NULL,
    enrolment_id          uuid NOT NULL,
    seq                   integer NOT NULL CHECK (seq > 0),
    status                text NOT NULL,
    effective_date        date NOT NULL,
    reason                text NOT NULL,
    actor                 text NOT NULL,
    recorded_at           timestamptz NOT NULL,
    -- The other side of a transfer.
    related_enrolment_id  uuid,
    PRIMARY KEY (province_code, enrolment_id, seq),
    FOREIGN KEY (province_code, enrolment_id) REFERENCES enrolments
);
INSERT INTO enrolment_history
    (province_code, enrolment_id, seq, status, effective_date, reason, actor, recorded_at)
SELECT province_code, enrolment_id, 1, 'active', cover_start, 'enrolled', created_by, created_at
FROM enrolments;

-- How many days in the past a lifecycle change may take effect. Province '00' is the national
-- default; a province row overrides it.
CREATE TABLE enrolment_policy (
    province_code      char(2) PRIMARY KEY,
    max_backdate_days  integer NOT NULL CHECK (max_backdate_days BETWEEN 0 AND 3650),
    updated_at         timestamptz NOT NULL
);
INSERT INTO enrolment_policy VALUES ('00', 30, now());

-- Who looked up which person by full ID number, when, through which RPC. Append-only: PIPL asks for
-- at least three years of such records.
CREATE TABLE person_access_log (
    access_id    uuid PRIMARY KEY,
    accessed_at  timestamptz NOT NULL,
    actor        text NOT NULL,
    token_id     text NOT NULL,
    person_key   bytea NOT NULL,
    rpc          text NOT NULL,
    results      integer NOT NULL
);
CREATE INDEX person_access_log_by_person ON person_access_log (person_key, accessed_at);

CREATE FUNCTION refuse_change_to_append_only_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER person_access_log_append_only
    BEFORE UPDATE OR DELETE ON person_access_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();
CREATE TRIGGER person_access_log_no_truncate
    BEFORE TRUNCATE ON person_access_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only_table();
