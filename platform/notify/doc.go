// Package notify is the emitting side of notifications, shared by every service that
// tells someone about its changes. A service commits a "<service>.notify" River job in
// the transaction of the state change (so a rollback tells nobody), with one
// NotifyRequest as its args and an idempotency key derived from the event (so a retried
// job or transition sends one message); the job's worker hands the request to the
// notifications service.
package notify
