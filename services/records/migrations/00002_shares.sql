-- +goose Up
-- A share is a patient's grant of documents and/or groups to one doctor until
-- expires_at. It is never deleted: revoked_at ends it early, and every read checks
-- both at request time (no cleanup job).
CREATE TABLE shares (
    id         uuid PRIMARY KEY,
    patient_id uuid NOT NULL,
    doctor_id  uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    UNIQUE (id, patient_id)
);
CREATE INDEX shares_patient_idx ON shares (patient_id, created_at DESC);
CREATE INDEX shares_doctor_idx ON shares (doctor_id, patient_id);

-- Documents granted directly.
CREATE TABLE share_documents (
    share_id    uuid NOT NULL REFERENCES shares (id),
    document_id uuid NOT NULL REFERENCES documents (id),
    PRIMARY KEY (share_id, document_id)
);
CREATE INDEX share_documents_document_idx ON share_documents (document_id);

-- Groups granted: whatever documents are filed in them when a read arrives.
CREATE TABLE share_groups (
    share_id uuid NOT NULL REFERENCES shares (id),
    group_id uuid NOT NULL REFERENCES groups (id),
    PRIMARY KEY (share_id, group_id)
);
CREATE INDEX share_groups_group_idx ON share_groups (group_id);

-- The grant an entry concerns (created, revoked, or read through).
ALTER TABLE access_log ADD COLUMN share_id uuid;

-- +goose Down
ALTER TABLE access_log DROP COLUMN share_id;
DROP TABLE share_groups;
DROP TABLE share_documents;
DROP TABLE shares;
