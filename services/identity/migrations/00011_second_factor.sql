-- +goose Up
-- Second factors (RFC 8176 amr "otp"): an account's TOTP authenticator, its recovery
-- codes, and the logins waiting for a code. The table of factors names its method, so
-- that a passkey (amr "hwk"/"swk") is another row kind, not another design.

CREATE TABLE second_factors (
    id            uuid PRIMARY KEY,
    account_id    uuid NOT NULL REFERENCES accounts (id),
    method        text NOT NULL CHECK (method IN ('totp')),
    -- The TOTP secret, sealed (envelope encryption through the keys service, the row's
    -- id bound as associated data).
    secret_sealed bytea NOT NULL,
    created_at    timestamptz NOT NULL,
    -- When the owner proved the authenticator has the secret; NULL while pending. Only
    -- a confirmed factor is asked for at login.
    confirmed_at  timestamptz,
    -- The last TOTP time step (Unix time / 30 s) a code was accepted for: a code of
    -- that step or an earlier one is refused, so no code works twice.
    last_step     bigint NOT NULL DEFAULT 0
);
-- One confirmed and one pending factor of each method per account (a re-enrolment's
-- new secret waits beside the one in use until it is confirmed).
CREATE UNIQUE INDEX second_factors_confirmed_key ON second_factors (account_id, method) WHERE confirmed_at IS NOT NULL;
CREATE UNIQUE INDEX second_factors_pending_key ON second_factors (account_id, method) WHERE confirmed_at IS NULL;

-- Single-use recovery codes, as keyed hashes (HMAC-SHA256 under the blind-index key).
CREATE TABLE recovery_codes (
    account_id uuid NOT NULL REFERENCES accounts (id),
    code_hash  bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (account_id, code_hash)
);

-- Logins whose password was right and which wait for the second factor: the opaque
-- mfa_token's SHA-256, single use, short-lived.
CREATE TABLE mfa_challenges (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX mfa_challenges_account_id_idx ON mfa_challenges (account_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE second_factors;
