-- +goose Up
-- Partner clinics, the doctors affiliated with them, and the doctors' delegations.
CREATE TABLE clinics (
    id         uuid PRIMARY KEY,
    cnpj       text NOT NULL UNIQUE CHECK (cnpj ~ '^[0-9]{14}$'),
    name       text NOT NULL,
    email      text NOT NULL,
    phone      text NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL
);

-- One row per (clinic, doctor): the clinic invites, the doctor accepts or declines and
-- may end it; a declined or ended affiliation is invited again in the same row. Only an
-- active affiliation carries a delegation.
CREATE TABLE affiliations (
    clinic_id         uuid NOT NULL REFERENCES clinics (id),
    doctor_id         uuid NOT NULL,
    state             text NOT NULL CHECK (state IN ('invited', 'active', 'declined', 'ended')),
    answers_delegated boolean NOT NULL DEFAULT false CHECK (NOT answers_delegated OR state = 'active'),
    invited_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (clinic_id, doctor_id)
);
CREATE INDEX affiliations_doctor_idx ON affiliations (doctor_id, updated_at DESC);

-- Every change of an affiliation, who made it and when: append-only.
CREATE TABLE affiliation_history (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    clinic_id  uuid NOT NULL,
    doctor_id  uuid NOT NULL,
    action     text NOT NULL,
    actor_id   uuid NOT NULL,
    actor_role text NOT NULL,
    at         timestamptz NOT NULL,
    FOREIGN KEY (clinic_id, doctor_id) REFERENCES affiliations (clinic_id, doctor_id)
);
CREATE INDEX affiliation_history_idx ON affiliation_history (clinic_id, doctor_id, id);

-- +goose StatementBegin
CREATE FUNCTION affiliation_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'affiliation_history is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER affiliation_history_append_only BEFORE UPDATE OR DELETE ON affiliation_history
    FOR EACH ROW EXECUTE FUNCTION affiliation_history_append_only();

-- +goose Down
DROP TABLE affiliation_history;
DROP FUNCTION affiliation_history_append_only;
DROP TABLE affiliations;
DROP TABLE clinics;
