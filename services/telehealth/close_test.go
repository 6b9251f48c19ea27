package telehealth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/riverqueue/river/rivertype"

	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/testkit"
)

const (
	confirmedState = schedulingv1.AppointmentState_APPOINTMENT_STATE_CONFIRMED
	completedState = schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED
)

func TestCloseRoom_AtTheEndEndsTheMeetingAndCompletes(t *testing.T) {
	f := newFixture(t)
	_, patient, id := f.confirmed()
	f.setClock(consultStart.Add(5 * time.Minute))
	joinURL := f.mustJoin(patient, id).GetJoinUrl()
	meetingID := *f.room(id).meetingID
	ctx := context.Background()

	// A job run before the end (clocks differ) waits for it and ends nothing.
	f.setClock(consultEnd.Add(-time.Minute))
	if _, ok := errors.AsType[*rivertype.JobSnoozeError](f.svc.closeRoom(ctx, id)); !ok {
		t.Fatal("closing before the end did not snooze")
	}
	if !f.meetingExists(meetingID) || f.room(id).closed != nil {
		t.Fatal("the room closed before its end")
	}

	f.setClock(consultEnd)
	if err := f.svc.closeRoom(ctx, id); err != nil {
		t.Fatal(err)
	}
	if f.meetingExists(meetingID) {
		t.Error("the meeting still runs after the window ended")
	}
	if r := f.room(id); r.closed == nil || !r.closed.Equal(consultEnd) {
		t.Errorf("room closed at %v", r.closed)
	}
	a := f.get(id)
	if a.GetState() != completedState || a.GetNoShow() {
		t.Fatalf("appointment after the window: %v no_show=%v", a.GetState(), a.GetNoShow())
	}
	last := a.GetHistory()[len(a.GetHistory())-1]
	if last.GetKind() != "completed" || last.GetReason() != "the doctor did not join" {
		t.Errorf("last event %v", last)
	}

	// Running again (a retried job) changes nothing.
	if err := f.svc.closeRoom(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n := len(f.get(id).GetHistory()); n != len(a.GetHistory()) {
		t.Errorf("a second run added %d events", n-len(a.GetHistory()))
	}
	_, err := f.join(patient, id)
	testkit.WantReason(t, err, ReasonEnded)

	// The room's address never reaches the log.
	room := joinURL[strings.LastIndex(joinURL, "/")+1:]
	if logs := f.logs.String(); strings.Contains(logs, room) || !strings.Contains(logs, "meeting created") {
		t.Errorf("the log names the room or misses the meeting's creation:\n%s", logs)
	}
}

func TestCloseRoom_NobodyJoinedIsANoShow(t *testing.T) {
	f := newFixture(t)
	_, patient, id := f.confirmed()
	if _, err := f.prepareRoom(id); err != nil {
		t.Fatal(err)
	}
	f.setClock(consultEnd)
	if err := f.svc.closeRoom(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	a := f.get(id)
	if a.GetState() != confirmedState || !a.GetNoShow() {
		t.Fatalf("appointment nobody joined: %v no_show=%v", a.GetState(), a.GetNoShow())
	}
	if got := f.provider.created(); len(got) != 0 {
		t.Errorf("meetings %v created for a room nobody entered", got)
	}
	_, err := f.join(patient, id)
	testkit.WantReason(t, err, ReasonEnded)
}

func TestCloseRoom_MeetingTheProviderEndedIsFine(t *testing.T) {
	f := newFixture(t)
	doctor, _, id := f.confirmed()
	f.setClock(consultStart)
	f.mustJoin(doctor, id)
	if _, err := f.meetings.DeleteMeeting(context.Background(), connect.NewRequest(&meetingsv1.DeleteMeetingRequest{MeetingId: *f.room(id).meetingID})); err != nil {
		t.Fatal(err)
	}
	f.setClock(consultEnd)
	if err := f.svc.closeRoom(context.Background(), id); err != nil {
		t.Fatalf("close after the provider ended the meeting: %v", err)
	}
	if a := f.get(id); a.GetState() != completedState {
		t.Errorf("appointment %v", a.GetState())
	}
}

func TestCloseRoom_RunsAsAJobWhenTheWindowEnds(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()
	f.setClock(consultStart)
	f.mustJoin(patient, id)
	f.mustJoin(doctor, id)
	meetingID := *f.room(id).meetingID

	f.setClock(consultEnd)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	deadline := time.Now().Add(15 * time.Second)
	for f.get(id).GetState() != completedState {
		if time.Now().After(deadline) {
			t.Fatalf("appointment still %v 15 s after its window ended", f.get(id).GetState())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f.meetingExists(meetingID) {
		t.Error("the job completed the appointment but left the meeting running")
	}
	a := f.get(id)
	if last := a.GetHistory()[len(a.GetHistory())-1]; last.GetKind() != "completed" || last.GetReason() != "" {
		t.Errorf("last event %v: both joined, so no reason", last)
	}
}
