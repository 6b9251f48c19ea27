// Package testkit starts real Healthcore servers for tests: a service mounted on the
// production server stack (every interceptor) listening on loopback, the keys service
// with its local driver in a temporary folder, and clients that speak to them over
// HTTP/2 exactly as services speak to each other, each calling as the service that
// calls in production (deterministic service keys, see ServiceKeys).
package testkit
