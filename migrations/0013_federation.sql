-- Federation: committed events numbered per province, gapless, after the fact, by one sequencer.
--
-- Writers only insert into `events` (with their transaction id, `writer_xid`). A sequencer pass
-- takes the snapshot's xmin as its frontier: every transaction with a lower id has finished, so
-- every event it committed is visible and no later commit can add one below the frontier. A pass
-- numbers the events with writer_xid in [previous frontier, new frontier): a transaction that is
-- still open holds the frontier back (its events and all later ones wait), so a late commit is
-- never skipped. Constraints, not the advisory lock, keep the numbering right: an event is
-- numbered once (unique event_id), a seq is used once per province (primary key), and the heads
-- and the frontier move only from the value the pass read.

CREATE TABLE sequencer_frontier (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    frontier   xid8 NOT NULL,
    passes     bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL
);
INSERT INTO sequencer_frontier (frontier, updated_at) VALUES ('1'::xid8, now());

CREATE TABLE province_log (
    province_code  char(2) NOT NULL,
    seq            bigint NOT NULL CHECK (seq > 0),
    event_id       uuid NOT NULL UNIQUE,
    -- SHA-256 over the previous hash, seq, the event id and the stored payload bytes.
    chain_hash     bytea NOT NULL,
    sequenced_at   timestamptz NOT NULL,
    PRIMARY KEY (province_code, seq)
);
CREATE TRIGGER province_log_append_only
    BEFORE UPDATE OR DELETE ON province_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

CREATE TABLE province_heads (
    province_code  char(2) PRIMARY KEY,
    seq            bigint NOT NULL,
    chain_hash     bytea NOT NULL
);
