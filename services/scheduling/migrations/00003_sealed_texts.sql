-- +goose Up
-- What patients and doctors write — the appointment's reason, a cancellation's
-- justification, a refusal's reason — is health data: it is kept sealed with envelope
-- encryption (see texts.go), never in clear. The text columns keep only the fixed
-- phrases the system writes in the history, and, until the scheduling.seal_texts job
-- has sealed them, texts written before this migration.
ALTER TABLE appointments ADD COLUMN reason_sealed bytea;
ALTER TABLE appointment_history ADD COLUMN reason_sealed bytea;

-- What the seal job still has to seal; empty once it has run.
CREATE INDEX appointments_plain_reason_idx ON appointments (id) WHERE reason <> '';
CREATE INDEX appointment_history_plain_reason_idx ON appointment_history (id)
    WHERE reason <> '' AND actor_role <> 'system';

-- The history stays append-only, with one exception: a text written in clear is sealed
-- and cleared, once, leaving every other column as it was.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION appointment_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.reason <> '' AND NEW.reason = '' AND OLD.reason_sealed IS NULL AND NEW.reason_sealed IS NOT NULL
           AND (NEW.id, NEW.appointment_id, NEW.kind, NEW.from_state, NEW.to_state, NEW.actor_id, NEW.actor_role, NEW.at)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.appointment_id, OLD.kind, OLD.from_state, OLD.to_state, OLD.actor_id, OLD.actor_role, OLD.at) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'appointment_history is append-only';
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Going back would put sealed texts nowhere: refuse while there are any.
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM appointments WHERE reason_sealed IS NOT NULL)
       OR EXISTS (SELECT 1 FROM appointment_history WHERE reason_sealed IS NOT NULL) THEN
        RAISE EXCEPTION 'scheduling: sealed texts exist; migrating down would lose them';
    END IF;
END
$$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION appointment_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'appointment_history is append-only';
END
$$;
-- +goose StatementEnd
DROP INDEX appointment_history_plain_reason_idx;
DROP INDEX appointments_plain_reason_idx;
ALTER TABLE appointment_history DROP COLUMN reason_sealed;
ALTER TABLE appointments DROP COLUMN reason_sealed;
