//go:build !race

package blobs

// raceEnabled reports a build with the race detector, whose instrumentation and
// randomly dropping sync.Pool make memory figures meaningless.
const raceEnabled = false
