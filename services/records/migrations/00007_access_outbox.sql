-- +goose Up
-- The access log's unchained outbox (platform/auditchain): an entry written in the
-- transaction of the action it records (a share, an upload) is written here,
-- committing or rolling back with it, without locking access_log_head; the service's
-- batcher then moves it into access_log, chained, with its time kept. A row is only
-- ever inserted, then deleted by the batch that chains it: updates and truncation are
-- refused, as on access_log.
CREATE TABLE access_log_pending (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    patient_id  uuid,
    actor_id    uuid,
    actor_role  text,
    actor_crm   text,
    action      text NOT NULL,
    document_id uuid,
    group_id    uuid,
    share_id    uuid,
    client_addr text,
    request_id  text,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'denied', 'invalid', 'failed')),
    reason      text
);

-- +goose StatementBegin
CREATE FUNCTION access_log_pending_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log_pending rows are only moved to access_log';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER access_log_pending_no_update BEFORE UPDATE ON access_log_pending
    FOR EACH ROW EXECUTE FUNCTION access_log_pending_kept();
CREATE TRIGGER access_log_pending_no_truncate BEFORE TRUNCATE ON access_log_pending
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_pending_kept();

-- +goose Down
DROP TABLE access_log_pending;
DROP FUNCTION access_log_pending_kept;
