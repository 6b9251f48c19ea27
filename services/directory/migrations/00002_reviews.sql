-- +goose Up
-- Patients' reviews of completed consultations: one per appointment. The doctor's
-- rating_sum and rating_count change in the transaction that inserts the review.
CREATE TABLE reviews (
    id             uuid PRIMARY KEY,
    appointment_id uuid NOT NULL UNIQUE,
    doctor_id      uuid NOT NULL REFERENCES doctors (doctor_id),
    patient_id     uuid NOT NULL,
    stars          smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment        text NOT NULL DEFAULT '' CHECK (char_length(comment) <= 2000),
    created_at     timestamptz NOT NULL
);
CREATE INDEX reviews_doctor_idx ON reviews (doctor_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE reviews;
