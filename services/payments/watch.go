package payments

import (
	"context"
	"sync"
	"time"
)

// changes fans the payments_changed notifications out to GetPayment's long-poll
// waiters: one LISTEN connection per process, however many wait. A waiter registers
// for its appointment before it reads the payment, so a change committed between the
// read and the wait still wakes it. While the connection is down (and once each time it
// comes back) every waiter is woken to re-read, and each waiter also re-reads every
// fallbackEvery on its own, so a lost connection delays news, never loses it.
type changes struct {
	mu      sync.Mutex
	waiters map[string]*waitSet // appointment id → its waiters
	live    bool                // the LISTEN connection is up
}

type waitSet struct{ chans map[chan struct{}]struct{} }

// fallbackEvery is how often a waiter re-reads without news: slow, since the
// notification is what normally wakes it.
const fallbackEvery = 5 * time.Second

func newChanges() *changes {
	return &changes{waiters: map[string]*waitSet{}}
}

// subscribe returns the channel a change of the appointment's payment is signalled on,
// and the function that drops it (call it when done waiting, also when cancelled).
func (c *changes) subscribe(appointmentID string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.mu.Lock()
	set := c.waiters[appointmentID]
	if set == nil {
		set = &waitSet{chans: map[chan struct{}]struct{}{}}
		c.waiters[appointmentID] = set
	}
	set.chans[ch] = struct{}{}
	c.mu.Unlock()
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(set.chans, ch)
		if len(set.chans) == 0 && c.waiters[appointmentID] == set {
			delete(c.waiters, appointmentID)
		}
	}
}

// waiting is how many waiters are registered (for tests and metrics).
func (c *changes) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, set := range c.waiters {
		n += len(set.chans)
	}
	return n
}

// listening says whether notifications are arriving; without, waiters re-read often.
func (c *changes) listening() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live
}

// wake signals the waiters of one appointment; never blocks (a waiter already
// signalled re-reads once, which covers every change since).
func (c *changes) wake(appointmentID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	set := c.waiters[appointmentID]
	if set == nil {
		return
	}
	for ch := range set.chans {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// wakeAll signals every waiter: news may have been missed.
func (c *changes) wakeAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, set := range c.waiters {
		for ch := range set.chans {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (c *changes) setLive(live bool) {
	c.mu.Lock()
	c.live = live
	c.mu.Unlock()
}

// listen receives the notifications until ctx ends, reconnecting after a failure.
func (s *Service) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := listenChanges(ctx, s.db)
		if err != nil {
			s.log.WarnContext(ctx, "payment changes: cannot listen; waiters re-read on their own", "error", err.Error())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s.changes.setLive(true)
		s.changes.wakeAll() // whatever changed while no one listened
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				break
			}
			s.changes.wake(n.Payload)
		}
		s.changes.setLive(false)
		s.changes.wakeAll()
		_ = conn.Close(context.WithoutCancel(ctx))
	}
}
