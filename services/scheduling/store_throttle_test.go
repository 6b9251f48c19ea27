package scheduling

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestThrottleStore_TakesWhatTheBucketHoldsAndRefills(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	var st throttleStore
	now := monday
	take := func(key string) time.Duration {
		t.Helper()
		wait, err := st.take(ctx, db, key, 2, 2.0/3600, now) // two an hour
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	for range 2 {
		if take("patient:a") != 0 {
			t.Fatal("a full bucket of two refused")
		}
	}
	if got := take("patient:a"); got != 30*time.Minute {
		t.Fatalf("empty bucket: wait %s, want 30m", got)
	}
	if take("patient:b") != 0 {
		t.Fatal("another key shares the bucket")
	}
	now = now.Add(15 * time.Minute) // half a token
	if got := take("patient:a"); got != 15*time.Minute {
		t.Fatalf("half refilled: wait %s, want 15m", got)
	}
	now = now.Add(15 * time.Minute)
	if take("patient:a") != 0 {
		t.Fatal("a refilled token refused")
	}
	// A clock behind the last take adds nothing.
	now = now.Add(-time.Hour)
	if got := take("patient:a"); got != 30*time.Minute {
		t.Fatalf("clock behind: wait %s, want 30m", got)
	}

}

// TestThrottleStore_PrunesOnlyFullBuckets: the prune deletes the buckets refilled to
// their capacity (each kind its own) and those untouched for a period, keeps the
// partly drained ones, and a booking finds the same tokens after it as before.
func TestThrottleStore_PrunesOnlyFullBuckets(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), throttleStore{}
	kinds := []bucketKind{{patientBuckets, 2}, {addressBuckets, 4}} // 2 and 4 an hour
	take := func(key string, capacity float64, at time.Time) time.Duration {
		t.Helper()
		wait, err := st.take(ctx, db, key, capacity, capacity/3600, at)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	take("patient:full", 2, monday) // one token back in 30 min
	take("patient:part", 2, monday)
	take("patient:part", 2, monday)                      // empty: one token at +30 min, two at +60
	take("patient:almost", 2, monday.Add(2*time.Minute)) // full at +32 min
	take("addr:full", 4, monday.Add(10*time.Minute))     // 4 an hour: full at +25 min
	take("off:idle", 1, monday.Add(-2*time.Hour))        // a kind not limited any more
	at := monday.Add(31 * time.Minute)
	n, err := st.pruneFull(ctx, db, kinds, time.Hour, at)
	if err != nil || n != 3 {
		t.Fatalf("pruned %d buckets (%v), want patient:full, addr:full and off:idle", n, err)
	}
	var left []string
	if err := db.QueryRow(ctx, `SELECT array_agg(key ORDER BY key) FROM booking_throttle`).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{"patient:almost", "patient:part"}) {
		t.Errorf("buckets left: %v", left)
	}
	// A pruned full bucket allows two, then waits 30 min: as the kept one would have.
	for i := range 2 {
		if w := take("patient:full", 2, at); w != 0 {
			t.Fatalf("booking %d after the prune waits %s", i+1, w)
		}
	}
	if w := take("patient:full", 2, at); w != 30*time.Minute {
		t.Errorf("third booking waits %s, want 30m", w)
	}
	// The partly drained bucket kept its state: one token, then a wait.
	if w := take("patient:part", 2, at); w != 0 {
		t.Fatalf("the refilled token of a kept bucket refused: wait %s", w)
	}
	if w := take("patient:part", 2, at); w <= 28*time.Minute || w > 30*time.Minute {
		t.Errorf("a kept bucket's second booking waits %s, want 29 to 30 min", w)
	}
}
