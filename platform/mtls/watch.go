package mtls

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"
)

// checkEvery bounds how often the files are read again to look for a replacement.
const checkEvery = 5 * time.Second

// watched is what a set of files made, made again when they change on disk: looked at,
// at most every checkEvery, by the first handshake that needs it, so no goroutine runs
// in the background. A replacement that does not parse (a key that does not match its
// certificate, a file caught half written) is logged, once per fault, and what was in
// use is kept; it is tried again at the next look.
type watched[T any] struct {
	names []string
	parse func(contents [][]byte, now time.Time) (T, error)
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	raw     [][]byte // what the files held when cur was made
	cur     T
	checked time.Time
	lastErr string
}

// watch parses the files a first time; it fails when they do not make a usable set.
func watch[T any](log *slog.Logger, parse func([][]byte, time.Time) (T, error), names ...string) (*watched[T], error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &watched[T]{names: names, parse: parse, log: log, every: checkEvery}
	raw, err := w.read()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if w.cur, err = parse(raw, now); err != nil {
		return nil, err
	}
	w.raw, w.checked = raw, now
	return w, nil
}

// current returns what to use now, first reading the files again when the last look
// is older than the check interval.
func (w *watched[T]) current() T {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	if now.Sub(w.checked) < w.every {
		return w.cur
	}
	w.checked = now
	raw, err := w.read()
	if err == nil && slices.EqualFunc(raw, w.raw, bytes.Equal) {
		return w.cur
	}
	var next T
	if err == nil {
		next, err = w.parse(raw, now)
	}
	if err != nil {
		if err.Error() != w.lastErr {
			w.lastErr = err.Error()
			w.log.Error("mtls: new certificate files not loaded; still using the previous ones", "files", w.names, "err", err)
		}
		return w.cur
	}
	w.cur, w.raw, w.lastErr = next, raw, ""
	w.log.Info("mtls: certificate files reloaded", "files", w.names)
	return w.cur
}

func (w *watched[T]) read() ([][]byte, error) {
	out := make([][]byte, len(w.names))
	for i, name := range w.names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("mtls: %w", err)
		}
		out[i] = b
	}
	return out, nil
}
