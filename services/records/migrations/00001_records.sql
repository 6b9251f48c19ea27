-- +goose Up
-- A group is a folder of one patient's documents. (id, patient_id) is unique so that
-- documents can reference a group of their own patient only.
CREATE TABLE groups (
    id         uuid PRIMARY KEY,
    patient_id uuid NOT NULL,
    name       text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    UNIQUE (id, patient_id)
);
CREATE UNIQUE INDEX groups_patient_name_key ON groups (patient_id, lower(name));

-- A document's metadata and what is needed to read its encrypted object. Rows are
-- never deleted (CFM rules keep medical records permanently): deleted_at hides them.
CREATE TABLE documents (
    id                    uuid PRIMARY KEY,
    patient_id            uuid NOT NULL,
    title                 text NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('exam', 'report', 'image', 'prescription', 'other')),
    exam_date             date,
    declared_content_type text NOT NULL,
    -- What the bytes were detected to be (they must agree with the declared type).
    content_type          text NOT NULL,
    size_bytes            bigint NOT NULL CHECK (size_bytes > 0),
    sha256                bytea NOT NULL CHECK (length(sha256) = 32), -- of the plaintext
    -- The object in the blobs service: "records/<random uuid>", nothing personal.
    blob_key              text NOT NULL UNIQUE,
    -- The document's own data key, encrypted by the keys service under the context
    -- {service: records, document: <id>, patient: <patient_id>}.
    data_key              bytea NOT NULL,
    -- Ciphertext format: version, plaintext bytes per chunk, random nonce prefix.
    format                smallint NOT NULL CHECK (format = 1),
    chunk_size            integer NOT NULL CHECK (chunk_size > 0),
    nonce_prefix          bytea NOT NULL CHECK (length(nonce_prefix) = 4),
    group_id              uuid,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    deleted_at            timestamptz,
    FOREIGN KEY (group_id, patient_id) REFERENCES groups (id, patient_id)
);
CREATE INDEX documents_patient_list_idx ON documents (patient_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX documents_group_idx ON documents (group_id) WHERE group_id IS NOT NULL;

-- Append-only log of every access to a patient's record: who, what, when, from where,
-- with which request, and how it ended. patient_id is the record's owner, whose log
-- it appears in.
CREATE TABLE access_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    patient_id  uuid,
    actor_id    uuid,
    actor_role  text,
    actor_crm   text,
    action      text NOT NULL,
    document_id uuid,
    group_id    uuid,
    client_addr text,
    request_id  text,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'denied', 'invalid', 'failed')),
    reason      text
);
CREATE INDEX access_log_patient_idx ON access_log (patient_id, at DESC, id DESC);

-- +goose StatementBegin
CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
-- TRUNCATE skips row triggers; refuse it too.
CREATE TRIGGER access_log_no_truncate BEFORE TRUNCATE ON access_log
    FOR EACH STATEMENT EXECUTE FUNCTION access_log_append_only();

-- +goose Down
DROP TABLE access_log;
DROP FUNCTION access_log_append_only;
DROP TABLE documents;
DROP TABLE groups;
