-- +goose Up
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Each row is chained to the one before it (platform/auditchain): row_hash is an
-- HMAC-SHA256, under a key derived from the sealed "audit-chain" secret, of prev_hash
-- and the row's fields. Rows written before this migration have neither; every row
-- written after must (NOT VALID: the check applies to new rows only).
ALTER TABLE audit_log
    ADD COLUMN prev_hash bytea,
    ADD COLUMN row_hash  bytea,
    ADD CONSTRAINT audit_log_chained CHECK (prev_hash IS NOT NULL AND row_hash IS NOT NULL) NOT VALID;

-- The chain's head: its first and last rows, and the last row's hash. Every append
-- locks this one row FOR UPDATE, so appends take turns and the chain never forks.
CREATE TABLE audit_log_head (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    first_id  bigint,
    last_id   bigint,
    last_hash bytea
);
INSERT INTO audit_log_head DEFAULT VALUES;

-- +goose StatementBegin
CREATE FUNCTION audit_log_head_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log_head is never removed';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_head_kept BEFORE DELETE ON audit_log_head
    FOR EACH ROW EXECUTE FUNCTION audit_log_head_kept();
CREATE TRIGGER audit_log_head_no_truncate BEFORE TRUNCATE ON audit_log_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_head_kept();

-- +goose Down
DROP TABLE audit_log_head;
DROP FUNCTION audit_log_head_kept;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_chained, DROP COLUMN row_hash, DROP COLUMN prev_hash;
DROP TRIGGER audit_log_no_truncate ON audit_log;
