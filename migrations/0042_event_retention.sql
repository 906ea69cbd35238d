-- Federation events kept until their province has acknowledged them (issue 17, point 2).
--
-- A province's agency acknowledges that its copy holds the log up to a seq with the chain hash
-- there (AcknowledgeEvents; the service checks the hash against its own chain). Every advance is
-- a row: events acknowledged at a time are purged `event_days_after_ack` days after that time,
-- whatever later acknowledgements say. Maintenance drops the rows superseded by the purge point.
CREATE TABLE province_acknowledgements (
    province_code    text NOT NULL CHECK (province_code ~ '^[0-9]{2}$'),
    seq              bigint NOT NULL CHECK (seq > 0),
    chain_hash       bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    acknowledged_at  timestamptz NOT NULL,
    -- The token that acknowledged.
    acknowledged_by  text NOT NULL,
    PRIMARY KEY (province_code, seq)
);

-- How far a province's log has been purged: every event up to and including seq is gone (from
-- province_log and from events), and chain_hash is the chain's hash at seq, so digests at the
-- purge point and cursors from it still verify. Moves only forward.
CREATE TABLE province_log_checkpoints (
    province_code  text PRIMARY KEY CHECK (province_code ~ '^[0-9]{2}$'),
    seq            bigint NOT NULL CHECK (seq > 0),
    chain_hash     bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    purged_at      timestamptz NOT NULL
);

-- Days acknowledged events stay online after their acknowledgement (0: purged by the next pass).
ALTER TABLE retention_policy
    ADD COLUMN event_days_after_ack integer NOT NULL DEFAULT 30
        CHECK (event_days_after_ack BETWEEN 0 AND 3650);

-- The province log stays append-only but for the purge of acknowledged events: a transaction that
-- declares what it purges (the transaction-local setting flexcover.province_log_purge, as
-- '<province>:<seq>') may delete that province's rows up to that seq which an acknowledgement
-- covers, and no others. Updates and other deletes stay refused.
CREATE FUNCTION province_log_purge_only() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    declared text := current_setting('flexcover.province_log_purge', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(declared, '') ~ '^[0-9]{2}:[0-9]{1,18}$'
       AND OLD.province_code = split_part(declared, ':', 1)
       AND OLD.seq <= split_part(declared, ':', 2)::bigint
       AND EXISTS (SELECT 1 FROM province_acknowledgements a
                   WHERE a.province_code = OLD.province_code AND a.seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
DROP TRIGGER province_log_append_only ON province_log;
CREATE TRIGGER province_log_append_only
    BEFORE UPDATE OR DELETE ON province_log
    FOR EACH ROW EXECUTE FUNCTION province_log_purge_only();
