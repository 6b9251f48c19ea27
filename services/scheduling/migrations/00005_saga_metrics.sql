-- +goose Up
-- The saga's health, read at every metrics scrape, counts the live appointments by
-- state and finds the oldest overdue hold and answer without reading the others.
CREATE INDEX appointments_live_state_idx ON appointments (state) INCLUDE (hold_until, answer_by)
    WHERE state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED');

-- +goose Down
DROP INDEX appointments_live_state_idx;
