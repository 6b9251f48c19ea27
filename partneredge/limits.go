package partneredge

import (
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are what the edge allows each partner client.
type Limits struct {
	// MaxBodyBytes bounds a request's body (all its messages).
	MaxBodyBytes int64
	// DefaultTimeout is the deadline of a call that names none; MaxTimeout lowers a
	// longer one.
	DefaultTimeout, MaxTimeout time.Duration
	// Rate is the calls per second a client may make under one scope, Burst how many
	// it may make at once: a token bucket per client and scope, per edge process.
	Rate  float64
	Burst int
}

// DefaultLimits are the flags' defaults.
var DefaultLimits = Limits{MaxBodyBytes: 1 << 20, DefaultTimeout: 10 * time.Second, MaxTimeout: 30 * time.Second, Rate: 20, Burst: 40}

// Check reports the first limit that is out of range.
func (l Limits) Check() error {
	switch {
	case l.MaxBodyBytes < 1024:
		return fmt.Errorf("the body limit %d is under 1024 bytes", l.MaxBodyBytes)
	case l.DefaultTimeout <= 0 || l.MaxTimeout < l.DefaultTimeout:
		return fmt.Errorf("the default deadline %s must be positive and at most the largest %s", l.DefaultTimeout, l.MaxTimeout)
	case l.Rate <= 0 || l.Burst < 1:
		return fmt.Errorf("the rate %g/s and burst %d must be positive", l.Rate, l.Burst)
	}
	return nil
}

// buckets are the token buckets of the clients' scopes. A bucket idle long enough to
// have refilled is forgotten (a new one is as full), so the map holds only the
// clients calling now.
type buckets struct {
	rate  rate.Limit
	burst int
	// idle is how long a bucket takes to refill from empty: past it, it is forgotten.
	idle time.Duration

	mu        sync.Mutex
	byKey     map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newBuckets(l Limits) *buckets {
	idle := time.Duration(float64(l.Burst) / l.Rate * float64(time.Second))
	return &buckets{rate: rate.Limit(l.Rate), burst: l.Burst, idle: max(idle, time.Second), byKey: map[string]*bucket{}}
}

// take takes a token from the bucket of key at now; when it is empty, it returns false
// and how long until the next token.
func (b *buckets) take(key string, now time.Time) (ok bool, retryAfter time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if now.Sub(b.lastSweep) > b.idle {
		for k, bk := range b.byKey {
			if now.Sub(bk.used) > b.idle {
				delete(b.byKey, k)
			}
		}
		b.lastSweep = now
	}
	bk, found := b.byKey[key]
	if !found {
		bk = &bucket{lim: rate.NewLimiter(b.rate, b.burst)}
		b.byKey[key] = bk
	}
	bk.used = now
	r := bk.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
