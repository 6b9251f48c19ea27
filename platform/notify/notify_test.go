package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
)

// args is how a service embeds Request in its job args.
type args struct{ Request }

func (args) Kind() string { return "test.notify" }

func TestRequest_IsStoredAsTheNotifyRequestsJSONAndReadBack(t *testing.T) {
	in := &notificationsv1.NotifyRequest{
		IdempotencyKey: "appt-1-confirmed-patient", Event: notificationsv1.Event_EVENT_BOOKING_CONFIRMED,
		RecipientId: "0b7e7c43-0f4b-4a3e-8d8c-2f1f6e0b9c21",
		Detail: &notificationsv1.NotifyRequest_Appointment{Appointment: &notificationsv1.AppointmentDetail{
			AppointmentId: "5f0c1c8e-8d5e-4a57-9a43-6d1b1f0e2a11", StartTime: timestamppb.New(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)),
			JoinPath: "/v1/appointments/5f0c1c8e-8d5e-4a57-9a43-6d1b1f0e2a11/join",
		}},
	}
	raw, err := json.Marshal(args{Request{Msg: in}})
	if err != nil {
		t.Fatal(err)
	}
	// The embedded request's JSON is the whole args: the job table shows the request.
	for _, want := range []string{`"idempotencyKey":"appt-1-confirmed-patient"`, `"event":"EVENT_BOOKING_CONFIRMED"`, `"startTime":"2026-06-01T12:00:00Z"`} {
		if !strings.Contains(strings.ReplaceAll(string(raw), " ", ""), want) {
			t.Errorf("args %s lack %s", raw, want)
		}
	}
	// A field a newer replica added is ignored, not an error.
	withNew := strings.Replace(string(raw), "{", `{"someFutureField":1,`, 1)
	var out args
	if err := json.Unmarshal([]byte(withNew), &out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(out.Msg, in) {
		t.Errorf("read back %v, want %v", out.Msg, in)
	}
}
