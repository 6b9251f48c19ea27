-- +goose Up
-- The algorithm each signing key signs with (-identity.token-alg): the keys made
-- before it was configurable are Ed25519. public_key holds the raw Ed25519 key, or an
-- RSA key in PKIX (DER) form; private_key_sealed the Ed25519 seed, or the RSA key in
-- PKCS #8 (DER) form.
ALTER TABLE signing_keys ADD COLUMN alg text NOT NULL DEFAULT 'EdDSA'
    CONSTRAINT signing_keys_alg CHECK (alg IN ('EdDSA', 'RS256'));

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN alg;
