-- +goose Up
-- LGPD data-subject rights (art. 18): erasure of a patient account, and exports of a
-- patient's data.

-- When the owner erased the account. An erased account keeps its id (appointments,
-- payments and records kept by law still name it) and nothing personal: no name, an
-- e-mail under the non-routable .invalid domain (RFC 2606) that no one can register,
-- no CPF blind index, no sealed personal fields, and a password hash of a random
-- secret no one knows.
ALTER TABLE accounts ADD COLUMN erased_at timestamptz;
ALTER TABLE accounts DROP CONSTRAINT accounts_patient_has_pii;
ALTER TABLE accounts ADD CONSTRAINT accounts_patient_has_pii
    CHECK ((role = 'patient' AND erased_at IS NULL) = (cpf_index IS NOT NULL AND pii IS NOT NULL));
ALTER TABLE accounts ADD CONSTRAINT accounts_erased_anonymous
    CHECK (erased_at IS NULL OR (name = '' AND email LIKE '%@erased.invalid' AND cpf_index IS NULL AND pii IS NULL));

-- A patient's data export: gathered by the identity.export_subject_data job, stored
-- sealed in blobs (a data key of its own, like a record document's), downloadable for
-- 24 hours after it is produced, then deleted by identity.expire_data_export.
CREATE TABLE data_exports (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    state        text NOT NULL CHECK (state IN ('pending', 'ready', 'expired', 'failed')),
    created_at   timestamptz NOT NULL,
    ready_at     timestamptz,
    expires_at   timestamptz,
    size_bytes   bigint,
    blob_key     text,
    data_key     bytea, -- sealed by the keys service
    nonce_prefix bytea CHECK (length(nonce_prefix) = 4),
    CONSTRAINT data_exports_ready_has_archive CHECK (state <> 'ready' OR
        (ready_at IS NOT NULL AND expires_at IS NOT NULL AND size_bytes IS NOT NULL AND blob_key IS NOT NULL
         AND data_key IS NOT NULL AND nonce_prefix IS NOT NULL))
);
CREATE INDEX data_exports_account_idx ON data_exports (account_id, created_at DESC);
-- At most one export of an account is being gathered at a time.
CREATE UNIQUE INDEX data_exports_one_pending ON data_exports (account_id) WHERE state = 'pending';

-- +goose Down
DROP TABLE data_exports;
ALTER TABLE accounts DROP CONSTRAINT accounts_erased_anonymous;
ALTER TABLE accounts DROP CONSTRAINT accounts_patient_has_pii;
ALTER TABLE accounts ADD CONSTRAINT accounts_patient_has_pii CHECK ((role = 'patient') = (cpf_index IS NOT NULL AND pii IS NOT NULL));
ALTER TABLE accounts DROP COLUMN erased_at;
