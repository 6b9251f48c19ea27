package telehealth

import (
	"context"
	"sync"
	"testing"

	"connectrpc.com/connect"

	meetingsv1 "healthcore/gen/healthcore/meetings/v1"
)

func TestGetJoinInfo_ConcurrentJoinsCreateOneMeeting(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()
	f.setClock(consultStart)

	const n = 10 // five reloads each, all at once
	urls := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		u := patient
		if i%2 == 1 {
			u = doctor
		}
		wg.Go(func() {
			out, err := f.join(u, id)
			urls[i], errs[i] = out.GetJoinUrl(), err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("join %d: %v", i, err)
		}
		if urls[i] != urls[0] || urls[i] == "" {
			t.Errorf("join %d got room %q, join 0 %q", i, urls[i], urls[0])
		}
	}
	if got := f.provider.created(); len(got) != 1 || got[0] != id {
		t.Fatalf("the provider was asked for meetings %v, want exactly one (token = appointment id)", got)
	}
	r := f.room(id)
	if r.meetingID == nil || r.generation != 0 || !f.meetingExists(*r.meetingID) {
		t.Fatalf("room after joins: %+v", r)
	}
	if n, at := f.closeJobs(id); n != 1 || !at.Equal(consultEnd) {
		t.Errorf("%d closing jobs, at %s; want one at the end", n, at)
	}
	// Every join is in the appointment's history, by whoever joined.
	byUser := map[string]int{}
	for _, who := range joins(f.get(id)) {
		byUser[who]++
	}
	if byUser[patient.id] != n/2 || byUser[doctor.id] != n/2 || len(byUser) != 2 {
		t.Errorf("joins in the history: %v", byUser)
	}
}

func TestGetJoinInfo_MeetingEndedByTheProviderIsReplaced(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()
	f.setClock(consultStart)
	before := f.mustJoin(patient, id).GetJoinUrl()
	stale := *f.room(id).meetingID

	// The provider ends the meeting early, behind the service's back.
	if _, err := f.meetings.DeleteMeeting(context.Background(), connect.NewRequest(&meetingsv1.DeleteMeetingRequest{MeetingId: stale})); err != nil {
		t.Fatal(err)
	}
	after := f.mustJoin(doctor, id).GetJoinUrl()
	if after == before || after == "" {
		t.Errorf("room after the provider ended the meeting: %q (before %q)", after, before)
	}
	r := f.room(id)
	if r.meetingID == nil || *r.meetingID == stale || r.generation != 1 || !f.meetingExists(*r.meetingID) {
		t.Fatalf("room after replacement: %+v", r)
	}
	// The replacement is a new creation at the provider, not a retry of the first.
	if got := f.provider.created(); len(got) != 2 || got[0] != id || got[1] != id+"-1" {
		t.Fatalf("creation tokens %v, want [%s %s-1]", got, id, id)
	}
	// Everyone is sent to the new meeting from now on.
	if again := f.mustJoin(patient, id).GetJoinUrl(); again != after {
		t.Errorf("patient rejoined room %q, doctor is in %q", again, after)
	}
	if got := f.provider.created(); len(got) != 2 {
		t.Errorf("creation tokens %v after a rejoin", got)
	}
}

func TestPrepareRoom_OnceWithItsClosingJobAndNoMeetingYet(t *testing.T) {
	f := newFixture(t)
	doctor, patient, id := f.confirmed()

	first, err := f.prepareRoom(id)
	if err != nil {
		t.Fatal(err)
	}
	if first.GetAppointmentId() != id || first.GetDoctorId() != doctor.id || first.GetPatientId() != patient.id ||
		!first.GetWindowStartTime().AsTime().Equal(windowStart) || !first.GetStartTime().AsTime().Equal(consultStart) ||
		!first.GetWindowEndTime().AsTime().Equal(consultEnd) || first.GetMeetingStarted() || first.GetCloseTime() != nil {
		t.Errorf("prepared room = %v", first)
	}
	again, err := f.prepareRoom(id)
	if err != nil || !again.GetWindowEndTime().AsTime().Equal(first.GetWindowEndTime().AsTime()) {
		t.Fatalf("prepare again = %v, %v", again, err)
	}
	if n, at := f.closeJobs(id); n != 1 || !at.Equal(consultEnd) {
		t.Errorf("%d closing jobs, at %s; want one at the end", n, at)
	}
	if got := f.provider.created(); len(got) != 0 {
		t.Errorf("preparing created meetings %v: no meeting may idle before the first join", got)
	}

	f.setClock(windowStart)
	f.mustJoin(doctor, id)
	if r, err := f.prepareRoom(id); err != nil || !r.GetMeetingStarted() {
		t.Errorf("room after a join = %v, %v", r, err)
	}
	if n, _ := f.closeJobs(id); n != 1 {
		t.Errorf("%d closing jobs after a join", n)
	}
}
