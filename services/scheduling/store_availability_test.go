package scheduling

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// readAvailability reads a doctor's availability in a transaction of its own.
func readAvailability(t *testing.T, db pg.Beginner, doctorID string) (*schedulingv1.Availability, bool) {
	t.Helper()
	var a *schedulingv1.Availability
	var ok bool
	err := pg.InTx(context.Background(), db, func(tx pgx.Tx) error {
		var err error
		a, ok, err = availabilityStore{}.getForUpdate(context.Background(), tx, doctorID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, ok
}

func TestAvailabilityStore_ReplaceAndRead(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	if a, ok := readAvailability(t, db, doctor); ok || len(a.GetWeekly()) != 0 {
		t.Errorf("a doctor with no availability: %v, %v", a, ok)
	}

	// Stored in another order than it is read back: by weekday and start, by date with
	// a day off before that date's windows.
	in := &schedulingv1.Availability{
		SlotMinutes: 30, GapMinutes: 10,
		Weekly: []*schedulingv1.WeeklyWindow{weekly(tue, "14:00", "18:00"), weekly(mon, "19:00", "24:00"), weekly(mon, "08:00", "12:00")},
		Exceptions: []*schedulingv1.DateException{
			extra("2026-06-09", "09:00", "10:00"), extra("2026-06-08", "20:00", "24:00"), dayOff("2026-06-08"),
		},
	}
	if err := (availabilityStore{}).replace(ctx, db, doctor, in, monday); err != nil {
		t.Fatal(err)
	}
	want := &schedulingv1.Availability{
		SlotMinutes: 30, GapMinutes: 10,
		Weekly: []*schedulingv1.WeeklyWindow{weekly(mon, "08:00", "12:00"), weekly(mon, "19:00", "24:00"), weekly(tue, "14:00", "18:00")},
		Exceptions: []*schedulingv1.DateException{
			dayOff("2026-06-08"), extra("2026-06-08", "20:00", "24:00"), extra("2026-06-09", "09:00", "10:00"),
		},
	}
	if got, ok := readAvailability(t, db, doctor); !ok || !proto.Equal(got, want) {
		t.Errorf("read back %v, %v\nwant %v", got, ok, want)
	}

	// Replacing keeps nothing of the old availability, and touches no other doctor's.
	other := uuid.NewString()
	if err := (availabilityStore{}).replace(ctx, db, other, in, monday); err != nil {
		t.Fatal(err)
	}
	next := &schedulingv1.Availability{Weekly: []*schedulingv1.WeeklyWindow{weekly(wed, "10:00", "11:00")}}
	if err := (availabilityStore{}).replace(ctx, db, doctor, next, monday.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAvailability(t, db, doctor); !proto.Equal(got, next) {
		t.Errorf("after a replacement: %v, want %v", got, next)
	}
	if got, _ := readAvailability(t, db, other); !proto.Equal(got, want) {
		t.Errorf("another doctor's availability changed: %v", got)
	}
}

func TestAvailabilityStore_GetForUpdateLocks(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor := uuid.NewString()
	if err := (availabilityStore{}).replace(ctx, db, doctor, mondayMornings(), monday); err != nil {
		t.Fatal(err)
	}
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if _, ok, err := (availabilityStore{}).getForUpdate(ctx, tx, doctor); err != nil || !ok {
			t.Fatalf("getForUpdate = %v, %v", ok, err)
		}
		if freeToLock(t, db, `SELECT 1 FROM availability WHERE doctor_id = $1`, doctor) != 0 {
			t.Error("getForUpdate left the availability unlocked")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAvailabilityStore_RollBookkeeping(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	// Three doctors set at monday, monday+1h and monday+2h.
	var doctors []string
	for i := range 3 {
		d := uuid.NewString()
		if err := (availabilityStore{}).replace(ctx, db, d, mondayMornings(), monday.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
		doctors = append(doctors, d)
	}
	due := func(before time.Time, limit int) []string {
		t.Helper()
		ids, err := availabilityStore{}.dueForRoll(ctx, db, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := due(monday.Add(2*time.Hour), 10); !slices.Equal(got, doctors[:2]) {
		t.Errorf("due before the third was set: %v, want the first two", got)
	}
	if got := due(monday.Add(3*time.Hour), 2); !slices.Equal(got, doctors[:2]) {
		t.Errorf("due, two at most: %v, want the first two", got)
	}
	if err := (availabilityStore{}).markRolled(ctx, db, doctors[0], monday.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := due(monday.Add(3*time.Hour), 10); !slices.Equal(got, doctors[1:]) {
		t.Errorf("due after the first was rolled: %v, want the other two", got)
	}
	if got := due(monday.Add(6*time.Hour), 10); !slices.Equal(got, []string{doctors[1], doctors[2], doctors[0]}) {
		t.Errorf("due later: %v, want the last rolled last", got)
	}
}
