package identity

import (
	"context"
	"slices"
	"testing"
	"time"

	"healthcore/platform/pg"
)

// TestThrottleStore_PruneKeepsEveryRowInForce: the prune deletes the spent login
// throttle keys, ended registration windows and clients unseen for the known-client
// period, keeps the rest, and every key answers the same after it as before.
func TestThrottleStore_PruneKeepsEveryRowInForce(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), throttleStore{}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	window, regWindow, knownFor := 15*time.Minute, time.Hour, 90*24*time.Hour
	reserve := reserver(t, db, window)
	for range 3 {
		reserve("spent", t0) // three failures, no block: past the window they count for nothing
		reserve("blocked", t0)
		reserve("ended", t0)
	}
	reserve("recent", t0.Add(10*time.Minute)) // still counting at the prune
	if err := st.block(ctx, db, "blocked", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.block(ctx, db, "ended", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	count := func(key string, at time.Time) int {
		t.Helper()
		n, _, err := st.countInWindow(ctx, db, key, at, at.Add(-regWindow))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	count("register:old", t0.Add(-2*time.Hour))
	count("register:running", t0.Add(-30*time.Minute))
	count("register:running", t0.Add(-20*time.Minute))

	a := patientRow("a@example.com")
	if err := (accountStore{}).insert(ctx, db, a, []byte("cpf index of a")); err != nil {
		t.Fatal(err)
	}
	ever := time.Time{}
	if err := st.rememberClients(ctx, db, a.ID, []string{"dev:old"}, t0.Add(-knownFor-time.Hour), ever, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.rememberClients(ctx, db, a.ID, []string{"dev:new"}, t0.Add(-knownFor+time.Hour), ever, 10); err != nil {
		t.Fatal(err)
	}

	at := t0.Add(20 * time.Minute)
	n, err := st.pruneThrottle(ctx, db, at, at.Add(-window), at.Add(-regWindow), at.Add(-knownFor))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 { // spent, ended, register:old, dev:old
		t.Errorf("pruned %d rows, want 4", n)
	}
	keys := func(sql string) []string {
		t.Helper()
		var ks []string
		if err := db.QueryRow(ctx, sql).Scan(&ks); err != nil {
			t.Fatal(err)
		}
		slices.Sort(ks)
		return ks
	}
	if got := keys(`SELECT array_agg(key) FROM login_throttle`); !slices.Equal(got, []string{"blocked", "recent"}) {
		t.Errorf("login throttle keys left: %v, want blocked and recent", got)
	}
	if got := keys(`SELECT array_agg(key) FROM rate_windows`); !slices.Equal(got, []string{"register:running"}) {
		t.Errorf("rate windows left: %v", got)
	}
	if got := keys(`SELECT array_agg(client) FROM login_clients`); !slices.Equal(got, []string{"dev:new"}) {
		t.Errorf("login clients left: %v", got)
	}

	// The answers after the prune are those before it.
	if until, err := st.blockedUntil(ctx, db, []string{"blocked", "spent", "ended"}, at); err != nil || until == nil || !until.Equal(t0.Add(time.Hour)) {
		t.Errorf("the blocked key's block after the prune: %v (%v), want %v", until, err, t0.Add(time.Hour))
	}
	if n, until := reserve("blocked", at); n != 0 || until == nil {
		t.Errorf("a blocked key counted an attempt after the prune: %d", n)
	}
	if n, _ := reserve("spent", at); n != 1 {
		t.Errorf("a spent key after the prune counts %d, want 1 as it would have", n)
	}
	if n, _ := reserve("recent", at); n != 2 {
		t.Errorf("a counting key after the prune counts %d, want 2", n)
	}
	if n := count("register:running", at); n != 3 {
		t.Errorf("a running window after the prune counts %d, want 3", n)
	}
	if n := count("register:old", at); n != 1 {
		t.Errorf("an ended window after the prune counts %d, want 1", n)
	}
	known, err := st.knownClients(ctx, db, a.ID, []string{"dev:old", "dev:new"}, at.Add(-knownFor))
	if err != nil || !slices.Equal(known, []string{"dev:new"}) {
		t.Errorf("known clients after the prune: %v (%v), want dev:new", known, err)
	}
}

// TestDeleteInBatches_LoopsUntilAShortBatch: more rows than one statement deletes all go.
func TestDeleteInBatches_LoopsUntilAShortBatch(t *testing.T) {
	db, ctx := storeDB(t), context.Background()
	rows := pg.PruneBatch*2 + 7
	if _, err := db.Exec(ctx, `INSERT INTO rate_windows (key, count, window_start)
		SELECT 'k' || i, 1, $1 FROM generate_series(1, $2) i`, time.Unix(0, 0), rows); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `INSERT INTO rate_windows (key, count, window_start) VALUES ('live', 1, now())`); err != nil {
		t.Fatal(err)
	}
	n, err := pg.DeleteInBatches(ctx, db, "rate_windows", "key", `window_start < $1`, time.Unix(1, 0))
	if err != nil || n != int64(rows) {
		t.Fatalf("deleted %d (%v), want %d", n, err, rows)
	}
	var left int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM rate_windows`).Scan(&left); err != nil || left != 1 {
		t.Errorf("%d rows left (%v), want the live one", left, err)
	}
}
