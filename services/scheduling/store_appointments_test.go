package scheduling

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// newAppointment is a pending booking of a slot by a patient with a key. The store
// keeps the sealed reason as given: here, bytes standing for one.
func newAppointment(sr slotRow, patientID, key string) appointment {
	hold := monday.Add(40 * time.Minute)
	return appointment{
		id: uuid.NewString(), slotID: sr.id, doctorID: sr.doctorID, patientID: patientID, state: statePending,
		sealedReason: []byte("sealed check-up"), start: sr.start, end: sr.end, price: 25000, holdUntil: &hold, idempotencyKey: &key,
	}
}

func TestAppointmentStore_InsertAndRead(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	slots := insertSlots(t, db, uuid.NewString(), hourSpans(at("2026-06-02T12:00:00Z"), 1))
	patient := uuid.NewString()
	a := newAppointment(slots[0], patient, "key-1")
	if err := (appointmentStore{}).insert(ctx, db, &a, monday); err != nil {
		t.Fatal(err)
	}
	if !a.created.Equal(monday) || !a.updated.Equal(monday) {
		t.Errorf("insert set created %v, updated %v; want %v", a.created, a.updated, monday)
	}
	check := func(what string, got appointment, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got.id != a.id || got.slotID != a.slotID || got.doctorID != a.doctorID || got.patientID != patient ||
			got.state != statePending || !bytes.Equal(got.sealedReason, []byte("sealed check-up")) ||
			got.reason != "" || got.legacyReason != "" || !got.start.Equal(a.start) || !got.end.Equal(a.end) ||
			got.price != 25000 || got.refund != 0 || got.holdUntil == nil || !got.holdUntil.Equal(*a.holdUntil) ||
			got.answerBy != nil || got.patientJoined != nil || got.doctorJoined != nil || got.noShow ||
			got.idempotencyKey == nil || *got.idempotencyKey != "key-1" || !got.created.Equal(monday) || !got.updated.Equal(monday) {
			t.Errorf("%s = %+v, want %+v", what, got, a)
		}
	}
	got, err := appointmentStore{}.get(ctx, db, a.id)
	check("get", got, err)
	got, err = appointmentStore{}.getByPatientKey(ctx, db, patient, "key-1")
	check("getByPatientKey", got, err)
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		got, err := appointmentStore{}.getForUpdate(ctx, tx, a.id)
		check("getForUpdate", got, err)
		if freeToLock(t, db, `SELECT 1 FROM appointments WHERE id = $1`, a.id) != 0 {
			t.Error("getForUpdate left the appointment unlocked")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := (appointmentStore{}).get(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get of an unknown appointment: %v, want ErrNoRows", err)
	}
	if _, err := (appointmentStore{}).getByPatientKey(ctx, db, uuid.NewString(), "key-1"); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("another patient's key: %v, want ErrNoRows", err)
	}
}

// The constraints that decide booking races come back as what they mean.
func TestAppointmentStore_InsertConflicts(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	slots := insertSlots(t, db, uuid.NewString(), hourSpans(at("2026-06-02T12:00:00Z"), 3))
	other := insertSlots(t, db, uuid.NewString(), []span{{slots[1].start.Add(30 * time.Minute), slots[1].end.Add(30 * time.Minute)}})
	patient := uuid.NewString()
	first := newAppointment(slots[0], patient, "key-1")
	if err := (appointmentStore{}).insert(ctx, db, &first, monday); err != nil {
		t.Fatal(err)
	}
	onOther := newAppointment(slots[1], patient, "key-2")
	if err := (appointmentStore{}).insert(ctx, db, &onOther, monday); err != nil {
		t.Fatal(err)
	}

	taken := newAppointment(slots[0], uuid.NewString(), "key-1")
	if err := (appointmentStore{}).insert(ctx, db, &taken, monday); !errs.Has(err, ReasonSlotTaken) {
		t.Errorf("another patient on a held slot: %v, want %v", err, ReasonSlotTaken)
	}
	busy := newAppointment(other[0], patient, "key-3") // overlaps onOther
	if err := (appointmentStore{}).insert(ctx, db, &busy, monday); !errs.Has(err, ReasonPatientBusy) {
		t.Errorf("an overlapping appointment of the patient: %v, want %v", err, ReasonPatientBusy)
	}
	race := newAppointment(slots[2], patient, "key-1")
	if err := (appointmentStore{}).insert(ctx, db, &race, monday); !errors.Is(err, errIdempotencyRace) {
		t.Errorf("the same patient and key again: %v, want errIdempotencyRace", err)
	}

	// Once the first appointment no longer holds its slot, another patient books it.
	first.state = stateExpired
	if err := (appointmentStore{}).saveState(ctx, db, &first, monday.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := (appointmentStore{}).insert(ctx, db, &taken, monday.Add(time.Hour)); err != nil {
		t.Errorf("booking a freed slot: %v", err)
	}
}

func TestAppointmentStore_Updates(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	slots := insertSlots(t, db, uuid.NewString(), hourSpans(at("2026-06-02T12:00:00Z"), 2))
	a := newAppointment(slots[0], uuid.NewString(), "key-1")
	b := newAppointment(slots[1], uuid.NewString(), "key-1")
	for _, x := range []*appointment{&a, &b} {
		if err := (appointmentStore{}).insert(ctx, db, x, monday); err != nil {
			t.Fatal(err)
		}
	}
	read := func(id string) appointment {
		t.Helper()
		got, err := appointmentStore{}.get(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	later := monday.Add(time.Hour)
	answerBy := monday.Add(5 * time.Hour)
	a.state, a.answerBy, a.refund = stateAwaiting, &answerBy, 1000
	if err := (appointmentStore{}).saveState(ctx, db, &a, later); err != nil {
		t.Fatal(err)
	}
	if !a.updated.Equal(later) {
		t.Errorf("saveState set updated %v, want %v", a.updated, later)
	}
	if got := read(a.id); got.state != stateAwaiting || got.refund != 1000 || got.answerBy == nil || !got.answerBy.Equal(answerBy) || !got.updated.Equal(later) {
		t.Errorf("after saveState: %+v", got)
	}
	if got := read(b.id); got.state != statePending || got.refund != 0 || got.answerBy != nil {
		t.Errorf("saveState changed another appointment: %+v", got)
	}

	for i, want := range []bool{true, false} {
		changed, err := appointmentStore{}.refundInFull(ctx, db, a.id, later.Add(time.Duration(i)*time.Minute))
		if err != nil || changed != want {
			t.Errorf("refundInFull #%d = %v, %v; want %v", i+1, changed, err, want)
		}
	}
	if got := read(a.id); got.refund != got.price || !got.updated.Equal(later) {
		t.Errorf("after refundInFull: refund %d of %d, updated %v", got.refund, got.price, got.updated)
	}

	if err := (appointmentStore{}).markJoined(ctx, db, a.id, false, later); err != nil {
		t.Fatal(err)
	}
	if err := (appointmentStore{}).markJoined(ctx, db, a.id, false, later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := read(a.id); got.patientJoined == nil || !got.patientJoined.Equal(later) || got.doctorJoined != nil {
		t.Errorf("patient joined at %v, doctor at %v; want the patient's first join only", got.patientJoined, got.doctorJoined)
	}
	if err := (appointmentStore{}).markJoined(ctx, db, a.id, true, later.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := read(a.id); got.doctorJoined == nil || !got.doctorJoined.Equal(later.Add(2*time.Minute)) || !got.patientJoined.Equal(later) {
		t.Errorf("doctor joined at %v, patient at %v", got.doctorJoined, got.patientJoined)
	}

	if err := (appointmentStore{}).markNoShow(ctx, db, b.id, later); err != nil {
		t.Fatal(err)
	}
	if got := read(b.id); !got.noShow || !got.updated.Equal(later) || got.state != statePending {
		t.Errorf("after markNoShow: %+v", got)
	}
	if got := read(a.id); got.noShow {
		t.Error("markNoShow flagged another appointment")
	}
}

func TestAppointmentStore_List(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	doctor, patient := uuid.NewString(), uuid.NewString()
	slots := insertSlots(t, db, doctor, hourSpans(at("2026-06-02T08:00:00Z"), 4))
	var ids []string
	for i, sr := range slots {
		a := newAppointment(sr, patient, uuid.NewString())
		if i == 1 {
			a.state = stateConfirmed
		}
		if err := (appointmentStore{}).insert(ctx, db, &a, monday); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.id)
	}
	// Another patient's appointment with another doctor.
	strangers := insertSlots(t, db, uuid.NewString(), hourSpans(slots[0].start, 1))
	stranger := newAppointment(strangers[0], uuid.NewString(), "k")
	if err := (appointmentStore{}).insert(ctx, db, &stranger, monday); err != nil {
		t.Fatal(err)
	}

	list := func(f appointmentFilter) []string {
		t.Helper()
		got, err := appointmentStore{}.list(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(got))
		for i, a := range got {
			out[i] = a.id
		}
		return out
	}
	afterStart, afterID := slots[1].start, ids[1]
	for _, c := range []struct {
		name string
		f    appointmentFilter
		want []string
	}{
		{"the patient's, by start", appointmentFilter{userID: patient, limit: 10}, ids},
		{"the doctor's", appointmentFilter{userID: doctor, asDoctor: true, limit: 10}, ids},
		{"the doctor's id is no patient's", appointmentFilter{userID: doctor, limit: 10}, []string{}},
		{"a page", appointmentFilter{userID: patient, limit: 2}, ids[:2]},
		{"the next page", appointmentFilter{userID: patient, after: &afterStart, afterID: &afterID, limit: 2}, ids[2:]},
		{"by state", appointmentFilter{userID: patient, states: []string{stateConfirmed}, limit: 10}, ids[1:2]},
		{"an empty state list is any state", appointmentFilter{userID: patient, states: []string{}, limit: 10}, ids},
		{"from and to", appointmentFilter{userID: patient, from: &slots[1].start, to: &slots[3].start, limit: 10}, ids[1:3]},
	} {
		if got := list(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestAppointmentStore_History(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	slots := insertSlots(t, db, uuid.NewString(), hourSpans(at("2026-06-02T12:00:00Z"), 1))
	a := newAppointment(slots[0], uuid.NewString(), "key-1")
	if err := (appointmentStore{}).insert(ctx, db, &a, monday); err != nil {
		t.Fatal(err)
	}
	if from, err := (appointmentStore{}).enteredFrom(ctx, db, a.id, stateCancelled); err != nil || from != "" {
		t.Errorf("enteredFrom before any cancellation = %q, %v", from, err)
	}
	events := []event{
		{kind: "booked", to: statePending, who: actor{id: a.patientID, role: "patient"}},
		{kind: "cancelled", from: statePending, to: stateCancelled, who: actor{id: a.patientID, role: "patient"}, why: note{sealed: []byte("sealed viagem")}},
		{kind: "refund_requested", who: system, why: says("paid late")},
	}
	for i, e := range events {
		if err := (appointmentStore{}).appendEvent(ctx, db, a.id, e, monday.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	h, err := appointmentStore{}.history(ctx, db, a.id)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("%d events, want 3", len(h))
	}
	unspecified := schedulingv1.AppointmentState_APPOINTMENT_STATE_UNSPECIFIED
	for i, want := range []struct {
		kind       string
		from, to   schedulingv1.AppointmentState
		actor, who string
		reason     string // in clear
		sealed     []byte
	}{
		{"booked", unspecified, schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT, a.patientID, "patient", "", nil},
		{"cancelled", schedulingv1.AppointmentState_APPOINTMENT_STATE_PENDING_PAYMENT, schedulingv1.AppointmentState_APPOINTMENT_STATE_CANCELLED, a.patientID, "patient", "", []byte("sealed viagem")},
		{"refund_requested", unspecified, unspecified, "", "system", "paid late", nil},
	} {
		e := h[i]
		if e.GetKind() != want.kind || e.GetFromState() != want.from || e.GetToState() != want.to || e.GetActorId() != want.actor ||
			e.GetActorRole() != want.who || e.GetReason() != want.reason || !bytes.Equal(e.sealed, want.sealed) ||
			!e.GetTime().AsTime().Equal(monday.Add(time.Duration(i)*time.Minute)) {
			t.Errorf("event %d = %v, want %+v", i, e, want)
		}
	}
	if from, err := (appointmentStore{}).enteredFrom(ctx, db, a.id, stateCancelled); err != nil || from != statePending {
		t.Errorf("enteredFrom = %q, %v; want %s", from, err, statePending)
	}
	if h, err := (appointmentStore{}).history(ctx, db, uuid.NewString()); err != nil || len(h) != 0 {
		t.Errorf("history of an unknown appointment = %v, %v", h, err)
	}
}

// The seal job's reads find the texts still in clear, a page at a time, and its writes
// seal each once.
func TestAppointmentStore_TextsInClear(t *testing.T) {
	db := storeDB(t)
	ctx := context.Background()
	store := appointmentStore{}
	slots := insertSlots(t, db, uuid.NewString(), hourSpans(at("2026-06-02T12:00:00Z"), 3))
	var ids []string
	for i, sr := range slots {
		a := newAppointment(sr, uuid.NewString(), "k")
		if err := store.insert(ctx, db, &a, monday); err != nil {
			t.Fatal(err)
		}
		if i < 2 { // as written before texts were sealed
			if _, err := db.Exec(ctx, `UPDATE appointments SET reason = $2, reason_sealed = NULL WHERE id = $1`, a.id, "texto "+a.id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, a.id)
		}
	}
	slices.Sort(ids)
	texts := func(after string, limit int) []string {
		t.Helper()
		got, err := store.plainReasons(ctx, db, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range got {
			if p.text != "texto "+p.appointmentID || p.event != 0 {
				t.Errorf("plainReasons row %+v", p)
			}
			out = append(out, p.appointmentID)
		}
		return out
	}
	if got := texts("", 10); !slices.Equal(got, ids) {
		t.Errorf("plainReasons = %v, want %v", got, ids)
	}
	if got := texts("", 1); !slices.Equal(got, ids[:1]) {
		t.Errorf("plainReasons limit 1 = %v, want %v", got, ids[:1])
	}
	if got := texts(ids[0], 10); !slices.Equal(got, ids[1:]) {
		t.Errorf("plainReasons after the first = %v, want %v", got, ids[1:])
	}

	p := plainText{appointmentID: ids[0], text: "texto " + ids[0]}
	for i, want := range []bool{true, false} {
		done, err := store.sealReason(ctx, db, p, []byte("sealed"))
		if err != nil || done != want {
			t.Errorf("sealReason #%d = %v, %v; want %v", i+1, done, err, want)
		}
	}
	got, err := store.get(ctx, db, ids[0])
	if err != nil || got.legacyReason != "" || !bytes.Equal(got.sealedReason, []byte("sealed")) {
		t.Errorf("after sealReason: %q, %q, %v", got.legacyReason, got.sealedReason, err)
	}
	if got := texts("", 10); !slices.Equal(got, ids[1:]) {
		t.Errorf("plainReasons after sealing one = %v, want %v", got, ids[1:])
	}

	// History: the patient's and doctor's texts, not the system's phrases.
	a := ids[1]
	events := []event{
		{kind: "cancelled", who: actor{id: uuid.NewString(), role: "patient"}},
		{kind: "refund_requested", who: system, why: says("paid late")},
		{kind: "refused", who: actor{id: uuid.NewString(), role: "doctor"}},
		{kind: "booked", who: actor{id: uuid.NewString(), role: "patient"}},
	}
	for i, e := range events {
		if err := store.appendEvent(ctx, db, a, e, monday.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, `ALTER TABLE appointment_history DISABLE TRIGGER appointment_history_no_change;
		UPDATE appointment_history SET reason = 'texto ' || kind WHERE kind IN ('cancelled', 'refused');
		ALTER TABLE appointment_history ENABLE TRIGGER appointment_history_no_change`); err != nil {
		t.Fatal(err)
	}
	plain, err := store.plainEventReasons(ctx, db, 0, 10)
	if err != nil || len(plain) != 2 || plain[0].kind != "cancelled" || plain[1].kind != "refused" ||
		plain[0].text != "texto cancelled" || plain[0].appointmentID != a || plain[0].event >= plain[1].event {
		t.Fatalf("plainEventReasons = %+v, %v", plain, err)
	}
	if rest, err := store.plainEventReasons(ctx, db, plain[0].event, 10); err != nil || len(rest) != 1 || rest[0] != plain[1] {
		t.Errorf("plainEventReasons after the first = %+v, %v", rest, err)
	}
	for i, want := range []bool{true, false} {
		done, err := store.sealEventReason(ctx, db, plain[0], []byte("sealed"))
		if err != nil || done != want {
			t.Errorf("sealEventReason #%d = %v, %v; want %v", i+1, done, err, want)
		}
	}
	h, err := store.history(ctx, db, a)
	if err != nil || len(h) != 4 || h[0].GetReason() != "" || !bytes.Equal(h[0].sealed, []byte("sealed")) ||
		h[1].GetReason() != "paid late" || h[2].GetReason() != "texto refused" || h[2].sealed != nil {
		t.Errorf("history after sealing one event = %v, %v", h, err)
	}
}
