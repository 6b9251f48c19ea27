// Package identity is the identity service: patient and doctor accounts, password
// login (argon2id) with throttling, sessions with rotating refresh tokens, and the
// Ed25519 keys that sign access tokens, published as a JWKS. Personal fields are sealed
// through the keys service; the CPF is found through a keyed blind index.
package identity
