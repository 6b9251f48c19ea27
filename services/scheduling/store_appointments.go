package scheduling

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/protobuf/types/known/timestamppb"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/pg"
)

// appointmentStore reads and writes appointments and their append-only history.
// A missing appointment is pgx.ErrNoRows, wrapped.
type appointmentStore struct{}

const appointmentColumns = `id::text, coalesce(slot_id::text, ''), doctor_id::text, patient_id::text, state,
	reason, reason_sealed, start_at, end_at, created_at, updated_at, price_cents, refund_cents, hold_until, answer_by,
	patient_joined_at, doctor_joined_at, no_show, idempotency_key`

func scanAppointment(row pgx.Row) (appointment, error) {
	var a appointment
	err := row.Scan(&a.id, &a.slotID, &a.doctorID, &a.patientID, &a.state, &a.legacyReason, &a.sealedReason,
		&a.start, &a.end, &a.created, &a.updated, &a.price, &a.refund, &a.holdUntil, &a.answerBy,
		&a.patientJoined, &a.doctorJoined, &a.noShow, &a.idempotencyKey)
	return a, err
}

// get reads an appointment.
func (appointmentStore) get(ctx context.Context, q pg.Querier, id string) (appointment, error) {
	a, err := scanAppointment(q.QueryRow(ctx, `SELECT `+appointmentColumns+` FROM appointments WHERE id = $1`, id))
	if err != nil {
		return a, fmt.Errorf("get appointment: %w", err)
	}
	return a, nil
}

// getForUpdate reads an appointment and locks it until the transaction q ends.
func (appointmentStore) getForUpdate(ctx context.Context, q pg.Querier, id string) (appointment, error) {
	a, err := scanAppointment(q.QueryRow(ctx, `SELECT `+appointmentColumns+` FROM appointments WHERE id = $1 FOR UPDATE`, id))
	if err != nil {
		return a, fmt.Errorf("get appointment for update: %w", err)
	}
	return a, nil
}

// getByPatientKey reads the appointment a patient's booking with this idempotency key
// created.
func (appointmentStore) getByPatientKey(ctx context.Context, q pg.Querier, patientID, key string) (appointment, error) {
	a, err := scanAppointment(q.QueryRow(ctx, `SELECT `+appointmentColumns+` FROM appointments
		WHERE patient_id = $1 AND idempotency_key = $2`, patientID, key))
	if err != nil {
		return a, fmt.Errorf("get appointment by idempotency key: %w", err)
	}
	return a, nil
}

// lockPatient serialises, until the transaction q ends, the bookings of one patient:
// the cap on unpaid holds is counted and kept under this lock.
func (appointmentStore) lockPatient(ctx context.Context, q pg.Querier, patientID string) error {
	if _, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('scheduling.book:' || $1::text, 0))`, patientID); err != nil {
		return fmt.Errorf("lock the patient's bookings: %w", err)
	}
	return nil
}

// countPending counts a patient's bookings waiting for payment whose hold is not over
// at now.
func (appointmentStore) countPending(ctx context.Context, q pg.Querier, patientID string, now time.Time) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM appointments
		WHERE patient_id = $1 AND state = 'PENDING_PAYMENT' AND hold_until > $2`, patientID, now).Scan(&n); err != nil {
		return 0, fmt.Errorf("count pending appointments: %w", err)
	}
	return n, nil
}

// errIdempotencyRace is what insert returns when a concurrent booking with the same
// patient and key committed first; the booking then answers as that one's retry.
var errIdempotencyRace = errors.New("a concurrent booking with this idempotency key was inserted first")

// insert adds a new appointment created at now, with its sealed reason (never the
// reason in clear), and fills in its creation and update times. The constraints decide booking races: a slot already held by a live
// appointment is ReasonSlotTaken, an overlapping live appointment of the patient
// ReasonPatientBusy, and a key a concurrent booking used errIdempotencyRace.
func (appointmentStore) insert(ctx context.Context, q pg.Querier, a *appointment, now time.Time) error {
	err := q.QueryRow(ctx, `INSERT INTO appointments (id, slot_id, start_at, end_at, doctor_id, patient_id, state,
			price_cents, reason_sealed, idempotency_key, hold_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING created_at, updated_at`,
		a.id, a.slotID, a.start, a.end, a.doctorID, a.patientID, a.state, a.price, a.sealedReason, a.idempotencyKey,
		a.holdUntil, now).Scan(&a.created, &a.updated)
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch pgErr.ConstraintName {
		case "appointments_one_live_per_slot":
			return ReasonSlotTaken.New("another patient booked this slot first; choose another slot")
		case "appointments_patient_no_overlap":
			return ReasonPatientBusy.New("you already have an appointment at an overlapping time")
		case "appointments_patient_key_idx":
			return errIdempotencyRace
		}
	}
	if err != nil {
		return fmt.Errorf("insert appointment: %w", err)
	}
	return nil
}

// saveState writes a locked appointment's state, refund and answer deadline as a holds
// them, at now, and sets a's update time.
func (appointmentStore) saveState(ctx context.Context, q pg.Querier, a *appointment, now time.Time) error {
	err := q.QueryRow(ctx, `UPDATE appointments SET state = $2, refund_cents = $3, answer_by = $4, updated_at = $5
		WHERE id = $1 RETURNING updated_at`, a.id, a.state, a.refund, a.answerBy, now).Scan(&a.updated)
	if err != nil {
		return fmt.Errorf("save appointment state: %w", err)
	}
	return nil
}

// refundInFull sets an appointment's refund to its whole price unless it already was,
// and reports whether it changed it: of two concurrent callers, one does.
func (appointmentStore) refundInFull(ctx context.Context, q pg.Querier, id string, now time.Time) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE appointments SET refund_cents = price_cents, updated_at = $2
		WHERE id = $1 AND refund_cents < price_cents`, id, now)
	if err != nil {
		return false, fmt.Errorf("refund appointment in full: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// markJoined records the first time the appointment's patient (or doctor) joined its
// room; later joins keep that time.
func (appointmentStore) markJoined(ctx context.Context, q pg.Querier, id string, doctor bool, at time.Time) error {
	query := `UPDATE appointments SET patient_joined_at = coalesce(patient_joined_at, $2) WHERE id = $1`
	if doctor {
		query = `UPDATE appointments SET doctor_joined_at = coalesce(doctor_joined_at, $2) WHERE id = $1`
	}
	if _, err := q.Exec(ctx, query, id, at); err != nil {
		return fmt.Errorf("mark appointment joined: %w", err)
	}
	return nil
}

// markNoShow flags an appointment whose window ended with nobody in the room.
func (appointmentStore) markNoShow(ctx context.Context, q pg.Querier, id string, now time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE appointments SET no_show = true, updated_at = $2 WHERE id = $1`, id, now); err != nil {
		return fmt.Errorf("mark appointment no-show: %w", err)
	}
	return nil
}

// appointmentFilter selects one participant's appointments for a page of a listing.
type appointmentFilter struct {
	userID   string
	asDoctor bool       // the user is the doctor, else the patient
	states   []string   // any state when empty
	from, to *time.Time // start_at in [from, to), unbounded where nil
	// The page follows the appointment (after, afterID) in (start_at, id) order.
	after   *time.Time
	afterID *string
	limit   int
}

// list reads a participant's appointments by (start_at, id).
func (appointmentStore) list(ctx context.Context, q pg.Querier, f appointmentFilter) ([]appointment, error) {
	// Two texts rather than one with a condition on the role, so each uses its index.
	column := "patient_id"
	if f.asDoctor {
		column = "doctor_id"
	}
	var states []string
	if len(f.states) > 0 {
		states = f.states
	}
	rows, err := q.Query(ctx, `SELECT `+appointmentColumns+` FROM appointments
		WHERE `+column+` = $1
		  AND ($2::text[] IS NULL OR state = ANY($2))
		  AND ($3::timestamptz IS NULL OR start_at >= $3)
		  AND ($4::timestamptz IS NULL OR start_at < $4)
		  AND ($5::timestamptz IS NULL OR (start_at, id) > ($5, $6::uuid))
		ORDER BY start_at, id LIMIT $7`, f.userID, states, f.from, f.to, f.after, f.afterID, f.limit)
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (appointment, error) { return scanAppointment(row) })
	if err != nil {
		return nil, fmt.Errorf("list appointments: %w", err)
	}
	return list, nil
}

// appendEvent adds an entry, at the given time, to an appointment's history: the
// system's phrase in clear, a patient's or doctor's text sealed.
func (appointmentStore) appendEvent(ctx context.Context, q pg.Querier, apptID string, e event, at time.Time) error {
	nullable := func(v string) *string {
		if v == "" {
			return nil
		}
		return &v
	}
	_, err := q.Exec(ctx, `INSERT INTO appointment_history (appointment_id, kind, from_state, to_state, actor_id, actor_role,
			reason, reason_sealed, at, actor_client_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		apptID, e.kind, nullable(e.from), nullable(e.to), nullable(e.who.id), e.who.role, e.why.phrase, e.why.sealed, at,
		nullable(e.who.clientID))
	if err != nil {
		return fmt.Errorf("append appointment event %s: %w", e.kind, err)
	}
	return nil
}

// storedEvent is one history entry as stored: the reason in the event is what the
// reason column holds in clear (a system phrase, or a text not sealed yet); sealed is
// the sealed reason, if any.
type storedEvent struct {
	*schedulingv1.AppointmentEvent
	sealed []byte
}

// history reads an appointment's events, oldest first.
func (appointmentStore) history(ctx context.Context, q pg.Querier, id string) ([]storedEvent, error) {
	rows, err := q.Query(ctx, `SELECT kind, coalesce(from_state, ''), coalesce(to_state, ''), coalesce(actor_id::text, ''),
		actor_role, reason, reason_sealed, at, coalesce(actor_client_id::text, '')
		FROM appointment_history WHERE appointment_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("read appointment history: %w", err)
	}
	events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storedEvent, error) {
		var e schedulingv1.AppointmentEvent
		var sealed []byte
		var from, to string
		var at time.Time
		if err := row.Scan(&e.Kind, &from, &to, &e.ActorId, &e.ActorRole, &e.Reason, &sealed, &at, &e.ActorClientId); err != nil {
			return storedEvent{}, err
		}
		if from != "" {
			e.FromState = stateProto(from)
		}
		if to != "" {
			e.ToState = stateProto(to)
		}
		e.Time = timestamppb.New(at)
		return storedEvent{&e, sealed}, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read appointment history: %w", err)
	}
	return events, nil
}

// enteredFrom returns the state an appointment was in when it last entered state ("" if
// it never did).
func (appointmentStore) enteredFrom(ctx context.Context, q pg.Querier, id, state string) (string, error) {
	var from string
	err := q.QueryRow(ctx, `SELECT coalesce(from_state, '') FROM appointment_history
		WHERE appointment_id = $1 AND to_state = $2 ORDER BY id DESC LIMIT 1`, id, state).Scan(&from)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read state before %s: %w", state, err)
	}
	return from, nil
}

// notStarted lists the ids of a doctor's live appointments that start after now.
func (appointmentStore) notStarted(ctx context.Context, q pg.Querier, doctorID string, now time.Time) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT id::text FROM appointments
		WHERE doctor_id = $1 AND start_at > $2 AND state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED')
		ORDER BY start_at, id`, doctorID, now)
	if err != nil {
		return nil, fmt.Errorf("list the doctor's appointments not started: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the doctor's appointments not started: %w", err)
	}
	return ids, nil
}

// plainText is a text written in clear before texts were sealed: an appointment's
// reason (event 0) or the reason of a patient's or doctor's history event.
type plainText struct {
	appointmentID string
	event         int64 // appointment_history.id; 0 for the appointment's own reason
	kind          string
	text          string
}

// plainReasons reads up to limit appointments whose reason is still in clear, by id,
// after the appointment afterID ("" from the first).
func (appointmentStore) plainReasons(ctx context.Context, q pg.Querier, afterID string, limit int) ([]plainText, error) {
	var after *string
	if afterID != "" {
		after = &afterID
	}
	rows, err := q.Query(ctx, `SELECT id::text, reason FROM appointments
		WHERE reason <> '' AND ($1::uuid IS NULL OR id > $1::uuid) ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read reasons in clear: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (plainText, error) {
		var p plainText
		return p, row.Scan(&p.appointmentID, &p.text)
	})
	if err != nil {
		return nil, fmt.Errorf("read reasons in clear: %w", err)
	}
	return list, nil
}

// sealReason replaces an appointment's reason in clear with its sealed form, in one
// statement, and reports whether it did (not when the row no longer holds text).
func (appointmentStore) sealReason(ctx context.Context, q pg.Querier, p plainText, sealed []byte) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE appointments SET reason = '', reason_sealed = $3
		WHERE id = $1 AND reason = $2 AND reason_sealed IS NULL`, p.appointmentID, p.text, sealed)
	if err != nil {
		return false, fmt.Errorf("seal appointment reason: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// plainEventReasons reads up to limit history events of patients and doctors whose
// reason is still in clear, by id, after the event afterID. The system's own phrases
// stay in clear.
func (appointmentStore) plainEventReasons(ctx context.Context, q pg.Querier, afterID int64, limit int) ([]plainText, error) {
	rows, err := q.Query(ctx, `SELECT id, appointment_id::text, kind, reason FROM appointment_history
		WHERE reason <> '' AND actor_role <> 'system' AND id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read event reasons in clear: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (plainText, error) {
		var p plainText
		return p, row.Scan(&p.event, &p.appointmentID, &p.kind, &p.text)
	})
	if err != nil {
		return nil, fmt.Errorf("read event reasons in clear: %w", err)
	}
	return list, nil
}

// sealEventReason replaces a history event's reason in clear with its sealed form, in
// one statement (the one change the append-only history allows), and reports whether
// it did.
func (appointmentStore) sealEventReason(ctx context.Context, q pg.Querier, p plainText, sealed []byte) (bool, error) {
	tag, err := q.Exec(ctx, `UPDATE appointment_history SET reason = '', reason_sealed = $3
		WHERE id = $1 AND reason = $2 AND reason_sealed IS NULL`, p.event, p.text, sealed)
	if err != nil {
		return false, fmt.Errorf("seal event reason: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// sagaHealth is what the metrics report of the live appointments: how many are in each
// live state, and by how many seconds the oldest overdue hold and answer are late (0
// when none is).
type sagaHealth struct {
	pendingPayment, awaitingDoctor, confirmed int64
	holdOverdue, answerOverdue                float64
}

// health reads the saga's health at now.
func (appointmentStore) health(ctx context.Context, q pg.Querier, now time.Time) (sagaHealth, error) {
	var h sagaHealth
	err := q.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE state = 'PENDING_PAYMENT'),
		       count(*) FILTER (WHERE state = 'AWAITING_DOCTOR'),
		       count(*) FILTER (WHERE state = 'CONFIRMED'),
		       COALESCE(EXTRACT(EPOCH FROM $1::timestamptz -
		           min(hold_until) FILTER (WHERE state = 'PENDING_PAYMENT' AND hold_until < $1)), 0)::float8,
		       COALESCE(EXTRACT(EPOCH FROM $1::timestamptz -
		           min(answer_by) FILTER (WHERE state = 'AWAITING_DOCTOR' AND answer_by < $1)), 0)::float8
		FROM appointments
		WHERE state IN ('PENDING_PAYMENT', 'AWAITING_DOCTOR', 'CONFIRMED')`, now).
		Scan(&h.pendingPayment, &h.awaitingDoctor, &h.confirmed, &h.holdOverdue, &h.answerOverdue)
	if err != nil {
		return h, fmt.Errorf("saga health: %w", err)
	}
	return h, nil
}
