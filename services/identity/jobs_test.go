package identity

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"healthcore/platform/jobs"
)

// replica is a second identity service over the fixture's database and clock, as
// another pod of the same deployment.
func (f *fixture) replica() *Service {
	f.t.Helper()
	other, err := New(context.Background(), Deps{DB: f.db, Envelope: f.svc.env, Logger: f.svc.log, Now: f.clock.Now}, f.svc.cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return other
}

// storedKeys returns how many signing keys exist and the active one's kid.
func (f *fixture) storedKeys() (n int, active string) {
	f.t.Helper()
	err := f.db.QueryRow(context.Background(),
		`SELECT count(*), coalesce(max(kid) FILTER (WHERE retired_at IS NULL), '') FROM signing_keys`).Scan(&n, &active)
	if err != nil {
		f.t.Fatal(err)
	}
	return n, active
}

// runJobs works the service's jobs until the test ends.
func runJobs(t *testing.T, s *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("identity jobs: %v", err)
		}
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRotateKeys_ReplacesADueKeyOnceHoweverManyReplicasRunIt(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.KeyRotation = time.Hour })
	other := f.replica()
	first := f.svc.keys.signingKey().KID
	run := func(s *Service) {
		t.Helper()
		if err := s.workRotateKeys(context.Background(), &river.Job[rotateKeysArgs]{}); err != nil {
			t.Fatal(err)
		}
	}

	f.clock.Advance(time.Hour - time.Second)
	run(f.svc)
	if n, active := f.storedKeys(); n != 1 || active != first || f.svc.keys.signingKey().KID != first {
		t.Fatalf("a young key was rotated: %d keys, active %s, was %s", n, active, first)
	}

	f.clock.Advance(time.Second)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			if i%2 == 0 {
				run(f.svc)
			} else {
				run(other)
			}
		})
	}
	wg.Wait()
	run(f.svc) // a late run after the rotation
	n, second := f.storedKeys()
	if n != 2 || second == first {
		t.Fatalf("after due runs: %d keys, active %s (first %s), want 2 keys and a new active one", n, second, first)
	}

	// Each replica signs with the new key once it has read the database again.
	f.clock.Advance(reloadEvery)
	for name, s := range map[string]*Service{"first replica": f.svc, "second replica": other} {
		if got := s.keys.current(context.Background()).KID; got != second {
			t.Errorf("%s signs with %s, want %s", name, got, second)
		}
	}
	// The new key is young: it stays.
	run(other)
	if n, active := f.storedKeys(); n != 2 || active != second {
		t.Errorf("the new key was rotated again: %d keys, active %s", n, active)
	}
}

func TestRotateKeys_TheLeaderRunsItWhenDue(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.KeyRotation = time.Hour
		c.Jobs = jobs.Options{PollInterval: 20 * time.Millisecond}
	})
	other := f.replica()
	first := f.svc.keys.signingKey().KID
	f.clock.Advance(time.Hour)

	// Two replicas work jobs; the elected leader schedules the check as it takes over.
	runJobs(t, f.svc)
	runJobs(t, other)
	completed := func() (n int) {
		err := f.db.QueryRow(context.Background(),
			`SELECT count(*) FROM river_job WHERE kind = 'identity.rotate_keys' AND state = 'completed'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	eventually(t, "the rotation check", func() bool { return completed() == 1 })
	n, second := f.storedKeys()
	if n != 2 || second == first {
		t.Fatalf("%d keys, active %s (first %s): want the due key replaced", n, second, first)
	}

	// A leader taking over checks again at once: the key is young, so it stays.
	if _, err := other.jobs.Insert(context.Background(), rotateKeysArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second check", func() bool { return completed() == 2 })
	if n, active := f.storedKeys(); n != 2 || active != second {
		t.Errorf("second check: %d keys, active %s, want 2 and %s", n, active, second)
	}
	var scheduled int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'identity.rotate_keys'`).Scan(&scheduled); err != nil {
		t.Fatal(err)
	}
	if scheduled != 2 {
		t.Errorf("%d jobs in the queue, want the leader's check and ours", scheduled)
	}
}
