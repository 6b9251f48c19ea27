package scheduling

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// Appointment states, as stored (the enum names without their prefix).
const (
	statePending   = "PENDING_PAYMENT"
	stateAwaiting  = "AWAITING_DOCTOR"
	stateConfirmed = "CONFIRMED"
	stateCompleted = "COMPLETED"
	stateExpired   = "EXPIRED"
	stateRefused   = "REFUSED"
	stateCancelled = "CANCELLED"
)

func stateProto(s string) schedulingv1.AppointmentState {
	return schedulingv1.AppointmentState(schedulingv1.AppointmentState_value["APPOINTMENT_STATE_"+s])
}

func stateName(s schedulingv1.AppointmentState) string {
	return s.String()[len("APPOINTMENT_STATE_"):]
}

// appointment is one row of the appointments table.
type appointment struct {
	id, slotID, doctorID, patientID, state string
	// reason is what the patient wrote, in clear: set at booking, or by openReason for
	// the appointment's patient and doctor; empty for anyone else.
	reason string
	// sealedReason is the reason as stored (reason_sealed); legacyReason is a reason
	// stored in clear before texts were sealed, until the seal job seals it.
	sealedReason                 []byte
	legacyReason                 string
	start, end, created, updated time.Time
	price, refund                int64
	holdUntil, answerBy          *time.Time
	patientJoined, doctorJoined  *time.Time
	noShow                       bool
	idempotencyKey               *string
}

func optTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func (a appointment) proto() *schedulingv1.Appointment {
	out := &schedulingv1.Appointment{
		Id: a.id, SlotId: a.slotID, DoctorId: a.doctorID, PatientId: a.patientID,
		StartTime: timestamppb.New(a.start), EndTime: timestamppb.New(a.end), State: stateProto(a.state),
		Price: &schedulingv1.Money{AmountCents: a.price, Currency: "BRL"}, Reason: a.reason,
		RefundCents: a.refund, NoShow: a.noShow,
		CreateTime: timestamppb.New(a.created), UpdateTime: timestamppb.New(a.updated),
	}
	if a.state == statePending {
		out.HoldExpireTime = optTime(a.holdUntil)
	}
	if a.state == stateAwaiting {
		out.AnswerDeadline = optTime(a.answerBy)
	}
	if a.state == stateConfirmed {
		out.JoinPath = joinPath(a.id)
	}
	return out
}

// joinPath is where the appointment's patient and doctor get the room's join info.
func joinPath(apptID string) string { return "/v1/appointments/" + apptID + "/join" }

var errAppointmentNotFound = ReasonAppointmentNotFound.New("you have no appointment with this id")

// appointmentFor reads an appointment for its patient or doctor, or for another service
// (locked until the transaction q ends when lock is set). Anyone else gets NotFound, so
// ids reveal nothing.
func (s *Service) appointmentFor(ctx context.Context, q pg.Querier, id string, lock bool) (appointment, error) {
	get := s.appointments.get
	if lock {
		get = s.appointments.getForUpdate
	}
	a, err := get(ctx, q, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errAppointmentNotFound
	}
	if err != nil {
		return a, errs.Internal("scheduling: read appointment", err)
	}
	p, _ := authn.FromContext(ctx)
	if p.Role != accessv1.Role_ROLE_SERVICE && p.UserID != a.patientID && p.UserID != a.doctorID && !clinicAdmitted(ctx, a.doctorID) {
		return appointment{}, errAppointmentNotFound
	}
	return a, nil
}

// actor is who causes an event: clientID names the OAuth client of a partner clinic
// (role clinic, id the clinic's) answering for a doctor.
type actor struct{ id, role, clientID string }

var system = actor{role: "system"}

// actorOf names the caller: a patient, a doctor, or the system (another service or a job).
func actorOf(ctx context.Context) actor {
	p, ok := authn.FromContext(ctx)
	switch {
	case !ok:
		return system
	case p.Role == accessv1.Role_ROLE_PATIENT:
		return actor{id: p.UserID, role: "patient"}
	case p.Role == accessv1.Role_ROLE_DOCTOR:
		return actor{id: p.UserID, role: "doctor"}
	case p.Role == accessv1.Role_ROLE_PARTNER:
		return actor{id: p.ClinicID, role: "clinic", clientID: p.ClientID}
	}
	return system
}

// event is one history entry.
type event struct {
	kind     string
	from, to string // "" for events that change no state
	who      actor
	why      note
}

// note is why an event happened: a fixed phrase of the system, kept in clear, or what
// a patient or doctor wrote, sealed (texts.go). The zero note says nothing.
type note struct {
	phrase string
	sealed []byte
}

// says is the system's own phrase.
func says(phrase string) note { return note{phrase: phrase} }

// record adds an event to an appointment's history.
func (s *Service) record(ctx context.Context, tx pgx.Tx, apptID string, e event) error {
	return s.appointments.appendEvent(ctx, tx, apptID, e, s.now())
}

// transition moves a locked appointment to a new state, records why, and commits the
// notifications it calls for (notify.go). Changes the caller made to a's refund or
// answer deadline are saved with it.
func (s *Service) transition(ctx context.Context, tx pgx.Tx, a *appointment, to, kind string, who actor, why note) error {
	from := a.state
	a.state = to
	if err := s.appointments.saveState(ctx, tx, a, s.now()); err != nil {
		return err
	}
	if err := s.record(ctx, tx, a.id, event{kind: kind, from: from, to: to, who: who, why: why}); err != nil {
		return err
	}
	return s.announce(ctx, tx, a, from, who)
}

// illegal is the error for a transition the appointment's state does not allow.
func illegal(a appointment, what string) error {
	return ReasonIllegalTransition.New("cannot " + what + " an appointment that is " + a.state)
}

// orInternal passes a declared error and the end of ctx through, and turns any other
// failure into Internal, naming op ("scheduling: what failed").
func orInternal(ctx context.Context, op string, err error) error {
	if _, ok := errors.AsType[*errs.Error](err); ok || err == nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // mapped to Canceled / DeadlineExceeded at the edge
	}
	return errs.Internal(op, err)
}
