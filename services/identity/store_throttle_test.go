package identity

import (
	"context"
	"slices"
	"testing"
	"time"

	"healthcore/platform/pg"
)

func TestThrottleStore_ReservesBlocksReleasesAndForgets(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), throttleStore{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	window := 15 * time.Minute
	reserve := reserver(t, db, window)
	for want := 1; want <= 3; want++ {
		if got, until := reserve("acct:a", t0.Add(time.Duration(want)*time.Second)); got != want || until != nil {
			t.Fatalf("attempt %d counted as %d (blocked until %v)", want, got, until)
		}
	}
	if got, _ := reserve("addr:203.0.113.7", t0); got != 1 {
		t.Errorf("another key starts at %d", got)
	}

	blocked := func(keys []string, at time.Time) *time.Time {
		t.Helper()
		until, err := st.blockedUntil(ctx, db, keys, at)
		if err != nil {
			t.Fatal(err)
		}
		return until
	}
	if until := blocked([]string{"acct:a", "addr:203.0.113.7"}, t0); until != nil {
		t.Fatalf("blocked until %v before any block", until)
	}
	if err := st.block(ctx, db, "acct:a", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.block(ctx, db, "addr:203.0.113.7", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if until := blocked([]string{"acct:a", "addr:203.0.113.7"}, t0); until == nil || !until.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("blocked until %v, want the later block %v", until, t0.Add(2*time.Minute))
	}
	// A blocked key counts nothing and says when its block ends.
	if n, until := reserve("acct:a", t0.Add(30*time.Second)); n != 0 || until == nil || !until.Equal(t0.Add(time.Minute)) {
		t.Errorf("reserve on a blocked key: %d, until %v", n, until)
	}
	if until := blocked([]string{"acct:a"}, t0.Add(time.Minute)); until != nil {
		t.Errorf("a block that ended still holds: %v", until)
	}
	if n, until := reserve("acct:a", t0.Add(time.Minute)); n != 4 || until != nil {
		t.Errorf("after the block: %d (until %v), want 4", n, until)
	}
	if err := st.release(ctx, db, "acct:a"); err != nil {
		t.Fatal(err)
	}
	if n, _ := reserve("acct:a", t0.Add(time.Minute)); n != 4 {
		t.Errorf("after a release: %d, want 4 again", n)
	}

	// Past the window, an unblocked key starts again.
	late := t0.Add(time.Minute + window + time.Second)
	if n, _ := reserve("acct:a", late); n != 1 {
		t.Errorf("after the window: %d, want 1", n)
	}
	if err := st.forget(ctx, db, "acct:a"); err != nil {
		t.Fatal(err)
	}
	if n, _ := reserve("acct:a", late); n != 1 {
		t.Errorf("after forget: %d, want 1", n)
	}
	if err := st.release(ctx, db, "addr:203.0.113.7"); err != nil {
		t.Fatal(err)
	}
	if until := blocked([]string{"addr:203.0.113.7"}, t0); until == nil {
		t.Errorf("a release lifted a block")
	}

	// Known clients: remembered per account, forgotten after the given age.
	a, b := patientRow("a@example.com"), patientRow("b@example.com")
	for _, acct := range []account{a, b} {
		if err := (accountStore{}).insert(ctx, db, acct, []byte("cpf index of "+acct.Email)); err != nil {
			t.Fatal(err)
		}
	}
	long := t0.Add(-24 * time.Hour)
	if err := st.rememberClients(ctx, db, a.ID, []string{"dev:1", "addr:1"}, t0, long, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.rememberClients(ctx, db, a.ID, []string{"dev:1"}, t0.Add(time.Hour), long, 10); err != nil {
		t.Fatal(err)
	}
	known := func(id string, since time.Time) []string {
		t.Helper()
		k, err := st.knownClients(ctx, db, id, []string{"dev:1", "addr:1", "dev:2"}, since)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(k)
		return k
	}
	if got := known(a.ID, t0.Add(-time.Second)); !slices.Equal(got, []string{"addr:1", "dev:1"}) {
		t.Errorf("known clients %v", got)
	}
	if got := known(a.ID, t0); !slices.Equal(got, []string{"dev:1"}) {
		t.Errorf("known since the second login: %v, want the device only", got)
	}
	if got := known(b.ID, t0.Add(-time.Second)); len(got) != 0 {
		t.Errorf("another account knows %v", got)
	}
	// Remembering forgets what is too old, and all but the most recent clients.
	if err := st.rememberClients(ctx, db, b.ID, []string{"dev:2", "addr:1"}, t0, long, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.rememberClients(ctx, db, b.ID, []string{"dev:1"}, t0.Add(time.Minute), long, 2); err != nil {
		t.Fatal(err)
	}
	if got := known(b.ID, long); !slices.Equal(got, []string{"addr:1", "dev:1"}) {
		t.Errorf("kept %v, want the newest and, of the two seen together before it, the first by name", got)
	}
	if err := st.rememberClients(ctx, db, b.ID, []string{"dev:3"}, t0.Add(48*time.Hour), t0.Add(time.Hour), 10); err != nil {
		t.Fatal(err)
	}
	if got := known(b.ID, long); len(got) != 0 {
		t.Errorf("clients older than the age kept: %v", got)
	}

	// Fixed windows: a window holds its count until it ends, then the next one opens.
	count := func(at time.Time) (int, time.Time) {
		t.Helper()
		n, began, err := st.countInWindow(ctx, db, "register:203.0.113.7", at, at.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return n, began
	}
	for i, at := range []time.Time{t0, t0.Add(30 * time.Minute), t0.Add(59 * time.Minute)} {
		if n, began := count(at); n != i+1 || !began.Equal(t0) {
			t.Errorf("request %d: count %d in the window of %v", i+1, n, began)
		}
	}
	if n, began := count(t0.Add(time.Hour)); n != 1 || !began.Equal(t0.Add(time.Hour)) {
		t.Errorf("after the window: count %d in the window of %v", n, began)
	}
}

// reserver is throttleStore.reserve with a window, failing the test on an error.
func reserver(t *testing.T, db pg.Querier, window time.Duration) func(key string, at time.Time) (int, *time.Time) {
	return func(key string, at time.Time) (int, *time.Time) {
		t.Helper()
		n, until, err := throttleStore{}.reserve(context.Background(), db, key, at, at.Add(-window))
		if err != nil {
			t.Fatal(err)
		}
		return n, until
	}
}
