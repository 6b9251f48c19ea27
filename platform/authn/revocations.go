package authn

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// RevokedSession is a session that has ended (logout, refresh-token reuse) while access
// tokens of it may still be unexpired.
type RevokedSession struct {
	ID      string    // the sid claim of its tokens
	Expires time.Time // when every token it issued has expired: the entry may go
}

// RevocationSource returns the ended sessions whose access tokens may still be alive:
// identity's list (RevokedFromIdentity), or identity's own database.
type RevocationSource func(ctx context.Context) ([]RevokedSession, error)

// RevocationPolicy bounds how long a verifier may accept a token of an ended session.
//
// While the source answers, a session ended at T is refused from T+Refresh at the
// latest (plus the time of one fetch). When the source cannot be reached, the last
// list fetched keeps serving until it is MaxStale old; from then on every user token
// is refused (UNAVAILABLE, REVOKED_SESSIONS_UNAVAILABLE) until a fetch succeeds: the
// verifier fails closed rather than accept tokens it can no longer tell are live. So a
// session ended is refused everywhere within MaxStale+Timeout in every case.
type RevocationPolicy struct {
	// Refresh is how old the list may grow before a verification fetches it again
	// (0: every verification fetches; tests).
	Refresh time.Duration
	// MaxStale is how old the last list fetched may be and still be used.
	MaxStale time.Duration
	// Timeout bounds one fetch.
	Timeout time.Duration
}

// DefaultRevocationPolicy is what production runs with unless told otherwise.
var DefaultRevocationPolicy = RevocationPolicy{Refresh: 5 * time.Second, MaxStale: time.Minute, Timeout: 2 * time.Second}

// Failures of the revocation check.
var (
	ErrSessionEnded     = ReasonSessionEnded.New("the session of this access token has ended (logged out, or ended to protect the account): log in again")
	errRevocationsStale = ReasonRevokedSessionsUnavailable.New(
		"cannot tell right now whether this session has ended, so no token is accepted; retry")
)

// revocations caches the list of ended sessions. The verification that finds the list
// older than Refresh fetches it (in the background, bounded by Timeout) and waits for
// the answer, so the bound holds for it; verifications meanwhile use the list they have
// while it is younger than MaxStale, and wait for the fetch otherwise.
type revocations struct {
	source RevocationSource
	policy RevocationPolicy

	mu        sync.Mutex
	ended     map[string]struct{}
	fetchedAt time.Time     // when the fetch of the list held started; zero before the first
	triedAt   time.Time     // when the last fetch started, successful or not
	fetchErr  error         // of that fetch; nil when it succeeded
	fetching  chan struct{} // closed when the fetch under way ends; nil when none is
}

// check refuses sid if its session has ended, or if the list is too stale to tell.
func (r *revocations) check(ctx context.Context, now time.Time, sid string) error {
	r.mu.Lock()
	var wait chan struct{}
	switch {
	case r.fetching == nil && (r.triedAt.IsZero() || now.Sub(r.triedAt) >= r.policy.Refresh):
		wait = r.start(ctx, now)
	case r.fetching != nil && !r.usable(now):
		wait = r.fetching
	}
	r.mu.Unlock()
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.usable(now) {
		err := errRevocationsStale
		if r.fetchErr != nil {
			err = err.WithCause(fmt.Errorf("fetch revoked sessions: %w", r.fetchErr))
		}
		return err
	}
	if _, ended := r.ended[sid]; ended {
		return ErrSessionEnded
	}
	return nil
}

// usable tells whether the list held may answer at now; r.mu is held.
func (r *revocations) usable(now time.Time) bool {
	return !r.fetchedAt.IsZero() && now.Sub(r.fetchedAt) <= r.policy.MaxStale
}

// start fetches the list in the background and returns the channel closed when the
// fetch ends; r.mu is held. The fetch outlives the verification that started it (a
// caller giving up says nothing about the source, and others may wait on it).
func (r *revocations) start(ctx context.Context, now time.Time) chan struct{} {
	done := make(chan struct{})
	r.fetching, r.triedAt = done, now
	go func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.policy.Timeout)
		list, err := r.source(fctx)
		cancel()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.fetchErr = err
		if err == nil {
			r.ended = make(map[string]struct{}, len(list))
			for _, s := range list {
				// An entry past its expiry can name no token still accepted: identity
				// sets it beyond the lifetime of the session's last token and the leeway.
				if s.Expires.IsZero() || !now.After(s.Expires) {
					r.ended[s.ID] = struct{}{}
				}
			}
			r.fetchedAt = now
		}
		r.fetching = nil
		close(done)
	}()
	return done
}
