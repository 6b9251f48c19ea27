package telehealth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

func TestRoomStore_InsertOnceGetSetMeetingAndClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	var st roomStore
	want := room{appointmentID: uuid.NewString(), doctorID: uuid.NewString(), patientID: uuid.NewString(),
		start: consultStart, end: consultEnd, created: monday}

	got, inserted, err := st.insert(ctx, db, want)
	if err != nil || !inserted {
		t.Fatalf("first insert: inserted %v, %v", inserted, err)
	}
	same := func(what string, r room) {
		t.Helper()
		if r.appointmentID != want.appointmentID || r.doctorID != want.doctorID || r.patientID != want.patientID ||
			!r.start.Equal(want.start) || !r.end.Equal(want.end) || !r.created.Equal(want.created) {
			t.Errorf("%s: %+v, want %+v", what, r, want)
		}
	}
	same("inserted", got)
	if got.meetingID != nil || got.generation != 0 || got.closed != nil {
		t.Errorf("a new room has no meeting and is open: %+v", got)
	}

	again := want
	again.doctorID, again.end = uuid.NewString(), consultEnd.Add(time.Hour)
	if r, inserted, err := st.insert(ctx, db, again); err != nil || inserted || r != (room{}) {
		t.Errorf("second insert of the appointment: %+v, inserted %v, %v; want nothing inserted", r, inserted, err)
	}
	r, err := st.get(ctx, db, want.appointmentID)
	if err != nil {
		t.Fatal(err)
	}
	same("get after the second insert", r)
	if _, err := st.get(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get of an unknown room: %v, want pgx.ErrNoRows", err)
	}

	createdAt := windowStart.Add(time.Minute)
	if err := st.setMeeting(ctx, db, want.appointmentID, "meeting-2", 2, createdAt); err != nil {
		t.Fatal(err)
	}
	closedAt := consultEnd.Add(time.Second)
	if err := st.close(ctx, db, want.appointmentID, closedAt); err != nil {
		t.Fatal(err)
	}
	r, err = st.get(ctx, db, want.appointmentID)
	if err != nil {
		t.Fatal(err)
	}
	same("get after the meeting and the close", r)
	if r.meetingID == nil || *r.meetingID != "meeting-2" || r.generation != 2 || r.closed == nil || !r.closed.Equal(closedAt) {
		t.Errorf("meeting %v generation %d closed %v; want meeting-2, 2, %s", r.meetingID, r.generation, r.closed, closedAt)
	}
	var meetingCreated time.Time
	if err := db.QueryRow(ctx, `SELECT meeting_created_at FROM rooms WHERE appointment_id = $1`, want.appointmentID).Scan(&meetingCreated); err != nil ||
		!meetingCreated.Equal(createdAt) {
		t.Errorf("meeting_created_at %s (%v), want %s", meetingCreated, err, createdAt)
	}
}

func TestRoomStore_GetForUpdateLocksTheRoomUntilTheTransactionEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	var st roomStore
	id := uuid.NewString()
	if _, _, err := st.insert(ctx, db, room{appointmentID: id, doctorID: uuid.NewString(), patientID: uuid.NewString(),
		start: consultStart, end: consultEnd, created: monday}); err != nil {
		t.Fatal(err)
	}
	lockedElsewhere := func() bool {
		t.Helper()
		_, err := db.Exec(ctx, `SELECT 1 FROM rooms WHERE appointment_id = $1 FOR UPDATE NOWAIT`, id)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available
			return true
		}
		if err != nil {
			t.Fatal(err)
		}
		return false
	}
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		r, err := st.getForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if r.appointmentID != id {
			t.Errorf("getForUpdate read %+v", r)
		}
		if !lockedElsewhere() {
			t.Error("the room is not locked while the transaction runs")
		}
		if _, err := st.getForUpdate(ctx, tx, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("getForUpdate of an unknown room: %v, want pgx.ErrNoRows", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if lockedElsewhere() {
		t.Error("the room is still locked after the transaction")
	}
}
