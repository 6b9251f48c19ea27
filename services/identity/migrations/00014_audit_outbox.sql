-- +goose Up
-- The audit log's unchained outbox (platform/auditchain): an entry appended in the
-- transaction of the action it records is written here, committing or rolling back
-- with it, without locking audit_log_head; the service's batcher then moves it into
-- audit_log, chained, with its time kept. A row is only ever inserted, then deleted by
-- the batch that chains it: updates and truncation are refused, as on audit_log.
CREATE TABLE audit_log_pending (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_role  text,
    actor_crm   text,
    action      text NOT NULL,
    subject_id  uuid,
    client_addr text,
    request_id  text,
    outcome     text NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION audit_log_pending_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log_pending rows are only moved to audit_log';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_pending_no_update BEFORE UPDATE ON audit_log_pending
    FOR EACH ROW EXECUTE FUNCTION audit_log_pending_kept();
CREATE TRIGGER audit_log_pending_no_truncate BEFORE TRUNCATE ON audit_log_pending
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_pending_kept();

-- +goose Down
DROP TABLE audit_log_pending;
DROP FUNCTION audit_log_pending_kept;
