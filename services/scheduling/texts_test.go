package scheduling

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// What the fixture's patients and doctors write (book_test.go, decide_test.go).
const (
	bookedReason  = "dor no peito ao subir escadas"
	refusalReason = "agenda em conflito com cirurgia"
	cancelReason  = "surgiu uma viagem de trabalho"
)

// pieces are every n-byte piece of each text: what holds any piece of a text holds
// some of it in clear.
func pieces(n int, texts ...string) []string {
	var out []string
	for _, s := range texts {
		for i := 0; i+n <= len(s); i++ {
			out = append(out, s[i:i+n])
		}
	}
	return out
}

// storedTexts are the reason columns of an appointment's row and its history rows, as
// stored, with the actor of each history row ("" for the appointment's own).
type storedText struct {
	actor  string
	kind   string
	clear  string
	sealed []byte
}

func (f *fixture) storedTexts(apptID string) []storedText {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `
		SELECT '', '', reason, reason_sealed FROM appointments WHERE id = $1
		UNION ALL
		(SELECT actor_role, kind, reason, reason_sealed FROM appointment_history WHERE appointment_id = $1 ORDER BY id)`, apptID)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []storedText
	for rows.Next() {
		var s storedText
		if err := rows.Scan(&s.actor, &s.kind, &s.clear, &s.sealed); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// wantUnreadable fails unless no reason column of the appointment's rows holds any piece
// of texts, in clear or in its sealed bytes, and the appointment's reason and the
// events of the kinds in sealedKinds are sealed.
func (f *fixture) wantUnreadable(apptID string, texts []string, sealedKinds ...string) {
	f.t.Helper()
	stored := f.storedTexts(apptID)
	if len(stored) == 0 {
		f.t.Fatalf("appointment %s not stored", apptID)
	}
	for _, s := range stored {
		for _, p := range pieces(4, texts...) {
			if bytes.Contains(s.sealed, []byte(p)) {
				f.t.Errorf("row %q/%q of %s holds %q of a text in its sealed bytes", s.actor, s.kind, apptID, p)
			}
		}
		// Only the system's fixed phrases are in clear (pieces long enough not to be
		// words of them).
		if s.actor != "system" && s.clear != "" {
			f.t.Errorf("row %q/%q of %s holds %q in clear", s.actor, s.kind, apptID, s.clear)
		}
		for _, p := range pieces(8, texts...) {
			if strings.Contains(s.clear, p) {
				f.t.Errorf("row %q/%q of %s holds %q of a text in clear", s.actor, s.kind, apptID, p)
			}
		}
		want := s.kind == "" // the appointment's own row
		for _, k := range sealedKinds {
			want = want || s.kind == k
		}
		if want && len(s.sealed) == 0 {
			f.t.Errorf("row %q/%q of %s has no sealed text", s.actor, s.kind, apptID)
		}
	}
}

// lastEvent is the newest event of kind in a history.
func lastEvent(h []*schedulingv1.AppointmentEvent, kind string) *schedulingv1.AppointmentEvent {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].GetKind() == kind {
			return h[i]
		}
	}
	return nil
}

// internalGet reads an appointment as another service does.
func (f *fixture) internalGet(id string) *schedulingv1.Appointment {
	f.t.Helper()
	resp, err := f.as("telehealth").GetAppointment(context.Background(), connect.NewRequest(&schedulingv1.GetAppointmentRequest{Id: id}))
	if err != nil {
		f.t.Fatalf("internal get appointment: %v", err)
	}
	return resp.Msg.GetAppointment()
}

// listAll is every appointment of the user's list, by id.
func (f *fixture) listAll(u user) map[string]*schedulingv1.Appointment {
	f.t.Helper()
	resp, err := f.client.ListMyAppointments(context.Background(), testkit.Authed(&schedulingv1.ListMyAppointmentsRequest{PageSize: 100}, u.token))
	if err != nil {
		f.t.Fatalf("list my appointments: %v", err)
	}
	out := map[string]*schedulingv1.Appointment{}
	for _, a := range resp.Msg.GetAppointments() {
		out[a.GetId()] = a
	}
	return out
}

// wantTexts checks what the patient and the doctor read of an appointment through the
// public API, and that another service reads none of it.
func (f *fixture) wantTexts(patient, doctor user, id, reason, eventKind, eventReason string) {
	f.t.Helper()
	for _, u := range []user{patient, doctor} {
		a := f.mustGet(u, id)
		if a.GetReason() != reason {
			f.t.Errorf("%s reads reason %q, want %q", u.id, a.GetReason(), reason)
		}
		if e := lastEvent(a.GetHistory(), eventKind); e == nil || e.GetReason() != eventReason {
			f.t.Errorf("%s reads %s event %v, want reason %q", u.id, eventKind, e, eventReason)
		}
		if l := f.listAll(u)[id]; l.GetReason() != reason {
			f.t.Errorf("%s lists reason %q, want %q", u.id, l.GetReason(), reason)
		}
	}
	a := f.internalGet(id)
	if a.GetReason() != "" {
		f.t.Errorf("a service reads reason %q, want none", a.GetReason())
	}
	if len(a.GetHistory()) == 0 {
		f.t.Error("a service reads no history")
	}
	for _, e := range a.GetHistory() {
		if e.GetActorRole() == "system" {
			continue // the system's own phrases are no health data: services read them
		}
		if e.GetReason() != "" {
			f.t.Errorf("a service reads the reason %q of a %s event", e.GetReason(), e.GetKind())
		}
	}
}

func TestTexts_SealedInTheDatabaseOpenedForThePatientAndDoctorOnly(t *testing.T) {
	f := newFixture(t)

	// A booking the doctor refuses.
	d, p, a := f.paidAppointment()
	if a.GetReason() != bookedReason {
		t.Fatalf("the patient reads reason %q after booking", a.GetReason())
	}
	refused, err := f.refuse(d, a.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if refused.GetReason() != bookedReason {
		t.Errorf("the refusal answers reason %q", refused.GetReason())
	}

	// A booking the patient cancels.
	d2, p2, b := f.paidAppointment()
	cancelled, err := f.cancel(p2, b.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.GetReason() != bookedReason {
		t.Errorf("the cancellation answers reason %q", cancelled.GetReason())
	}

	texts := []string{bookedReason, refusalReason, cancelReason}
	f.wantUnreadable(a.GetId(), texts, "refused")
	f.wantUnreadable(b.GetId(), texts, "cancelled")
	f.wantTexts(p, d, a.GetId(), bookedReason, "refused", refusalReason)
	f.wantTexts(p2, d2, b.GetId(), bookedReason, "cancelled", cancelReason)

	// The system's own phrases are no health data: they stay in clear, for the
	// participants and for services.
	if e := lastEvent(f.mustGet(p, a.GetId()).GetHistory(), "paid"); e.GetReason() != "the PIX payment was confirmed" {
		t.Errorf("paid event = %v", e)
	}

	// A retried booking answers the reason too.
	retry, err := f.bookAs(p2, b.GetSlotId(), "paid-"+p2.id)
	if err != nil || retry.GetAppointment().GetReason() != bookedReason {
		t.Errorf("retried booking = %v, %v", retry, err)
	}

	// Nothing of them was logged (pieces long enough not to be words of any log line).
	logs := f.logs.String()
	for _, piece := range pieces(8, texts...) {
		if strings.Contains(logs, piece) {
			t.Errorf("the logs hold %q of a text", piece)
		}
	}
}

// A sealed value is bound to its appointment (and a history reason to its event's
// kind): moved to another row, it does not open, and the read fails without the text.
func TestTexts_ASealedValueMovedToAnotherRowDoesNotOpen(t *testing.T) {
	f := newFixture(t)
	d, p, a := f.paidAppointment()
	if _, err := f.refuse(d, a.GetId()); err != nil {
		t.Fatal(err)
	}
	_, p2, b := f.paidAppointment()
	ctx := context.Background()

	// b's reason replaced by a's sealed reason.
	if _, err := f.db.Exec(ctx, `UPDATE appointments SET reason_sealed = (SELECT reason_sealed FROM appointments WHERE id = $1)
		WHERE id = $2`, a.GetId(), b.GetId()); err != nil {
		t.Fatal(err)
	}
	_, err := f.get(p2, b.GetId())
	testkit.WantReason(t, err, errs.ReasonInternal)
	if err != nil && strings.Contains(err.Error(), bookedReason) {
		t.Errorf("the error holds the text: %v", err)
	}
	_, err = f.client.ListMyAppointments(ctx, testkit.Authed(&schedulingv1.ListMyAppointmentsRequest{}, p2.token))
	testkit.WantReason(t, err, errs.ReasonInternal)
	_, err = f.cancel(p2, b.GetId()) // the cancellation is made; its answer cannot show the reason
	testkit.WantReason(t, err, errs.ReasonInternal)
	if a := f.internalGet(b.GetId()); a.GetState() != cancelled || a.GetReason() != "" {
		t.Errorf("after the cancellation a service reads %v", a)
	}

	// a's sealed refusal reason as a cancellation of a, and as b's refusal.
	for _, target := range []struct{ appt, kind string }{{a.GetId(), "cancelled"}, {b.GetId(), "refused"}} {
		if _, err := f.db.Exec(ctx, `INSERT INTO appointment_history (appointment_id, kind, actor_role, reason_sealed, at)
			SELECT $2, $3, actor_role, reason_sealed, at FROM appointment_history WHERE appointment_id = $1 AND kind = 'refused'`,
			a.GetId(), target.appt, target.kind); err != nil {
			t.Fatal(err)
		}
	}
	_, err = f.get(p, a.GetId())
	testkit.WantReason(t, err, errs.ReasonInternal)
}

// insertLegacy stores, as the service did before texts were sealed, an appointment of
// the patient with the doctor that ended in state, its reason and its history (kind,
// actor role, reason in clear) in clear.
func (f *fixture) insertLegacy(patient, doctor user, state, reason string, history ...[3]string) string {
	f.t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	start := firstSlot.Add(time.Duration(f.count(`SELECT count(*) FROM appointments`)) * time.Hour)
	if _, err := f.db.Exec(ctx, `INSERT INTO appointments (id, start_at, end_at, doctor_id, patient_id, state, price_cents, reason)
		VALUES ($1, $2, $3, $4, $5, $6, 25000, $7)`, id, start, start.Add(time.Hour), doctor.id, patient.id, state, reason); err != nil {
		f.t.Fatal(err)
	}
	for i, h := range history {
		actor := map[string]string{"patient": patient.id, "doctor": doctor.id}[h[1]]
		if _, err := f.db.Exec(ctx, `INSERT INTO appointment_history (appointment_id, kind, actor_id, actor_role, reason, at)
			VALUES ($1, $2, nullif($3, '')::uuid, $4, $5, $6)`, id, h[0], actor, h[1], h[2], monday.Add(time.Duration(i)*time.Minute)); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

// historyRows is the history of an appointment as stored, but for its reason columns.
func (f *fixture) historyRows(apptID string) string {
	f.t.Helper()
	var s string
	if err := f.db.QueryRow(context.Background(), `SELECT string_agg(concat_ws('|', id, kind, from_state, to_state, actor_id, actor_role, at), ';' ORDER BY id)
		FROM appointment_history WHERE appointment_id = $1`, apptID).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// Rows written in clear before texts were sealed are read as they are meanwhile; the
// seal job, run by the job runner at its start, seals them all (in batches) and clears
// the text, and they read the same after.
func TestSealTextsJob_SealsTextsWrittenInClear(t *testing.T) {
	f := newFixtureWith(t, jobsConfig())
	p, d := f.newPatient(), f.newDoctor()
	const (
		legacyReason  = "falta de ar ao deitar, há duas semanas"
		legacyCancel  = "internação de um familiar"
		legacyRefusal = "estarei em congresso nesse dia"
		systemPhrase  = "the payment arrived while the appointment was being cancelled: refunded in full"
	)
	cancelledID := f.insertLegacy(p, d, stateCancelled, legacyReason,
		[3]string{"booked", "patient", ""}, [3]string{"cancelled", "patient", legacyCancel}, [3]string{"refund_requested", "system", systemPhrase})
	refusedID := f.insertLegacy(p, d, stateRefused, legacyReason,
		[3]string{"booked", "patient", ""}, [3]string{"refused", "doctor", legacyRefusal})
	// More than one batch of other appointments in clear.
	if _, err := f.db.Exec(context.Background(), `INSERT INTO appointments (id, start_at, end_at, doctor_id, patient_id, state, price_cents, reason)
		SELECT gen_random_uuid(), $1, $2, gen_random_uuid(), gen_random_uuid(), 'CANCELLED', 25000, 'falta de ar, caso ' || i
		FROM generate_series(1, $3::int) i`, firstSlot, firstSlot.Add(time.Hour), sealBatch+20); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{cancelledID: f.historyRows(cancelledID), refusedID: f.historyRows(refusedID)}

	// Meanwhile, the texts in clear are read as they are.
	f.wantTexts(p, d, cancelledID, legacyReason, "cancelled", legacyCancel)
	f.wantTexts(p, d, refusedID, legacyReason, "refused", legacyRefusal)

	run(t, f.svc)
	eventually(t, "the seal job", func() bool {
		return f.count(`SELECT count(*) FROM river_job WHERE kind = 'scheduling.seal_texts' AND state = 'completed'`) == 1
	})
	if n := f.count(`SELECT count(*) FROM appointments WHERE reason <> '' OR reason_sealed IS NULL`); n != 0 {
		t.Errorf("%d appointments still in clear", n)
	}
	if n := f.count(`SELECT count(*) FROM appointment_history WHERE reason <> '' AND actor_role <> 'system'`); n != 0 {
		t.Errorf("%d history events still in clear", n)
	}
	texts := []string{legacyReason, legacyCancel, legacyRefusal}
	f.wantUnreadable(cancelledID, texts, "cancelled")
	f.wantUnreadable(refusedID, texts, "refused")
	for id, rows := range before {
		if after := f.historyRows(id); after != rows {
			t.Errorf("sealing changed the history of %s:\n%s\nwas\n%s", id, after, rows)
		}
	}
	f.wantTexts(p, d, cancelledID, legacyReason, "cancelled", legacyCancel)
	f.wantTexts(p, d, refusedID, legacyReason, "refused", legacyRefusal)
	if e := lastEvent(f.mustGet(p, cancelledID).GetHistory(), "refund_requested"); e.GetReason() != systemPhrase {
		t.Errorf("the system's phrase reads %v", e)
	}
	var sample string
	if err := f.db.QueryRow(context.Background(), `SELECT id::text FROM appointments WHERE patient_id <> $1 LIMIT 1`, p.id).Scan(&sample); err != nil {
		t.Fatal(err)
	}
	a, err := f.svc.appointments.get(context.Background(), f.db, sample)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.openReason(context.Background(), &a); err != nil || !strings.HasPrefix(a.reason, "falta de ar, caso ") {
		t.Errorf("a batch row opens to %q, %v", a.reason, err)
	}

	// Nothing is left for another run; the history stays append-only once sealed.
	if n, err := f.svc.sealTexts(context.Background()); err != nil || n != 0 {
		t.Errorf("another run sealed %d, %v; want nothing left", n, err)
	}
	if _, err := f.db.Exec(context.Background(), `UPDATE appointment_history SET reason_sealed = '\x00' WHERE appointment_id = $1`,
		cancelledID); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("resealing a sealed event: %v, want the append-only refusal", err)
	}
	if logs := f.logs.String(); strings.Contains(logs, "falta de ar") || strings.Contains(logs, "congresso") {
		t.Error("the logs hold a text")
	}
}
