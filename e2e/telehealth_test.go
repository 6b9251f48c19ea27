package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/authn"
	"healthcore/services/telehealth"
)

type joinInfoJSON struct {
	Provider        string    `json:"provider"`
	JoinURL         string    `json:"joinUrl"`
	MeetingJSON     string    `json:"meetingJson"`
	AttendeeJSON    string    `json:"attendeeJson"`
	WindowStartTime time.Time `json:"windowStartTime"`
	StartTime       time.Time `json:"startTime"`
	WindowEndTime   time.Time `json:"windowEndTime"`
}

// TestMultiProcess_PatientAndDoctorMeetInTheConsultationRoom books a consultation that
// starts within the hour, pays it in the PIX sandbox, has the doctor accept it, and
// both participants get the same room through the gateway. The room opens an hour
// early here (-telehealth.join-early) and slots are 10 minutes, so the test need not
// wait for a consultation; the window's edges and its closing are the service tests'.
func TestMultiProcess_PatientAndDoctorMeetInTheConsultationRoom(t *testing.T) {
	s := startStack(t, "-scheduling.min-lead=35m", "-scheduling.payment-window=31m", "-telehealth.join-early=1h")
	doctorID, doctor := s.openDoctor("Dr. João Pereira", "334455", "joao.room@clinica.com.br", 18000, 10, 0)
	from := time.Now().Add(36 * time.Minute)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(3*time.Hour)), "", nil, &slots)
	if len(slots.Slots) < 2 {
		t.Fatalf("only %d free slots", len(slots.Slots))
	}
	slot := slots.Slots[0]
	maria := s.loginPatient("maria.room@example.com", "529982247")

	// Booked but not paid: no room yet.
	code, b, _ := s.book(maria, slot.ID, "maria-room-booking")
	if code != http.StatusOK {
		t.Fatalf("book: %d", code)
	}
	id := b.Appointment.ID
	var e errorJSON
	if code, _ := s.rest("GET", "/v1/appointments/"+id+"/join", maria, nil, &e); code != http.StatusBadRequest || reason(e) != telehealth.ReasonNotConfirmed.Name() {
		t.Fatalf("join before payment: %d %+v", code, e)
	}

	s.pay(maria, id, true)
	s.waitState(maria, id, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	if code, _ := s.rest("POST", "/v1/appointments/"+id+":accept", doctor, map[string]string{}, nil); code != http.StatusOK {
		t.Fatalf("accept: %d", code)
	}
	a := s.appointment(maria, id)
	if a.State != "APPOINTMENT_STATE_CONFIRMED" || a.JoinPath != "/v1/appointments/"+id+"/join" {
		t.Fatalf("confirmed appointment: %+v", a)
	}

	// Both participants get the same room, through the path the appointment shows.
	var patientRoom, doctorRoom joinInfoJSON
	if code, _ := s.rest("GET", a.JoinPath, maria, nil, &patientRoom); code != http.StatusOK {
		t.Fatalf("patient joins: %d", code)
	}
	if patientRoom.Provider != "local" || !strings.HasPrefix(patientRoom.JoinURL, "https://") || patientRoom.AttendeeJSON != "" ||
		!patientRoom.StartTime.Equal(slot.StartTime) || !patientRoom.WindowEndTime.Equal(slot.EndTime) ||
		!patientRoom.WindowStartTime.Equal(slot.StartTime.Add(-time.Hour)) {
		t.Fatalf("patient's join info: %+v (slot %+v)", patientRoom, slot)
	}
	if code, _ := s.rest("GET", a.JoinPath, doctor, nil, &doctorRoom); code != http.StatusOK || doctorRoom.JoinURL != patientRoom.JoinURL {
		t.Fatalf("doctor joins: %d %+v, patient is in %s", code, doctorRoom, patientRoom.JoinURL)
	}

	// Nobody else.
	joao := s.loginPatient("joao.room@example.com", "111444777")
	if code, _ := s.rest("GET", a.JoinPath, joao, nil, &e); code != http.StatusNotFound || reason(e) != telehealth.ReasonAppointmentNotFound.Name() {
		t.Errorf("another patient: %d %+v", code, e)
	}
	if code, _ := s.rest("GET", "/v1/appointments/3f1c2a9e-0000-4000-8000-000000000000/join", joao, nil, &e); code != http.StatusNotFound || reason(e) != telehealth.ReasonAppointmentNotFound.Name() {
		t.Errorf("unknown appointment: %d %+v", code, e)
	}
	if code, _ := s.rest("GET", a.JoinPath, "", nil, &e); code != http.StatusUnauthorized || reason(e) != authn.ReasonTokenMissing.Name() {
		t.Errorf("anonymous: %d %+v", code, e)
	}

	// Both joins are in the appointment's history.
	var joined []string
	for _, h := range s.appointment(doctor, id).History {
		if h.Kind == "joined" {
			joined = append(joined, h.ActorRole)
		}
	}
	if strings.Join(joined, " ") != "patient doctor" {
		t.Errorf("joins in the history: %v", joined)
	}

	// Over gRPC, scheduling's PrepareRoom (internal) sees the meeting running: the
	// caller is known by its certificate.
	hc, url := s.as("scheduling", "telehealth")
	client := telehealthv1connect.NewTelehealthServiceClient(hc, url, connect.WithGRPC())
	room, err := client.PrepareRoom(t.Context(), connect.NewRequest(&telehealthv1.PrepareRoomRequest{AppointmentId: id}))
	if err != nil || !room.Msg.GetRoom().GetMeetingStarted() || !room.Msg.GetRoom().GetWindowEndTime().AsTime().Equal(slot.EndTime) {
		t.Fatalf("prepare room: %v %v", room, err)
	}
}
