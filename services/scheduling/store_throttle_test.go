package scheduling

import (
	"context"
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

	// Buckets untouched for a period are full again: forgotten.
	n, err := st.forgetIdle(ctx, db, monday.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("forgot %d buckets (%v), want patient:b", n, err)
	}
}
