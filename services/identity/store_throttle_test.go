package identity

import (
	"context"
	"testing"
	"time"
)

func TestThrottleStore_CountsBlocksAndForgets(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), throttleStore{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	window := 15 * time.Minute
	count := func(key string, at time.Time) int {
		t.Helper()
		n, err := st.countFailure(ctx, db, key, at, at.Add(-window))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for want := 1; want <= 3; want++ {
		if got := count("acct:a", t0.Add(time.Duration(want)*time.Second)); got != want {
			t.Fatalf("failure %d counted as %d", want, got)
		}
	}
	if got := count("addr:203.0.113.7", t0); got != 1 {
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
	if until := blocked([]string{"acct:a"}, t0.Add(time.Minute)); until != nil {
		t.Errorf("a block that ended still holds: %v", until)
	}

	// Past the window, a key that is not blocked starts again; a blocked one keeps counting.
	late := t0.Add(3*time.Second + window + time.Second)
	if err := st.block(ctx, db, "addr:203.0.113.7", late.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := count("acct:a", late); got != 1 {
		t.Errorf("after the window: %d, want 1", got)
	}
	if got := count("addr:203.0.113.7", late); got != 2 {
		t.Errorf("blocked key after the window: %d, want 2", got)
	}

	if err := st.forget(ctx, db, "acct:a"); err != nil {
		t.Fatal(err)
	}
	if got := count("acct:a", late); got != 1 {
		t.Errorf("after forget: %d, want 1", got)
	}
	if got := count("addr:203.0.113.7", late); got != 3 {
		t.Errorf("forget touched another key: %d, want 3", got)
	}
}
