-- +goose Up
-- A chained log as the services keep one (identity's audit_log, records' access_log),
-- for the package's tests and benchmarks: what may not be 'bad' (a row the database
-- refuses), and ref is unique (a test's uncommitted row holds an append up).
CREATE TABLE log (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL,
    who       uuid,
    what      text NOT NULL CHECK (what <> 'bad'),
    ref       text UNIQUE,
    prev_hash bytea,
    row_hash  bytea
);

CREATE TABLE log_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_id  bigint,
    last_id   bigint,
    last_hash bytea
);
INSERT INTO log_head DEFAULT VALUES;

-- +goose Down
DROP TABLE log_head;
DROP TABLE log;
