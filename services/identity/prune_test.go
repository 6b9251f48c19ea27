package identity

import (
	"context"
	"testing"
	"time"

	"healthcore/platform/testkit"
)

// TestPruneThrottle_LeavesALockedAccountLocked: the service's prune keeps a locked
// account's count, during the lockout and after it while its window runs (the next
// failure locks again, as without the prune), and deletes it only once it is spent.
func TestPruneThrottle_LeavesALockedAccountLocked(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Throttle = ThrottlePolicy{AccountFree: 2, AccountLockoutAfter: 3, AddressFree: 100, AddressLockoutAfter: 1000,
			BaseDelay: time.Second, Lockout: 10 * time.Minute, Window: 15 * time.Minute, KnownClientFor: time.Hour}
	})
	f.registerPatient("maria@example.com", "529.982.247-25")
	bad := emailLogin("maria@example.com", "wrong password")
	good := emailLogin("maria@example.com", "correct horse battery")
	for range 3 {
		_, err := f.login(bad)
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	prune := func() int64 {
		t.Helper()
		n, err := f.svc.pruneThrottle(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	prune()
	_, err := f.login(good)
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if got := testkit.RetryAfter(t, err); got != 10*time.Minute {
		t.Errorf("after a prune: retry after %v, want the 10m lockout", got)
	}

	f.clock.Advance(10 * time.Minute) // lockout over, window still running
	prune()
	_, err = f.login(bad) // the fourth failure in the window locks again
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(good)
	testkit.WantReason(t, err, ReasonLoginThrottled)

	f.clock.Advance(26 * time.Minute) // lockout over and the window passed: spent
	if n := prune(); n < 2 {
		t.Errorf("pruned %d rows, want the account's spent counts", n)
	}
	if _, err := f.login(good); err != nil {
		t.Fatalf("after the prune: %v", err)
	}
}
