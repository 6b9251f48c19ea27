package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/services/clinics"
)

const secret = "whsec_TESTSECRETTESTSECRETTESTS"

func paidEvent() *clinicsv1.PartnerEvent {
	start := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	return &clinicsv1.PartnerEvent{
		EventId: uuid.NewString(), Type: clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID, OccurTime: timestamppb.New(start.Add(-48 * time.Hour)),
		Sequence: 2, AppointmentId: uuid.NewString(), DoctorId: uuid.NewString(), StartTime: timestamppb.New(start),
		EndTime: timestamppb.New(start.Add(50 * time.Minute)), State: schedulingv1.AppointmentState_APPOINTMENT_STATE_AWAITING_DOCTOR,
	}
}

// post sends the event as Healthcore does (its own signing code), body altered by tamper.
func post(t *testing.T, h http.Handler, ev *clinicsv1.PartnerEvent, signedAt time.Time, secrets []string, tamper func([]byte) []byte) int {
	t.Helper()
	body, err := protojson.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	for _, s := range secrets {
		keys = append(keys, []byte(s))
	}
	sig := clinics.Signature(keys, signedAt, body)
	if tamper != nil {
		body = tamper(body)
	}
	req := httptest.NewRequest(http.MethodPost, "/hooks/healthcore", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Healthcore-Event-Id", ev.GetEventId())
	req.Header.Set("Healthcore-Event-Type", ev.GetType().String())
	req.Header.Set("Healthcore-Signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func TestEventReceiver_HandlesSignedEventsOnceAndRefusesTamperedOrStaleOnes(t *testing.T) {
	var handled []*clinicsv1.PartnerEvent
	r := &EventReceiver{Secrets: []string{secret}, Handle: func(_ context.Context, ev *clinicsv1.PartnerEvent) error {
		handled = append(handled, ev)
		return nil
	}}
	ev, now := paidEvent(), time.Now()
	if code := post(t, r, ev, now, []string{secret}, nil); code != http.StatusOK {
		t.Fatalf("signed event: %d", code)
	}
	if code := post(t, r, ev, now.Add(time.Minute), []string{secret}, nil); code != http.StatusOK {
		t.Fatalf("the same event again: %d", code)
	}
	if len(handled) != 1 || handled[0].GetEventId() != ev.GetEventId() || handled[0].GetSequence() != 2 ||
		!handled[0].GetStartTime().AsTime().Equal(ev.GetStartTime().AsTime()) {
		t.Fatalf("handled %v, want the event once", handled)
	}
	for name, tc := range map[string]struct {
		at      time.Time
		secrets []string
		tamper  func([]byte) []byte
	}{
		"tampered body":  {now, []string{secret}, func(b []byte) []byte { return []byte(strings.Replace(string(b), "PAID", "CONFIRMED", 1)) }},
		"old timestamp":  {now.Add(-6 * time.Minute), []string{secret}, nil},
		"future":         {now.Add(6 * time.Minute), []string{secret}, nil},
		"another secret": {now, []string{"whsec_SOMEONEELSE"}, nil},
		"no signature":   {now, nil, nil},
	} {
		if code := post(t, r, paidEvent(), tc.at, tc.secrets, tc.tamper); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if len(handled) != 1 {
		t.Errorf("refused events were handled: %v", handled)
	}
	// During a rotation Healthcore signs with both secrets; a receiver knowing either accepts.
	if code := post(t, r, paidEvent(), now, []string{"whsec_THENEWONE", secret}, nil); code != http.StatusOK {
		t.Errorf("two v1 signatures, one by our secret: %d", code)
	}
}

func TestEventReceiver_AFailedHandlingIsRetriedAndHandedOnInOrder(t *testing.T) {
	var order []uint32
	fail := true
	r := &EventReceiver{Secrets: []string{secret}, Handle: func(_ context.Context, ev *clinicsv1.PartnerEvent) error {
		if fail {
			fail = false
			return errors.New("database down")
		}
		order = append(order, ev.GetSequence())
		return nil
	}}
	first, second := paidEvent(), paidEvent()
	first.Sequence, second.Sequence = 1, 2
	if code := post(t, r, first, time.Now(), []string{secret}, nil); code != http.StatusInternalServerError {
		t.Fatalf("failed handling answered %d, want 500 (Healthcore retries)", code)
	}
	for _, ev := range []*clinicsv1.PartnerEvent{first, second} {
		if code := post(t, r, ev, time.Now(), []string{secret}, nil); code != http.StatusOK {
			t.Fatalf("event %d: %d", ev.GetSequence(), code)
		}
	}
	if len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Errorf("handed on %v, want [1 2]", order)
	}
}
