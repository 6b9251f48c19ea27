-- +goose Up
-- What a doctor submits for the CRM verification, and every decision on it.

-- The doctor's latest evidence (a new submission replaces it while pending). The card
-- is in the blobs service under card_key, sealed with a data key of its own
-- (card_data_key, encrypted by the keys service under an encryption context naming the
-- doctor); the key names no person.
CREATE TABLE doctor_evidence (
    doctor_id         uuid PRIMARY KEY REFERENCES accounts (id),
    -- [{"code": "cardiologia", "rqe": "12345"}, ...]
    specialties       jsonb NOT NULL,
    card_key          text NOT NULL,
    card_content_type text NOT NULL CHECK (card_content_type IN ('image/jpeg', 'image/png', 'application/pdf')),
    card_size         bigint NOT NULL CHECK (card_size > 0),
    card_data_key     bytea NOT NULL,
    submitted_at      timestamptz NOT NULL
);

-- Every change of a doctor's status, append-only. operator_id is NULL when the change
-- followed another decision (a competing claim rejected by an approval).
CREATE TABLE doctor_decisions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doctor_id   uuid NOT NULL REFERENCES accounts (id),
    from_status text NOT NULL,
    to_status   text NOT NULL,
    reason      text NOT NULL,
    operator_id uuid REFERENCES accounts (id),
    decided_at  timestamptz NOT NULL
);
CREATE INDEX doctor_decisions_doctor ON doctor_decisions (doctor_id, id);

-- The operators' queue: pending doctors by registration.
CREATE INDEX accounts_pending_doctors ON accounts (created_at, id) WHERE doctor_status = 'pending_verification';

-- +goose Down
DROP INDEX accounts_pending_doctors;
DROP TABLE doctor_decisions;
DROP TABLE doctor_evidence;
