-- +goose Up
-- Service secrets (the access log chain's), sealed through the keys service.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Each row is chained to the one before it (platform/auditchain): row_hash is an
-- HMAC-SHA256, under a key derived from the sealed "access-chain" secret, of prev_hash
-- and the row's fields. Rows written before this migration have neither; every row
-- written after must (NOT VALID: the check applies to new rows only).
ALTER TABLE access_log
    ADD COLUMN prev_hash bytea,
    ADD COLUMN row_hash  bytea,
    ADD CONSTRAINT access_log_chained CHECK (prev_hash IS NOT NULL AND row_hash IS NOT NULL) NOT VALID;

-- The chain's head: its first and last rows, and the last row's hash. Every append
-- locks this one row FOR UPDATE, so appends take turns and the chain never forks.
CREATE TABLE access_log_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_id  bigint,
    last_id   bigint,
    last_hash bytea
);
INSERT INTO access_log_head DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION access_log_head_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log_head is never removed';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER access_log_head_kept BEFORE DELETE ON access_log_head
    FOR EACH ROW EXECUTE FUNCTION access_log_head_kept();
CREATE TRIGGER access_log_head_no_truncate BEFORE TRUNCATE ON access_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_head_kept();

-- +goose Down
DROP TABLE access_log_head;
DROP FUNCTION access_log_head_kept;
ALTER TABLE access_log DROP CONSTRAINT access_log_chained, DROP COLUMN row_hash, DROP COLUMN prev_hash;
DROP TABLE secrets;
