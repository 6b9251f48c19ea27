package clinics

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"healthcore/platform/pgtest"
)

func TestEventStore_PruneKeepsPendingDeliveriesAndAppointmentsStillMoving(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	var st eventStore
	now := time.Now().UTC().Truncate(time.Microsecond)
	old, recent := now.Add(-40*24*time.Hour), now.Add(-24*time.Hour)
	clinicID := uuid.NewString()
	if err := (clinicStore{}).insert(ctx, db, clinic{ID: clinicID, CNPJ: "11222333000181", Name: "Sol", Email: "a@b.com.br", Phone: "+551133334444", CreatedAt: old}, uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	endpointID := uuid.NewString()
	if err := st.insertEndpoint(ctx, db, endpoint{ID: endpointID, ClinicID: clinicID, URL: "https://hooks.example.com", Types: []string{"EVENT_TYPE_APPOINTMENT_BOOKED"}, Secret: []byte{1}, CreatedAt: old}); err != nil {
		t.Fatal(err)
	}
	doctor := uuid.NewString()
	event := func(appt string, seq int, at time.Time) string {
		id := uuid.NewString()
		if _, err := st.insertEvent(ctx, db, storedEvent{ID: id, AppointmentID: appt, Sequence: seq, DoctorID: doctor, Type: "EVENT_TYPE_APPOINTMENT_BOOKED", Body: []byte("{}"), ReceivedAt: at}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	deliver := func(eventID, appt, state string) string {
		id := uuid.NewString()
		if err := st.insertDelivery(ctx, db, delivery{ID: id, EndpointID: endpointID, EventID: eventID, AppointmentID: appt, Sequence: 1, CreatedAt: old, RetryUntil: old.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if state != "pending" {
			if err := st.attempt(ctx, db, id, state, 204, "", nil, &old); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	moving, done, waiting := uuid.NewString(), uuid.NewString(), uuid.NewString()
	movingFirst := event(moving, 1, old)
	event(moving, 2, recent)
	doneEvent := event(done, 1, old)
	doneDelivery := deliver(doneEvent, done, "delivered")
	waitingEvent := event(waiting, 1, old)
	waitingDelivery := deliver(waitingEvent, waiting, "pending")

	n, err := st.prune(ctx, db, now.Add(-30*24*time.Hour), 5000)
	if err != nil || n != 2 {
		t.Fatalf("prune = %d, %v; want the delivered delivery and its event", n, err)
	}
	if _, ok, _ := st.delivery(ctx, db, doneDelivery); ok {
		t.Error("the old delivered delivery is kept")
	}
	if _, ok, _ := st.delivery(ctx, db, waitingDelivery); !ok {
		t.Error("a pending delivery was pruned")
	}
	for id, keep := range map[string]bool{movingFirst: true, doneEvent: false, waitingEvent: true} {
		_, err := st.event(ctx, db, id)
		if (err == nil) != keep {
			t.Errorf("event %s kept = %v, want %v", id, err == nil, keep)
		}
	}
	if n, err := st.prune(ctx, db, now.Add(-30*24*time.Hour), 5000); err != nil || n != 0 {
		t.Errorf("a second prune = %d, %v", n, err)
	}
}
