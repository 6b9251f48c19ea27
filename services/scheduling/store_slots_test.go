package scheduling

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// storeDB is a fresh scheduling database for store tests.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t, Schema.Name, Schema)
}

// hourSpans returns n one-hour spans, an hour apart, from first.
func hourSpans(first time.Time, n int) []span {
	out := make([]span, n)
	for i := range out {
		start := first.Add(time.Duration(2*i) * time.Hour)
		out[i] = span{start, start.Add(time.Hour)}
	}
	return out
}

// insertSlots stores spans as a doctor's slots and returns them as read back, earliest
// first.
func insertSlots(t *testing.T, db pg.Querier, doctorID string, spans []span) []slotRow {
	t.Helper()
	ctx := context.Background()
	n, err := slotStore{}.insert(ctx, db, doctorID, spans)
	if err != nil || n != len(spans) {
		t.Fatalf("insert slots = %d, %v; want %d", n, err, len(spans))
	}
	rows, err := slotStore{}.listAgenda(ctx, db, doctorID, spans[0].start, spans[len(spans)-1].end)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// holdSlot stores an appointment in state on a slot.
func holdSlot(t *testing.T, db pg.Querier, sr slotRow, state string) appointment {
	t.Helper()
	a := appointment{id: uuid.NewString(), slotID: sr.id, doctorID: sr.doctorID, patientID: uuid.NewString(),
		state: state, start: sr.start, end: sr.end, price: 25000}
	if err := (appointmentStore{}).insert(context.Background(), db, &a, monday); err != nil {
		t.Fatal(err)
	}
	return a
}

// freeToLock counts the rows of query (a SELECT without locking clause) that another
// session could lock now: a store method's lock shows as rows missing from the count.
func freeToLock(t *testing.T, db pg.Querier, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM (`+query+` FOR UPDATE SKIP LOCKED) free`, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func slotIDs(rows []slotRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.id
	}
	return out
}

func TestSlotStore_InsertAndGet(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	spans := hourSpans(at("2026-06-02T12:00:00Z"), 3)
	rows := insertSlots(t, db, doctor, spans)
	if len(rows) != 3 {
		t.Fatalf("%d slots read back, want 3", len(rows))
	}
	for i, r := range rows {
		if !r.start.Equal(spans[i].start) || !r.end.Equal(spans[i].end) || r.status != "open" || r.held || r.doctorID != doctor {
			t.Errorf("slot %d = %+v, want open and free at %v", i, r, spans[i])
		}
		if v, err := uuid.Parse(r.id); err != nil || v.Version() != 7 {
			t.Errorf("slot id %q is not a time-ordered UUID", r.id)
		}
	}
	got, err := slotStore{}.get(ctx, db, rows[1].id)
	if err != nil || got.id != rows[1].id || got.doctorID != doctor || !got.start.Equal(spans[1].start) ||
		!got.end.Equal(spans[1].end) || got.status != "open" {
		t.Errorf("get = %+v, %v", got, err)
	}
	if _, err := (slotStore{}).get(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get of an unknown slot: %v, want ErrNoRows", err)
	}
	// The exclusion constraint refuses an overlapping slot of the same doctor.
	if _, err := (slotStore{}).insert(ctx, db, doctor, []span{{spans[0].start.Add(30 * time.Minute), spans[0].end.Add(30 * time.Minute)}}); err == nil {
		t.Error("an overlapping slot was inserted")
	}
}

func TestSlotStore_StatusAndOwnership(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	rows := insertSlots(t, db, doctor, hourSpans(at("2026-06-02T12:00:00Z"), 2))
	holdSlot(t, db, rows[1], statePending)

	if err := (slotStore{}).setStatus(ctx, db, rows[0].id, "blocked"); err != nil {
		t.Fatal(err)
	}
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		st, err := slotStore{}.statusForShare(ctx, tx, rows[0].id)
		if err != nil || st != "blocked" {
			t.Errorf("statusForShare = %q, %v; want blocked", st, err)
		}
		// The share lock keeps a doctor from changing the status meanwhile.
		if freeToLock(t, db, `SELECT 1 FROM slots WHERE id = $1`, rows[0].id) != 0 {
			t.Error("statusForShare left the slot unlocked")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		free, err := slotStore{}.getOwnedForUpdate(ctx, tx, rows[0].id, doctor)
		if err != nil || free.held || free.status != "blocked" || free.doctorID != doctor || !free.start.Equal(rows[0].start) {
			t.Errorf("getOwnedForUpdate(blocked slot) = %+v, %v", free, err)
		}
		held, err := slotStore{}.getOwnedForUpdate(ctx, tx, rows[1].id, doctor)
		if err != nil || !held.held || held.status != "open" {
			t.Errorf("getOwnedForUpdate(held slot) = %+v, %v", held, err)
		}
		if _, err := (slotStore{}).getOwnedForUpdate(ctx, tx, rows[0].id, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("another doctor's slot: %v, want ErrNoRows", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSlotStore_ListFreeAndAgenda(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	// Five slots: open, blocked, held by a live appointment, freed by an expired one,
	// and one outside the range asked for.
	rows := insertSlots(t, db, doctor, hourSpans(at("2026-06-02T08:00:00Z"), 5))
	if err := (slotStore{}).setStatus(ctx, db, rows[1].id, "blocked"); err != nil {
		t.Fatal(err)
	}
	live := holdSlot(t, db, rows[2], stateConfirmed)
	holdSlot(t, db, rows[3], stateExpired)
	insertSlots(t, db, uuid.NewString(), hourSpans(rows[0].start, 1)) // another doctor's

	from, to := rows[0].start, rows[4].start // [from, to) leaves the fifth out
	free, suspended, err := slotStore{}.listFree(ctx, db, doctor, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{rows[0].id, rows[3].id}; !slices.Equal(slotIDs(free), want) || suspended {
		t.Errorf("free slots %v (suspended %t), want %v", slotIDs(free), suspended, want)
	}
	for i := range 2 { // as it is, then suspended: the marker and no slot
		if i == 1 {
			if _, err := db.Exec(ctx, `INSERT INTO suspended_doctors (doctor_id, suspended_at) VALUES ($1, now())`, doctor); err != nil {
				t.Fatal(err)
			}
		}
		got, suspended, err := slotStore{}.listFree(ctx, db, doctor, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if wantSuspended := i == 1; suspended != wantSuspended || (suspended && len(got) > 0) || (!suspended && len(got) != 2) {
			t.Errorf("round %d: suspended %t with slots %v", i, suspended, slotIDs(got))
		}
	}
	if _, err := db.Exec(ctx, `DELETE FROM suspended_doctors WHERE doctor_id = $1`, doctor); err != nil {
		t.Fatal(err)
	}
	for _, f := range free {
		if f.status != "open" || f.held || f.doctorID != doctor {
			t.Errorf("free slot %+v", f)
		}
	}

	agenda, err := slotStore{}.listAgenda(ctx, db, doctor, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{rows[0].id, rows[1].id, rows[2].id, rows[3].id}; !slices.Equal(slotIDs(agenda), want) {
		t.Fatalf("agenda %v, want %v", slotIDs(agenda), want)
	}
	if agenda[1].status != "blocked" || agenda[1].held {
		t.Errorf("blocked slot in the agenda: %+v", agenda[1])
	}
	if h := agenda[2]; !h.held || h.appt.GetId() != live.id || h.appt.GetPatientId() != live.patientID || h.appt.GetState() != stateConfirmed {
		t.Errorf("held slot in the agenda: %+v (%v)", h, h.appt)
	}
	if agenda[3].held || agenda[3].appt != nil {
		t.Errorf("a slot whose appointment expired shows as held: %+v", agenda[3])
	}
}

func TestSlotStore_LockCurrentAndDelete(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	// 08:00–09:00 ended, 10:00–11:00 under way at 10:30, 12:00 and 14:00 to come.
	rows := insertSlots(t, db, doctor, hourSpans(at("2026-06-02T08:00:00Z"), 4))
	holdSlot(t, db, rows[3], stateAwaiting)
	now := at("2026-06-02T10:30:00Z")

	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		current, err := slotStore{}.lockCurrent(ctx, tx, doctor, now)
		if err != nil {
			return err
		}
		if want := []string{rows[1].id, rows[2].id, rows[3].id}; !slices.Equal(slotIDs(current), want) {
			t.Errorf("current slots %v, want %v", slotIDs(current), want)
		}
		if len(current) == 3 && (current[1].held || !current[2].held) {
			t.Errorf("held flags: %+v", current)
		}
		if n := freeToLock(t, db, `SELECT 1 FROM slots WHERE doctor_id = $1`, doctor); n != 1 {
			t.Errorf("%d slots free to lock by another session, want only the ended one", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	n, err := slotStore{}.delete(ctx, db, []string{rows[0].id, rows[2].id, uuid.NewString()})
	if err != nil || n != 2 {
		t.Fatalf("delete = %d, %v; want 2", n, err)
	}
	left, err := slotStore{}.listAgenda(ctx, db, doctor, rows[0].start, rows[3].end)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{rows[1].id, rows[3].id}; !slices.Equal(slotIDs(left), want) {
		t.Errorf("slots left %v, want %v", slotIDs(left), want)
	}
}
