// Package envelope encrypts small records (personal fields, signing keys) with data
// keys issued by the keys service, AES-256-GCM locally, and caches data keys within
// bounds of age, uses and count — as the AWS Encryption SDK's caching materials manager
// does — so no hot path waits on a KMS round trip per row.
package envelope
