package telehealth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func TestGetJoinInfo_OpensTenMinutesBeforeTheStartAndClosesAtTheEnd(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()

	f.setClock(windowStart.Add(-time.Second))
	_, err := f.join(patient, id)
	testkit.WantReason(t, err, ReasonTooEarly)
	if got := errorMetadata(t, err)["window_start_time"]; got != "2026-06-01T11:50:00Z" {
		t.Errorf("TOO_EARLY says the window opens at %q", got)
	}
	if got := f.provider.created(); len(got) != 0 {
		t.Fatalf("a refused join created meetings %v", got)
	}

	f.setClock(windowStart)
	first := f.mustJoin(patient, id)
	if first.GetProvider() != "local" || !strings.HasPrefix(first.GetJoinUrl(), "https://meet.clinic.example/") ||
		first.GetMeetingJson() != "" || first.GetAttendeeJson() != "" {
		t.Errorf("local join info = %v", first)
	}
	if !first.GetWindowStartTime().AsTime().Equal(windowStart) || !first.GetStartTime().AsTime().Equal(consultStart) ||
		!first.GetWindowEndTime().AsTime().Equal(consultEnd) {
		t.Errorf("window %s / %s / %s", first.GetWindowStartTime().AsTime(), first.GetStartTime().AsTime(), first.GetWindowEndTime().AsTime())
	}

	for _, at := range []time.Time{consultStart, consultEnd.Add(-time.Second)} {
		f.setClock(at)
		if got := f.mustJoin(doctor, id).GetJoinUrl(); got != first.GetJoinUrl() {
			t.Errorf("at %s the doctor got room %q, the patient %q", at.Format(time.TimeOnly), got, first.GetJoinUrl())
		}
	}

	for _, at := range []time.Time{consultEnd, consultEnd.Add(40 * time.Minute)} {
		f.setClock(at)
		_, err := f.join(patient, id)
		testkit.WantReason(t, err, ReasonEnded)
	}
	if got := f.provider.created(); len(got) != 1 || got[0] != id {
		t.Errorf("meetings created with tokens %v, want one with the appointment id", got)
	}
}

func TestGetJoinInfo_WindowFollowsTheDoctorsConsultationLength(t *testing.T) {
	f := newFixture(t)
	_, patient, id := f.confirmedWith(30)
	end := consultStart.Add(30 * time.Minute)

	f.setClock(end.Add(-time.Second))
	if got := f.mustJoin(patient, id).GetWindowEndTime().AsTime(); !got.Equal(end) {
		t.Errorf("window ends at %s, want %s", got, end)
	}
	f.setClock(end)
	_, err := f.join(patient, id)
	testkit.WantReason(t, err, ReasonEnded)
}

func TestGetJoinInfo_OnlyTheAppointmentsPatientAndDoctor(t *testing.T) {
	f := newFixture(t)
	_, _, id := f.confirmed()

	// Who comes before when: hours before the window, an outsider learns nothing of it.
	// Someone else's appointment is answered as an unknown id is, so a stranger cannot
	// tell that an id exists.
	_, err := f.join(f.patient(), id)
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	someoneElses := err.Error()

	f.setClock(consultStart)
	_, err = f.join(f.patient(), id)
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	_, err = f.join(f.doctor(), id)
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	_, err = f.join(f.patient(), uuid.NewString())
	testkit.WantReason(t, err, ReasonAppointmentNotFound)
	if err.Error() != someoneElses {
		t.Errorf("an unknown id answers %q, someone else's appointment %q: they must read alike", err, someoneElses)
	}
	_, err = f.join(user{}, id)
	testkit.WantReason(t, err, authn.ReasonTokenMissing)

	// Room preparation is for scheduling alone.
	_, err = f.client.PrepareRoom(context.Background(), testkit.Authed(&telehealthv1.PrepareRoomRequest{AppointmentId: id}, f.patient().token))
	testkit.WantReason(t, err, authn.ReasonServiceOnly)

	if got := f.provider.created(); len(got) != 0 {
		t.Errorf("refused joins created meetings %v", got)
	}
	if h := joins(f.get(id)); len(h) != 0 {
		t.Errorf("refused joins recorded: %v", h)
	}
}

func TestGetJoinInfo_OnlyConfirmedAppointments(t *testing.T) {
	f := newFixture(t)
	_, awaitingPatient, awaiting := f.appointment(0) // paid, not yet accepted
	_, cancelledPatient, cancelled := f.confirmed()
	if _, err := f.scheduling.CancelAppointment(context.Background(), testkit.Authed(&schedulingv1.CancelAppointmentRequest{
		Id: cancelled, Justification: "surgiu uma viagem de trabalho",
	}, cancelledPatient.token)); err != nil {
		t.Fatalf("cancel: %v", err)
	}

	f.setClock(consultStart)
	_, err := f.join(awaitingPatient, awaiting)
	testkit.WantReason(t, err, ReasonNotConfirmed)
	_, err = f.join(cancelledPatient, cancelled)
	testkit.WantReason(t, err, ReasonNotConfirmed)
	_, err = f.prepareRoom(awaiting)
	testkit.WantReason(t, err, ReasonNotConfirmed)

	var rooms int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM rooms`).Scan(&rooms); err != nil {
		t.Fatal(err)
	}
	if rooms != 0 || len(f.provider.created()) != 0 {
		t.Errorf("%d rooms and meetings %v for unconfirmed appointments", rooms, f.provider.created())
	}
}

// errorMetadata returns the ErrorInfo metadata of a gRPC error.
func errorMetadata(t *testing.T, err error) map[string]string {
	t.Helper()
	ce, ok := errors.AsType[*connect.Error](err)
	if !ok {
		t.Fatalf("not a connect error: %v", err)
	}
	for _, d := range ce.Details() {
		v, derr := d.Value()
		if derr != nil {
			t.Fatal(derr)
		}
		if info, ok := v.(*errdetails.ErrorInfo); ok {
			return info.GetMetadata()
		}
	}
	return nil
}

// A doctor whose token does not say verified (pending, rejected, suspended) joins no
// room, even the room of their own confirmed appointment; the verified token does.
func TestGetJoinInfo_DoctorNotVerifiedJoinsNothing(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()
	unverified := user{doctor.id, f.users.SignPrincipal(authn.Principal{
		UserID: doctor.id, Role: accessv1.Role_ROLE_DOCTOR, CRM: fmt.Sprintf("%d/SP", f.crm),
		EmailVerified: true, AMR: []string{"pwd", "otp"},
	})}

	f.setClock(consultStart)
	_, err := f.join(unverified, id)
	testkit.WantReason(t, err, ReasonDoctorNotVerified)
	if got := f.provider.created(); len(got) != 0 {
		t.Fatalf("a refused join created meetings %v", got)
	}
	if h := joins(f.get(id)); len(h) != 0 {
		t.Fatalf("a refused join was recorded: %v", h)
	}

	if got := f.mustJoin(doctor, id); got.GetJoinUrl() == "" {
		t.Errorf("the verified doctor's join info = %v", got)
	}
	if got := f.mustJoin(patient, id); got.GetJoinUrl() == "" {
		t.Errorf("the patient's join info = %v", got)
	}
}
