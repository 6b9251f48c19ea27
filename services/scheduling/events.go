package scheduling

import (
	"context"
	"time"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
)

// Partner events. Every appointment transition (the booking too) commits, in its
// transaction, a scheduling.partner_event job carrying one PartnerEvent; its worker
// hands it to clinics (PublishEvent), which fans it out to the endpoints of the clinics
// the doctor is affiliated with. A rollback publishes nothing; a retried transition or
// job carries the same event id, which clinics stores once. The event says when and
// what, never who the patient is or why.
//
// The job is committed for every transition, whether or not a clinic holds the doctor:
// which clinics receive an event is decided when it reaches clinics (the doctor's
// ACTIVE affiliations then), so an affiliation accepted between the transition and the
// publish still receives it. Clinics drops, without writing, the event of a doctor no
// clinic holds or has invited (clinics' publish).

// partnerEventArgs is the job's args: the event, as protojson.
type partnerEventArgs struct {
	Event *clinicsv1.PartnerEvent
}

func (partnerEventArgs) Kind() string { return "scheduling.partner_event" }

// MarshalJSON writes the event as protojson, so the job table shows what is sent.
func (a partnerEventArgs) MarshalJSON() ([]byte, error) { return protojson.Marshal(a.Event) }

// UnmarshalJSON reads the event, ignoring fields a newer replica added.
func (a *partnerEventArgs) UnmarshalJSON(b []byte) error {
	a.Event = new(clinicsv1.PartnerEvent)
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, a.Event)
}

// partnerEventTypes is the event of reaching each state.
var partnerEventTypes = map[string]clinicsv1.EventType{
	statePending:   clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_BOOKED,
	stateAwaiting:  clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_PAID,
	stateConfirmed: clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CONFIRMED,
	stateCancelled: clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_CANCELLED,
	stateCompleted: clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_COMPLETED,
	stateRefused:   clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_REFUSED,
	stateExpired:   clinicsv1.EventType_EVENT_TYPE_APPOINTMENT_EXPIRED,
}

// partnerSequence is the place of the event leaving a state among the appointment's
// events. An appointment moves along one path, PENDING_PAYMENT → AWAITING_DOCTOR →
// CONFIRMED, and leaves it once for an end state, so the state left says how many
// events came before: the booking is 1, and the numbers run without gaps.
var partnerSequence = map[string]uint32{"": 1, statePending: 2, stateAwaiting: 3, stateConfirmed: 4}

// eventNamespace derives the events' ids: UUID v5 of "<appointment>/<state reached>"
// (each state is reached once).
var eventNamespace = uuid.MustParse("4b2f2c8e-2a6b-5d0e-9a51-6f1c3c7d9e20")

// partnerEvent is the event of a's move from from ("" for the booking) to its state.
func (a appointment) partnerEvent(from string, at time.Time) *clinicsv1.PartnerEvent {
	seq := partnerSequence[from]
	return &clinicsv1.PartnerEvent{
		EventId: uuid.NewSHA1(eventNamespace, []byte(a.id+"/"+a.state)).String(), Type: partnerEventTypes[a.state],
		OccurTime: timestamppb.New(at), Sequence: seq, AppointmentId: a.id, DoctorId: a.doctorID,
		StartTime: timestamppb.New(a.start), EndTime: timestamppb.New(a.end), State: stateProto(a.state),
	}
}

// emitPartnerEvent commits, in tx, the job publishing a's move from from to its state.
func (s *Service) emitPartnerEvent(ctx context.Context, tx pgx.Tx, a *appointment, from string) error {
	job, ok := s.partnerEventJob(a, from)
	if !ok {
		return nil
	}
	return s.enqueue(ctx, tx, job.Args, time.Time{})
}

// partnerEventJob is the job publishing a's move from from to its state, for a
// transaction that inserts it with others; false when that state has no event.
func (s *Service) partnerEventJob(a *appointment, from string) (river.InsertManyParams, bool) {
	if _, ok := partnerEventTypes[a.state]; !ok {
		return river.InsertManyParams{}, false
	}
	return river.InsertManyParams{Args: partnerEventArgs{Event: a.partnerEvent(from, s.now())}}, true
}

// publishPartnerEvent hands an event to clinics. An event clinics refuses for what it
// is would be refused again: the job is cancelled and logged. With no clinics client (a
// test stack without it) nothing is sent.
func (s *Service) publishPartnerEvent(ctx context.Context, ev *clinicsv1.PartnerEvent) error {
	if s.clinics == nil {
		return nil
	}
	_, err := s.clinics.PublishEvent(ctx, connect.NewRequest(&clinicsv1.PublishEventRequest{Event: ev}))
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodePermissionDenied:
		s.log.ErrorContext(ctx, "partner event refused; not retried", "event_id", ev.GetEventId(), "error", err.Error())
		return river.JobCancel(err)
	}
	return err
}

func (s *Service) addPartnerEventWorker(w *river.Workers) {
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[partnerEventArgs]) error {
		return s.publishPartnerEvent(ctx, j.Args.Event)
	}))
}
