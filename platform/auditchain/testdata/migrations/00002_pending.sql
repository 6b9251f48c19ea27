-- +goose Up
-- The test log's unchained outbox: rows staged in a caller's transaction (with its
-- time), until a batch chains them into log.
CREATE TABLE log_pending (
    seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at   timestamptz NOT NULL DEFAULT now(),
    who  uuid,
    what text NOT NULL,
    ref  text
);

-- +goose Down
DROP TABLE log_pending;
