package scheduling

import (
	"sync"
	"time"
)

// doctorCache keeps, for a short while, what booking asks other services about a
// doctor: the directory's practice settings (price, listed) and identity's VERIFIED.
// Without it each booking makes both calls. Why a few seconds of staleness is safe:
//   - VERIFIED is cached only when it is the answer. A verified doctor stops being one
//     only by a suspension, which identity also records here (SuspendDoctor), and the
//     booking's transaction checks that under the doctor's booking lock: a suspension
//     still stops bookings at once, cache or not.
//   - The price is snapshotted on the appointment anyway; a change reaches bookings
//     (and the public week of slots) within the TTL, as if it had been made that much
//     later. Unlisting likewise; listing is seen at once, as only a listed doctor's
//     settings are kept.
//
// Entries are per process, bounded by the TTL (expired ones are dropped on the next
// write once the map has grown).
type doctorCache[V any] struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cached[V]
}

type cached[V any] struct {
	v     V
	until time.Time
}

func newDoctorCache[V any](ttl time.Duration) *doctorCache[V] {
	return &doctorCache[V]{ttl: ttl, m: map[string]cached[V]{}}
}

func (c *doctorCache[V]) get(id string, now time.Time) (V, bool) {
	var zero V
	if c == nil || c.ttl <= 0 {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || !now.Before(e.until) {
		return zero, false
	}
	return e.v, true
}

func (c *doctorCache[V]) put(id string, v V, now time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= 4096 {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
	}
	c.m[id] = cached[V]{v: v, until: now.Add(c.ttl)}
}
