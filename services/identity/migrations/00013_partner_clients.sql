-- +goose Up
-- OAuth 2.0 clients of partner clinics (RFC 6749 section 4.4, client credentials):
-- an operator creates one for a clinic with scopes from the fixed set; its system
-- exchanges the client id and a secret for short-lived access tokens.
CREATE TABLE partner_clients (
    id         uuid PRIMARY KEY,
    clinic_id  uuid NOT NULL,
    name       text NOT NULL,
    scopes     text[] NOT NULL CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY[
        'directory.read', 'agenda.read', 'agenda.write', 'appointments.read',
        'appointments.answer', 'events.manage']),
    created_by uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX partner_clients_clinic_idx ON partner_clients (clinic_id, created_at DESC);

-- A client's secrets: the SHA-256 of each (the secret is 32 random bytes, shown once).
-- At most two are active at a time, so a client can rotate without a gap; the limit is
-- kept by AddPartnerClientSecret under the client row's lock. A secret's id is the sid
-- of the tokens it obtained, so a secret revoked lists as an ended session.
CREATE TABLE partner_client_secrets (
    id          uuid PRIMARY KEY,
    client_id   uuid NOT NULL REFERENCES partner_clients (id),
    secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX partner_client_secrets_client_idx ON partner_client_secrets (client_id);
CREATE INDEX partner_client_secrets_revoked_idx ON partner_client_secrets (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP TABLE partner_client_secrets;
DROP TABLE partner_clients;
