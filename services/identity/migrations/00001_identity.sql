-- +goose Up
CREATE TABLE accounts (
    id            uuid PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('patient', 'doctor', 'admin')),
    name          text NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    crm_number    text,
    crm_uf        text,
    -- HMAC-SHA256 of the CPF's 11 digits under the blind-index key: lookups and
    -- uniqueness without storing the CPF in the clear.
    cpf_index     bytea,
    -- CPF, phone and birth date, sealed (envelope encryption through the keys service).
    pii           bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_doctor_has_crm CHECK ((role = 'doctor') = (crm_number IS NOT NULL AND crm_uf IS NOT NULL)),
    CONSTRAINT accounts_patient_has_pii CHECK ((role = 'patient') = (cpf_index IS NOT NULL AND pii IS NOT NULL))
);
CREATE UNIQUE INDEX accounts_role_email_key ON accounts (role, email);
CREATE UNIQUE INDEX accounts_cpf_index_key ON accounts (cpf_index) WHERE cpf_index IS NOT NULL;
CREATE UNIQUE INDEX accounts_crm_key ON accounts (crm_number, crm_uf) WHERE crm_number IS NOT NULL;

-- A session is one login; its refresh tokens form a family. Reusing a spent token
-- revokes the whole session.
CREATE TABLE sessions (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text
);
CREATE INDEX sessions_account_id_idx ON sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY, -- SHA-256 of the opaque token
    session_id uuid NOT NULL REFERENCES sessions (id),
    issued_at  timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

-- Failed logins per account name and per client address; shared by every replica.
CREATE TABLE login_throttle (
    key             text PRIMARY KEY,
    failures        integer NOT NULL,
    last_failure_at timestamptz NOT NULL,
    blocked_until   timestamptz
);

CREATE TABLE signing_keys (
    kid                text PRIMARY KEY,
    public_key         bytea NOT NULL,
    private_key_sealed bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- Set when a newer key takes over: the key stops signing, and stays published for
    -- as long as tokens it signed may live.
    retired_at         timestamptz
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

-- Service secrets (the blind-index key), sealed.
CREATE TABLE secrets (
    name       text PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Append-only audit of every read or change of an account or session.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_role  text,
    actor_crm   text,
    action      text NOT NULL,
    subject_id  uuid,
    client_addr text,
    request_id  text,
    outcome     text NOT NULL
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only;
DROP TABLE secrets;
DROP TABLE signing_keys;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE accounts;
