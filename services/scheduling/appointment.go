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
	id, slotID, doctorID, patientID, state, reason string
	start, end, created, updated                   time.Time
	price, refund                                  int64
	holdUntil, answerBy                            *time.Time
	patientJoined, doctorJoined                    *time.Time
	noShow                                         bool
	idempotencyKey                                 *string
}

const appointmentColumns = `id::text, coalesce(slot_id::text, ''), doctor_id::text, patient_id::text, state, reason,
	start_at, end_at, created_at, updated_at, price_cents, refund_cents, hold_until, answer_by,
	patient_joined_at, doctor_joined_at, no_show, idempotency_key`

func scanAppointment(row pgx.Row) (appointment, error) {
	var a appointment
	err := row.Scan(&a.id, &a.slotID, &a.doctorID, &a.patientID, &a.state, &a.reason,
		&a.start, &a.end, &a.created, &a.updated, &a.price, &a.refund, &a.holdUntil, &a.answerBy,
		&a.patientJoined, &a.doctorJoined, &a.noShow, &a.idempotencyKey)
	return a, err
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
		out.JoinPath = "/v1/appointments/" + a.id + "/join"
	}
	return out
}

var errAppointmentNotFound = errs.NotFound("APPOINTMENT_NOT_FOUND", "you have no appointment with this id")

// queryRower is the pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readAppointment reads the one appointment matching where (e.g. "id = $1"), locked
// FOR UPDATE when lock is set.
func readAppointment(ctx context.Context, q queryRower, lock bool, where string, args ...any) (appointment, error) {
	query := `SELECT ` + appointmentColumns + ` FROM appointments WHERE ` + where
	if lock {
		query += ` FOR UPDATE`
	}
	return scanAppointment(q.QueryRow(ctx, query, args...))
}

// appointmentFor reads an appointment for its patient or doctor, or for another service.
// Anyone else gets NotFound, so ids reveal nothing.
func (s *Service) appointmentFor(ctx context.Context, q queryRower, id string, lock bool) (appointment, error) {
	a, err := readAppointment(ctx, q, lock, "id = $1", id)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errAppointmentNotFound
	}
	if err != nil {
		return a, errs.Internal("scheduling: appointmentFor", err)
	}
	p, _ := authn.FromContext(ctx)
	if p.Role != accessv1.Role_ROLE_SERVICE && p.UserID != a.patientID && p.UserID != a.doctorID {
		return appointment{}, errAppointmentNotFound
	}
	return a, nil
}

// actor is who causes an event.
type actor struct{ id, role string }

var system = actor{role: "system"}

// actorOf names the caller: a patient, a doctor, or the system (another service or a job).
func actorOf(ctx context.Context) actor {
	p, ok := authn.FromContext(ctx)
	switch {
	case !ok:
		return system
	case p.Role == accessv1.Role_ROLE_PATIENT:
		return actor{p.UserID, "patient"}
	case p.Role == accessv1.Role_ROLE_DOCTOR:
		return actor{p.UserID, "doctor"}
	}
	return system
}

// event is one history entry.
type event struct {
	kind     string
	from, to string // "" for events that change no state
	who      actor
	reason   string
}

func (s *Service) record(ctx context.Context, tx pgx.Tx, apptID string, e event) error {
	var who *string
	if e.who.id != "" {
		who = &e.who.id
	}
	nullable := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	_, err := tx.Exec(ctx, `INSERT INTO appointment_history (appointment_id, kind, from_state, to_state, actor_id, actor_role, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, apptID, e.kind, nullable(e.from), nullable(e.to), who, e.who.role, e.reason, s.now())
	return err
}

// transition moves a locked appointment to a new state and records why. set holds
// extra assignments for the same UPDATE (e.g. "refund_cents = $3"), with their args.
func (s *Service) transition(ctx context.Context, tx pgx.Tx, a *appointment, to, kind string, who actor, reason, set string, args ...any) error {
	q := `UPDATE appointments SET state = $2, updated_at = $3`
	if set != "" {
		q += `, ` + set
	}
	q += ` WHERE id = $1 RETURNING updated_at`
	if err := tx.QueryRow(ctx, q, append([]any{a.id, to, s.now()}, args...)...).Scan(&a.updated); err != nil {
		return err
	}
	from := a.state
	a.state = to
	return s.record(ctx, tx, a.id, event{kind: kind, from: from, to: to, who: who, reason: reason})
}

// illegal is the error for a transition the appointment's state does not allow.
func illegal(a appointment, what string) error {
	return errs.FailedPrecondition("ILLEGAL_TRANSITION", "cannot "+what+" an appointment that is "+a.state)
}

// history reads an appointment's events, oldest first.
func (s *Service) history(ctx context.Context, id string) ([]*schedulingv1.AppointmentEvent, error) {
	rows, err := s.db.Query(ctx, `SELECT kind, coalesce(from_state, ''), coalesce(to_state, ''), coalesce(actor_id::text, ''),
		actor_role, reason, at FROM appointment_history WHERE appointment_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*schedulingv1.AppointmentEvent, error) {
		var e schedulingv1.AppointmentEvent
		var from, to string
		var at time.Time
		if err := row.Scan(&e.Kind, &from, &to, &e.ActorId, &e.ActorRole, &e.Reason, &at); err != nil {
			return nil, err
		}
		if from != "" {
			e.FromState = stateProto(from)
		}
		if to != "" {
			e.ToState = stateProto(to)
		}
		e.Time = timestamppb.New(at)
		return &e, nil
	})
}

// inTx runs f in a transaction and turns unexpected errors into Internal.
func (s *Service) inTx(ctx context.Context, f func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.db, f)
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err() // mapped to Canceled / DeadlineExceeded at the edge
	}
	return errs.Internal("scheduling: inTx", err)
}
