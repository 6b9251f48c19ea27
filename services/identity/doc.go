// Package identity is the identity service: patient and doctor accounts, password
// login (argon2id) with throttling, sessions with rotating refresh tokens, and the
// keys that sign access tokens (Ed25519, or RSA under the RS256 token profile),
// published as a JWKS and replaced by the River
// periodic job identity.rotate_keys. Personal fields are sealed through the keys
// service; the CPF is found through a keyed blind index. SQL lives in the store_*.go
// files, one per aggregate.
package identity
