// Package keys is the keys service, the platform's key management adapter: it issues
// data keys for envelope encryption and encrypts or decrypts small values under a
// master key, binding each ciphertext to an encryption context. A Driver does the
// cryptography — AWS KMS in production, a local AES-256-GCM keyring in the data folder
// for development — and Service serves it as healthcore.keys.v1.KeysService.
package keys
