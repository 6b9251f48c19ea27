-- +goose Up
-- Booking: what the patient asked for, the idempotency key of the request that created
-- the appointment, and the deadlines of its saga.
ALTER TABLE appointments
    ADD COLUMN reason            text NOT NULL DEFAULT '',
    ADD COLUMN idempotency_key   text,
    -- PENDING_PAYMENT: the slot is released when the charge is not paid by then.
    ADD COLUMN hold_until        timestamptz,
    -- AWAITING_DOCTOR: an unanswered appointment counts as refused at this instant.
    ADD COLUMN answer_by         timestamptz,
    -- CANCELLED / REFUSED: what the cancellation policy refunds, in centavos.
    ADD COLUMN refund_cents      bigint NOT NULL DEFAULT 0 CHECK (refund_cents >= 0),
    ADD COLUMN patient_joined_at timestamptz,
    ADD COLUMN doctor_joined_at  timestamptz,
    -- The consultation window ended and nobody joined.
    ADD COLUMN no_show           boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT appointments_refund_le_price CHECK (refund_cents <= price_cents);

-- A retried booking finds the appointment its key created.
CREATE UNIQUE INDEX appointments_patient_key_idx ON appointments (patient_id, idempotency_key);

-- A patient cannot hold two live appointments at overlapping times.
ALTER TABLE appointments ADD CONSTRAINT appointments_patient_no_overlap
    EXCLUDE USING gist (patient_id WITH =, tstzrange(start_at, end_at) WITH &&)
    WHERE (state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED'));

-- Lists read a participant's appointments by start time.
DROP INDEX appointments_doctor_idx;
DROP INDEX appointments_patient_idx;
CREATE INDEX appointments_doctor_start_idx ON appointments (doctor_id, start_at, id);
CREATE INDEX appointments_patient_start_idx ON appointments (patient_id, start_at, id);

-- Every transition and event of an appointment: who, when, why. Append-only.
CREATE TABLE appointment_history (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    appointment_id uuid NOT NULL REFERENCES appointments (id),
    kind           text NOT NULL,
    from_state     text,
    to_state       text,
    actor_id       uuid,
    actor_role     text NOT NULL CHECK (actor_role IN ('patient', 'doctor', 'system')),
    reason         text NOT NULL DEFAULT '',
    at             timestamptz NOT NULL
);
CREATE INDEX appointment_history_appointment_idx ON appointment_history (appointment_id, id);

-- +goose StatementBegin
CREATE FUNCTION appointment_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'appointment_history is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER appointment_history_no_change BEFORE UPDATE OR DELETE ON appointment_history
    FOR EACH ROW EXECUTE FUNCTION appointment_history_append_only();
CREATE TRIGGER appointment_history_no_truncate BEFORE TRUNCATE ON appointment_history
    FOR EACH STATEMENT EXECUTE FUNCTION appointment_history_append_only();

-- +goose Down
DROP TABLE appointment_history;
DROP FUNCTION appointment_history_append_only();
DROP INDEX appointments_doctor_start_idx;
DROP INDEX appointments_patient_start_idx;
CREATE INDEX appointments_doctor_idx ON appointments (doctor_id, created_at);
CREATE INDEX appointments_patient_idx ON appointments (patient_id, created_at);
ALTER TABLE appointments DROP CONSTRAINT appointments_patient_no_overlap;
DROP INDEX appointments_patient_key_idx;
ALTER TABLE appointments DROP CONSTRAINT appointments_refund_le_price,
    DROP COLUMN reason, DROP COLUMN idempotency_key, DROP COLUMN hold_until, DROP COLUMN answer_by,
    DROP COLUMN refund_cents, DROP COLUMN patient_joined_at, DROP COLUMN doctor_joined_at, DROP COLUMN no_show;
