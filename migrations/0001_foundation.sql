-- Foundation: platforms, API tokens, pilot scope, persons, enrolments, events, idempotency.
-- Rows that belong to a province carry province_code first in their primary key, so the schema
-- stays ready for sharding and per-province publications. Money would be BIGINT fen; times are
-- timestamptz (UTC); effective-dated tables use half-open ranges [from, to).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE platforms (
    platform_id  text PRIMARY KEY,
    name         text NOT NULL,
    -- GB 32100 unified social credit code; NULL for seeded pilot platforms until registered.
    credit_code  text UNIQUE,
    industries   text[] NOT NULL CHECK (cardinality(industries) > 0),
    created_at   timestamptz NOT NULL
);

CREATE TABLE api_tokens (
    token_id     text PRIMARY KEY,
    -- SHA-256 of the token's secret part; the secret itself is never stored.
    secret_hash  bytea NOT NULL,
    role         text NOT NULL,
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

-- Which platforms are in the pilot in which provinces, when: [valid_from, valid_to).
CREATE TABLE pilot_scope (
    province_code  char(2) NOT NULL,
    platform_id    text NOT NULL REFERENCES platforms,
    valid_from     date NOT NULL,
    valid_to       date,
    PRIMARY KEY (province_code, platform_id, valid_from),
    CHECK (valid_to IS NULL OR valid_to > valid_from),
    EXCLUDE USING gist (
        province_code WITH =,
        platform_id WITH =,
        daterange(valid_from, valid_to) WITH &&
    )
);

-- The national person record: the only cross-province table. Keyed by the HMAC blind index of the
-- normalised ID number; the number itself only encrypted.
CREATE TABLE persons (
    person_key     bytea PRIMARY KEY,
    id_ciphertext  bytea NOT NULL,
    id_key_id      text NOT NULL,
    id_masked      text NOT NULL,
    birth_date     date NOT NULL,
    created_at     timestamptz NOT NULL
);

CREATE TABLE enrolments (
    province_code      char(2) NOT NULL,
    enrolment_id       uuid NOT NULL,
    platform_id        text NOT NULL REFERENCES platforms,
    person_key         bytea NOT NULL REFERENCES persons,
    place_code         char(6) NOT NULL,
    industry           text NOT NULL,
    status             text NOT NULL,
    cover_start        date NOT NULL,
    name_ciphertext    bytea NOT NULL,
    name_masked        text NOT NULL,
    phone_ciphertext   bytea NOT NULL,
    phone_masked       text NOT NULL,
    pii_key_id         text NOT NULL,
    created_at         timestamptz NOT NULL,
    created_by         text NOT NULL,
    PRIMARY KEY (province_code, enrolment_id),
    CHECK (left(place_code, 2) = province_code)
);
CREATE UNIQUE INDEX enrolments_by_id ON enrolments (enrolment_id);
-- One open enrolment per platform and person; a move is a transfer, not a second enrolment.
CREATE UNIQUE INDEX enrolments_one_open_per_platform
    ON enrolments (platform_id, person_key) WHERE status IN ('active');
CREATE INDEX enrolments_by_platform ON enrolments (platform_id, enrolment_id DESC);
CREATE INDEX enrolments_by_province ON enrolments (province_code, enrolment_id DESC);
CREATE INDEX enrolments_by_person ON enrolments (person_key);

-- Transactional outbox: every state change appends its event in the same transaction. Events are
-- numbered per province after commit by the federation sequencer, never on the write path; the
-- writing transaction's id lets the sequencer bound each pass by a snapshot frontier.
CREATE TABLE events (
    province_code  char(2) NOT NULL,
    event_id       uuid NOT NULL,
    event_type     text NOT NULL,
    aggregate_id   uuid NOT NULL,
    -- Encoded flexcover.v1 event message; hashed as stored, never re-serialised.
    payload        bytea NOT NULL,
    occurred_at    timestamptz NOT NULL,
    writer_xid     xid8 NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (province_code, event_id)
);
CREATE INDEX events_by_writer_xid ON events (writer_xid);

-- Idempotency records, written in the same transaction as the side effect they protect.
CREATE TABLE idempotency_keys (
    caller        text NOT NULL,
    request_id    text NOT NULL,
    rpc           text NOT NULL,
    request_hash  bytea NOT NULL,
    response      bytea,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (caller, request_id)
);
