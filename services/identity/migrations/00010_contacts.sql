-- +goose Up
-- Contacts verified, accounts recoverable.

-- CRM disputes: a CRM is unique among the doctors an operator vouched for (verified,
-- or verified and then suspended). Unverified accounts may claim one CRM together,
-- each a pending claim, until an operator verifies one of them.
DROP INDEX accounts_crm_key;
CREATE UNIQUE INDEX accounts_crm_holder_key ON accounts (crm_number, crm_uf)
    WHERE doctor_status IN ('verified', 'suspended');
CREATE INDEX accounts_crm_idx ON accounts (crm_number, crm_uf) WHERE crm_number IS NOT NULL;

-- Single-use tokens sent by e-mail: a link that verifies an address (the account's, or
-- the new one of an e-mail change), and a link that resets the password. Only the
-- SHA-256 of a token is kept.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    -- The address a verify_email token confirms: the account's own, or the one it
    -- changes to. Empty for a reset.
    email      text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- When it was used, or made void by a newer token or a reset.
    used_at    timestamptz
);
CREATE INDEX account_tokens_account_idx ON account_tokens (account_id, purpose) WHERE used_at IS NULL;

-- +goose Down
DROP TABLE account_tokens;
DROP INDEX accounts_crm_idx;
DROP INDEX accounts_crm_holder_key;
CREATE UNIQUE INDEX accounts_crm_key ON accounts (crm_number, crm_uf) WHERE crm_number IS NOT NULL;
