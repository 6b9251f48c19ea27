-- +goose Up
-- Every call a partner client made through the edge: who (client, its clinic, the
-- secret its token came from, the scope that admitted it), what, from where, how it
-- ended and how long it took. Append-only, and chained row to row
-- (platform/auditchain) under a key derived from the edge's chain secret, which the
-- database never holds (-partner-edge.call-log-secret).
CREATE TABLE call_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    client_id   text NOT NULL,
    clinic_id   text NOT NULL,
    secret_id   text NOT NULL,
    scope       text NOT NULL,
    method      text NOT NULL,
    code        text NOT NULL,
    duration_us bigint NOT NULL CHECK (duration_us >= 0),
    client_addr text,
    request_id  text,
    prev_hash   bytea NOT NULL,
    row_hash    bytea NOT NULL
);
CREATE INDEX call_log_client_idx ON call_log (client_id, at);

-- +goose StatementBegin
CREATE FUNCTION call_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'call_log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER call_log_append_only BEFORE UPDATE OR DELETE ON call_log
    FOR EACH ROW EXECUTE FUNCTION call_log_append_only();
CREATE TRIGGER call_log_no_truncate BEFORE TRUNCATE ON call_log
    FOR EACH STATEMENT EXECUTE FUNCTION call_log_append_only();

-- The chain's head: every append locks this one row, so appends take turns and the
-- chain never forks.
CREATE TABLE call_log_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_id  bigint,
    last_id   bigint,
    last_hash bytea
);
INSERT INTO call_log_head DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION call_log_head_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'call_log_head is never removed';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER call_log_head_kept BEFORE DELETE ON call_log_head
    FOR EACH ROW EXECUTE FUNCTION call_log_head_kept();
CREATE TRIGGER call_log_head_no_truncate BEFORE TRUNCATE ON call_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION call_log_head_kept();

-- +goose Down
DROP TABLE call_log_head;
DROP FUNCTION call_log_head_kept;
DROP TABLE call_log;
DROP FUNCTION call_log_append_only;
