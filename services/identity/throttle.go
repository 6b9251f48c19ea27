package identity

import (
	"context"
	"encoding/hex"
	"net/netip"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// ThrottlePolicy slows down password guessing, per account name and per client
// address. After Free failures each further failure doubles the wait (from BaseDelay);
// at LockoutAfter failures the key is locked for Lockout. Failures older than Window
// are forgotten. Stored in PostgreSQL, so every replica enforces the same counts.
type ThrottlePolicy struct {
	AccountFree         int
	AccountLockoutAfter int
	AddressFree         int
	AddressLockoutAfter int
	BaseDelay           time.Duration
	Lockout             time.Duration
	Window              time.Duration
}

// DefaultThrottle allows 5 free attempts per account (lock at 10) and 20 per address
// (lock at 100: a clinic's patients may share one public address).
var DefaultThrottle = ThrottlePolicy{
	AccountFree: 5, AccountLockoutAfter: 10,
	AddressFree: 20, AddressLockoutAfter: 100,
	BaseDelay: time.Second, Lockout: 15 * time.Minute, Window: 15 * time.Minute,
}

// errThrottled is answered while a key is blocked; it never says which key.
func errThrottled(wait time.Duration) error {
	wait = wait.Round(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return ReasonLoginThrottled.New("too many failed logins: wait before trying again").WithRetryAfter(wait)
}

type throttleKey struct {
	key          string
	free, lockAt int
}

func (s *Service) throttleKeys(kind, name, addr string) []throttleKey {
	p := s.cfg.Throttle
	keys := []throttleKey{{"acct:" + hex.EncodeToString(s.blindIndex("login:"+kind, name)), p.AccountFree, p.AccountLockoutAfter}}
	if addr != "" {
		keys = append(keys, throttleKey{"addr:" + addressBlock(addr), p.AddressFree, p.AddressLockoutAfter})
	}
	return keys
}

// addressBlock is what one client controls: an IPv4 address, or the /64 an IPv6 client
// can pick any address from.
func addressBlock(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Is4() || a.Is4In6() {
		return addr
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// checkThrottle refuses the attempt while any of its keys is blocked.
func (s *Service) checkThrottle(ctx context.Context, keys []throttleKey) error {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	until, err := s.throttle.blockedUntil(ctx, s.db, names, s.now())
	if err != nil {
		return errs.Internal("identity: read login throttle", err)
	}
	if until != nil {
		return errThrottled(until.Sub(s.now()))
	}
	return nil
}

// recordFailure counts a failed attempt against every key and sets its block.
func (s *Service) recordFailure(ctx context.Context, keys []throttleKey) error {
	now, p := s.now(), s.cfg.Throttle
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		for _, k := range keys {
			failures, err := s.throttle.countFailure(ctx, tx, k.key, now, now.Add(-p.Window))
			if err != nil {
				return err
			}
			if wait := p.delay(failures, k.free, k.lockAt); wait > 0 {
				if err := s.throttle.block(ctx, tx, k.key, now.Add(wait)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// delay is how long a key waits after its n-th consecutive failure.
func (p ThrottlePolicy) delay(n, free, lockAt int) time.Duration {
	switch {
	case n <= free:
		return 0
	case n >= lockAt:
		return p.Lockout
	}
	d := p.BaseDelay << min(n-free-1, 20)
	return min(d, p.Lockout)
}

// clearAccount forgets an account's failures after a successful login. The address
// keeps its count: one success must not reset an attacker's budget for other accounts.
func (s *Service) clearAccount(ctx context.Context, keys []throttleKey) error {
	return s.throttle.forget(ctx, s.db, keys[0].key)
}
