-- Orders partitioned by the month of acceptance, China Standard Time (issue 17): a month's
-- declaration reads one partition, and a month past its retention is detached and archived
-- whole instead of deleted row by row.
--
-- A unique index of a partitioned table must contain the partition key, so "exactly once per
-- (platform, order id), whatever month or province a resend names" moves to a claim table,
-- order_keys, written in the same statement as the order. The orders' own key starts with the
-- province (the distribution column a sharded deployment would use) and serves the declaration's
-- read: one platform's orders of one province in one month are one range of it.

DROP VIEW covered_days;
ALTER TABLE orders RENAME TO orders_unpartitioned;
ALTER INDEX orders_pkey RENAME TO orders_unpartitioned_pkey;
ALTER INDEX orders_by_enrolment RENAME TO orders_unpartitioned_by_enrolment;

CREATE TABLE orders (
    province_code      text NOT NULL,
    platform_id        text NOT NULL,
    order_id           text NOT NULL,
    enrolment_id       uuid NOT NULL,
    place_code         text NOT NULL,
    industry           text NOT NULL,
    accepted_at        timestamptz NOT NULL,
    completed_at       timestamptz,
    base_rate_id       bigint NOT NULL,
    multiplier_id      bigint,
    premium_tenth_fen  bigint NOT NULL CHECK (premium_tenth_fen >= 0),
    recorded_at        timestamptz NOT NULL,
    CONSTRAINT orders_check CHECK (completed_at IS NULL OR completed_at >= accepted_at),
    CONSTRAINT orders_codes_shape CHECK (
        octet_length(place_code) = 6 AND ltrim(place_code, '0123456789') = ''
        AND province_code = left(place_code, 2)),
    PRIMARY KEY (province_code, platform_id, accepted_at, order_id)
) PARTITION BY RANGE (accepted_at);
-- "Which order was this worker on at that instant?"
CREATE INDEX orders_by_enrolment ON orders (enrolment_id, accepted_at);

-- Exactly once per (platform, order id). Rows of an archived month are removed with it: its
-- orders are refused from then on (the month is closed), so its keys are no longer needed.
CREATE TABLE order_keys (
    platform_id  text NOT NULL,
    order_id     text NOT NULL,
    PRIMARY KEY (platform_id, order_id)
);

-- One row per month that has (or had) a partition. 'attached': orders of the month are recorded
-- and declared; 'archiving': closed, being detached and written to its archive file; 'archived':
-- detached, archived and dropped, its detail only in the file named here.
CREATE TABLE order_partitions (
    month           date PRIMARY KEY CHECK (extract(day FROM month) = 1),
    state           text NOT NULL CHECK (state IN ('attached', 'archiving', 'archived')),
    created_at      timestamptz NOT NULL,
    archived_at     timestamptz,
    archive_file    text,
    archive_rows    bigint CHECK (archive_rows >= 0),
    archive_sha256  text,
    -- A month without orders is dropped without a file.
    CHECK (state <> 'archived' OR (archived_at IS NOT NULL AND archive_rows IS NOT NULL
                                   AND (archive_rows = 0 OR (archive_file IS NOT NULL
                                                             AND archive_sha256 IS NOT NULL))))
);

-- The partition of a month is named orders_YYYY_MM.
CREATE FUNCTION order_partition_name(month date) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT 'orders_' || to_char(month, 'YYYY_MM')
$$;

-- Creates the missing partitions of the months from `first` through `through`, never one for a
-- month archived (or being archived) nor before it; returns how many it created. A partition is
-- created on its own and then attached, which locks the parent only against other schema changes,
-- not against ingest (CREATE TABLE … PARTITION OF would block every writer while it waits).
CREATE FUNCTION create_order_partitions(first date, through date, at timestamptz) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    m date := greatest(
        date_trunc('month', first)::date,
        (SELECT (max(p.month) + interval '1 month')::date FROM order_partitions p
         WHERE p.state <> 'attached'));
    created integer := 0;
    name text;
BEGIN
    WHILE m <= date_trunc('month', through)::date LOOP
        IF NOT EXISTS (SELECT 1 FROM order_partitions p WHERE p.month = m) THEN
            name := order_partition_name(m);
            EXECUTE format('CREATE TABLE %I (LIKE orders INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
            EXECUTE format('ALTER TABLE orders ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                           name,
                           m::timestamp AT TIME ZONE INTERVAL '+08:00',
                           (m + interval '1 month')::timestamp AT TIME ZONE INTERVAL '+08:00');
            INSERT INTO order_partitions (month, state, created_at) VALUES (m, 'attached', at);
            created := created + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN created;
END;
$$;

-- The months the existing orders reach (a registry run with a clock offset may hold orders of
-- months still to come), and every month from the first kept in detail under the retention
-- setting through three months ahead. Orders of earlier months are refused as archived.
SELECT create_order_partitions(
    least((SELECT min(accepted_at AT TIME ZONE INTERVAL '+08:00')::date FROM orders_unpartitioned),
          ((now() AT TIME ZONE INTERVAL '+08:00')::date
           - make_interval(months => (SELECT order_detail_months FROM retention_policy
                                      WHERE province_code = '00')))::date),
    greatest((now() AT TIME ZONE INTERVAL '+08:00')::date + 93,
             (SELECT max(accepted_at AT TIME ZONE INTERVAL '+08:00')::date FROM orders_unpartitioned)),
    now());

INSERT INTO orders SELECT * FROM orders_unpartitioned;
INSERT INTO order_keys SELECT platform_id, order_id FROM orders_unpartitioned;
DROP TABLE orders_unpartitioned;

CREATE VIEW covered_days AS
    SELECT DISTINCT province_code, enrolment_id,
           (accepted_at AT TIME ZONE INTERVAL '+08:00')::date AS day
    FROM orders;
