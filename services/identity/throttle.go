package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// ThrottlePolicy slows down password guessing. Attempts are counted per account (once
// the login name resolves: an e-mail and a CPF of one patient share one count; a name
// that resolves to no account is counted by name, the same way), and within an account
// per client, so that nobody's failures lock the owner out of their own device:
//
//   - per (account, client), where the client is a device the account logged in from
//     before (its device token) or else the client address block: after AccountFree
//     failures each further one doubles the wait from BaseDelay, and at
//     AccountLockoutAfter the pair is locked for Lockout;
//   - per account, over every client the account never logged in from: after
//     AccountGlobalFree failures the waits double up to AccountGlobalMaxDelay and never
//     become a lockout (slower, not shut), which bounds a distributed guesser;
//   - per client address block, across accounts: AddressFree / AddressLockoutAfter.
//
// A known client (a device token, or an address block the account logged in from
// within KnownClientFor) answers only to its own (account, client) count. An attempt is
// counted against the account's keys before its password is checked, in one
// transaction, so concurrent guesses cannot outrun the count; a success gives its
// attempt back. The address's count takes failures only, after the check. Counts whose last failure
// is older than Window, and which are not blocked, start again. The counts live in
// PostgreSQL, so every replica enforces the same ones.
type ThrottlePolicy struct {
	AccountFree           int
	AccountLockoutAfter   int
	AccountGlobalFree     int
	AccountGlobalMaxDelay time.Duration
	AddressFree           int
	AddressLockoutAfter   int
	BaseDelay             time.Duration
	Lockout               time.Duration
	Window                time.Duration
	KnownClientFor        time.Duration
}

// DefaultThrottle allows 5 free attempts per account and client (lock at 10), 50 per
// account from unknown clients (then waits of at most 5 minutes: about 300 guesses a
// day), and 20 per address (lock at 100: a clinic's patients may share one public
// address). A device or address stays known for 90 days after a successful login.
var DefaultThrottle = ThrottlePolicy{
	AccountFree: 5, AccountLockoutAfter: 10,
	AccountGlobalFree: 50, AccountGlobalMaxDelay: 5 * time.Minute,
	AddressFree: 20, AddressLockoutAfter: 100,
	BaseDelay: time.Second, Lockout: 15 * time.Minute, Window: 15 * time.Minute,
	KnownClientFor: 90 * 24 * time.Hour,
}

// errThrottled is answered while a key is blocked; it never says which key.
func errThrottled(wait time.Duration) error {
	return ReasonLoginThrottled.New("too many failed logins: wait before trying again").WithRetryAfter(wholeSeconds(wait))
}

// wholeSeconds rounds a wait for Retry-After, to at least a second.
func wholeSeconds(wait time.Duration) time.Duration {
	return max(wait.Round(time.Second), time.Second)
}

// throttleKey is one count an attempt is charged to. lockAt 0 never locks; maxDelay
// caps the doubling waits.
type throttleKey struct {
	key          string
	free, lockAt int
	maxDelay     time.Duration
	// pair marks the (account, client) key, which a success forgets; the account's key
	// only gets the successful attempt back.
	pair bool
	// afterCheck marks the address key: it is charged only when the password proved
	// wrong, since the logins of many accounts behind one address (a clinic's, a
	// carrier's NAT) may be in flight at once and are not failures. Each account's keys
	// bound a burst against that account.
	afterCheck bool
}

// loginClient is who attempts a login, as throttling sees it.
type loginClient struct {
	account string // the account's (or unknown name's) throttle identity
	// accountID is the account's id when the name resolved; empty otherwise.
	accountID string
	device    string // keyed hash of the device token presented, if any
	address   string // keyed hash of the client address block, if any
	known     string // device or address, whichever the account logged in from before
	keys      []throttleKey
}

// noAccount is an account id no account has.
const noAccount = "00000000-0000-0000-0000-000000000000"

// loginClient works out the keys an attempt on the account (found) or name is charged
// to, and whether the client is one the account logged in from before.
func (s *Service) loginClient(ctx context.Context, kind, name string, a account, found bool, addr, deviceToken string) (loginClient, error) {
	p := s.cfg.Throttle
	c := loginClient{account: "name:" + s.keyedHex("login:"+kind, name)}
	if found {
		c.account, c.accountID = "acct:"+s.keyedHex("login:account", a.ID), a.ID
	}
	if deviceToken != "" {
		c.device = "dev:" + s.keyedHex("login:device", deviceToken)
	}
	if addr != "" {
		c.address = "addr:" + s.keyedHex("login:address", server.AddrBlock(addr))
	}
	var candidates []string
	for _, k := range []string{c.device, c.address} { // a device first: it is the stronger proof
		if k != "" {
			candidates = append(candidates, k)
		}
	}
	// An unknown name is looked up too (under no account's id), so that the work, and
	// its time, do not tell whether the account exists.
	id := noAccount
	if found {
		id = a.ID
	}
	known, err := s.throttle.knownClients(ctx, s.db, id, candidates, s.now().Add(-p.KnownClientFor))
	if err != nil {
		return loginClient{}, errs.Internal("identity: read known login clients", err)
	}
	for _, k := range candidates {
		if slices.Contains(known, k) {
			c.known = k
			break
		}
	}
	client := c.known
	if client == "" {
		client = c.address
	}
	pair := throttleKey{key: "pair:" + s.keyedHex("login:pair", c.account+"|"+client),
		free: p.AccountFree, lockAt: p.AccountLockoutAfter, maxDelay: p.Lockout, pair: true}
	c.keys = []throttleKey{pair}
	if c.known == "" {
		c.keys = append(c.keys, throttleKey{key: c.account, free: p.AccountGlobalFree, maxDelay: p.AccountGlobalMaxDelay})
		if addr != "" {
			c.keys = append(c.keys, throttleKey{key: "addr:" + server.AddrBlock(addr), free: p.AddressFree, lockAt: p.AddressLockoutAfter,
				maxDelay: p.Lockout, afterCheck: true})
		}
	}
	// One order for every attempt, so that attempts sharing keys lock them alike.
	slices.SortFunc(c.keys, func(a, b throttleKey) int { return strings.Compare(a.key, b.key) })
	return c, nil
}

// keyedHex is the hex of a keyed hash of v: throttle rows never hold a login name,
// a device token or an account id.
func (s *Service) keyedHex(purpose, v string) string {
	return hex.EncodeToString(s.blindIndex(purpose, v))
}

// errKeyBlocked ends the reservation's transaction when one of its keys is blocked.
type errKeyBlocked struct{ until time.Time }

func (e errKeyBlocked) Error() string { return "login throttle key blocked" }

// reserveAttempt charges the attempt to the account's keys before its password is
// checked, and refuses it, charging nothing, while any key is blocked. A key's count
// and its block change in one transaction that holds the key's row, so concurrent
// attempts are counted one after another and the one that starts a wait blocks all
// that follow.
func (s *Service) reserveAttempt(ctx context.Context, keys []throttleKey) error {
	now := s.now()
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.key
	}
	// Most refusals end here, with the longest wait of all the keys.
	until, err := s.throttle.blockedUntil(ctx, s.db, names, now)
	if err != nil {
		return errs.Internal("identity: read login throttle", err)
	}
	if until != nil {
		return errThrottled(until.Sub(now))
	}
	err = s.charge(ctx, keys, now, false)
	if b, ok := errors.AsType[errKeyBlocked](err); ok {
		return errThrottled(b.until.Sub(now))
	}
	if err != nil {
		return errs.Internal("identity: reserve login attempt", err)
	}
	return nil
}

// failed charges a failed attempt to the keys counted after the check.
func (s *Service) failed(ctx context.Context, keys []throttleKey) error {
	err := s.charge(ctx, keys, s.now(), true)
	if _, ok := errors.AsType[errKeyBlocked](err); ok {
		return nil // blocked meanwhile by another failure: the block already holds
	}
	return err
}

// charge counts an attempt at now against the keys counted before the check (or, with
// afterCheck, after it), starting the wait each key's new count calls for.
func (s *Service) charge(ctx context.Context, keys []throttleKey, now time.Time, afterCheck bool) error {
	p := s.cfg.Throttle
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, k := range keys {
			if k.afterCheck != afterCheck {
				continue
			}
			n, blocked, err := s.throttle.reserve(ctx, tx, k.key, now, now.Add(-p.Window))
			if err != nil {
				return err
			}
			if blocked != nil {
				return errKeyBlocked{*blocked}
			}
			if wait := p.delay(n, k); wait > 0 {
				if err := s.throttle.block(ctx, tx, k.key, now.Add(wait)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// delay is how long a key waits after its n-th consecutive failure.
func (p ThrottlePolicy) delay(n int, k throttleKey) time.Duration {
	switch {
	case n <= k.free:
		return 0
	case k.lockAt > 0 && n >= k.lockAt:
		return p.Lockout
	}
	d := p.BaseDelay << min(n-k.free-1, 20)
	return min(d, k.maxDelay)
}

// succeeded gives a successful attempt back: the (account, client) pair forgets its
// failures; the account's count only loses this attempt, and the address's keeps its
// count, since one success must not reset an attacker's budget elsewhere.
func (s *Service) succeeded(ctx context.Context, q pg.Querier, keys []throttleKey) error {
	for _, k := range keys {
		var err error
		switch {
		case k.pair:
			err = s.throttle.forget(ctx, q, k.key)
		case !k.afterCheck:
			err = s.throttle.release(ctx, q, k.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maxKnownClients is how many devices and addresses an account keeps known.
const maxKnownClients = 50

// rememberClient records the device and address of a successful login as known to the
// account, and returns the device token to hand back: the one presented when it was
// already known, a new one otherwise.
func (s *Service) rememberClient(ctx context.Context, q pg.Querier, c loginClient, presented string) (string, error) {
	token := presented
	if c.device == "" || c.known != c.device {
		var b [32]byte
		_, _ = rand.Read(b[:])
		token = base64.RawURLEncoding.EncodeToString(b[:])
		c.device = "dev:" + s.keyedHex("login:device", token)
	}
	clients := []string{c.device}
	if c.address != "" {
		clients = append(clients, c.address)
	}
	now := s.now()
	if err := s.throttle.rememberClients(ctx, q, c.accountID, clients, now, now.Add(-s.cfg.Throttle.KnownClientFor), maxKnownClients); err != nil {
		return "", err
	}
	return token, nil
}
