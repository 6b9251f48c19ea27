-- +goose Up
-- Booking rate limits: one token bucket per patient and per client address, shared by
-- every replica. tokens is what the bucket held at updated_at; it refills with time up
-- to the limit. A bucket untouched for a whole period is full again, and is forgotten.
CREATE TABLE booking_throttle (
    key        text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX booking_throttle_updated_idx ON booking_throttle (updated_at);

-- The cap on unpaid holds counts a patient's PENDING_PAYMENT appointments.
CREATE INDEX appointments_patient_pending_idx ON appointments (patient_id, hold_until)
    WHERE state = 'PENDING_PAYMENT';

-- +goose Down
DROP INDEX appointments_patient_pending_idx;
DROP TABLE booking_throttle;
