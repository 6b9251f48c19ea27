package testkit

import (
	"bytes"
	"sync"
)

// LogBuffer collects log lines written from servers' goroutines, for tests that check
// what was (or was not) logged: give it to slog.NewTextHandler or logging.New.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
