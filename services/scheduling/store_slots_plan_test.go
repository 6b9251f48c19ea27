package scheduling

import (
	"context"
	"testing"
	"time"

	"healthcore/platform/pgtest"
)

// A week of free slots reads the open slots' covering index and never the slots'
// heap, with the slots stored as availability makes them: every doctor's day written
// together, so one doctor's week is spread over as many heap pages as it has slots.
func TestListFreePlan_ReadsTheOpenSlotsIndexOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	// 100 doctors, 4 weeks of 20 slots a day, inserted day by day for all of them; one
	// slot in ten blocked.
	_, err := db.Exec(ctx, `
		INSERT INTO slots (id, doctor_id, start_at, end_at, status)
		SELECT gen_random_uuid(), ('00000000-0000-4000-8000-' || lpad(d::text, 12, '0'))::uuid,
			$1::timestamptz + make_interval(days => day, mins => 30 * k),
			$1::timestamptz + make_interval(days => day, mins => 30 * k + 25),
			CASE WHEN (d + day + k) % 10 = 0 THEN 'blocked' ELSE 'open' END
		FROM generate_series(0, 27) AS day, generate_series(1, 100) AS d, generate_series(0, 19) AS k
		ORDER BY day, d, k`, monday)
	if err != nil {
		t.Fatal(err)
	}
	const doctor = "00000000-0000-4000-8000-000000000007"
	from, to := monday.Add(14*24*time.Hour), monday.Add(21*24*time.Hour)
	week, err := slotStore{}.listAgenda(ctx, db, doctor, from, to)
	if err != nil || len(week) != 140 {
		t.Fatalf("the doctor's week has %d slots (%v), want 140", len(week), err)
	}
	// Two of the open ones held by live appointments, one by an ended one.
	held := 0
	for _, sr := range week {
		if sr.status != "open" {
			continue
		}
		state := []string{"CONFIRMED", "PENDING_PAYMENT", "CANCELLED"}[held]
		holdSlot(t, db, sr, state)
		if held++; held == 3 {
			break
		}
	}
	if _, err := db.Exec(ctx, `VACUUM (ANALYZE) slots, appointments`); err != nil {
		t.Fatal(err)
	}

	free, suspended, err := slotStore{}.listFree(ctx, db, doctor, from, to)
	open := 0
	for _, sr := range week {
		if sr.status == "open" {
			open++
		}
	}
	if err != nil || suspended || len(free) != open-2 {
		t.Fatalf("listFree = %d slots, suspended %v, %v; want the %d open ones less the 2 held", len(free), suspended, err, open)
	}

	plan, raw := pgtest.Explain(t, db, "ANALYZE, ", listFreeSQL, doctor, from, to)
	indexOnly, other := false, false
	plan.Walk(func(n pgtest.PlanNode) {
		if n.Relation != "slots" {
			return
		}
		if n.NodeType == "Index Only Scan" && n.Index == "slots_open_doctor_start_idx" && n.HeapFetches != nil && *n.HeapFetches == 0 {
			indexOnly = true
		} else {
			other = true
		}
	})
	if !indexOnly || other {
		t.Errorf("want one Index Only Scan of slots_open_doctor_start_idx with no heap fetches, and no other read of slots; plan:\n%s", raw)
	}
}
