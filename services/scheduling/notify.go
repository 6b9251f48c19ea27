package scheduling

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
)

// Who is told what, and when. Every message is a "scheduling.notify" job committed in
// the transaction of the transition it tells about (a rollback tells nobody), keyed by
// the appointment, the event and the recipient, so a retried job or transition sends
// it once:
//
//	→ AWAITING_DOCTOR   doctor: awaits your answer (deadline); patient: payment received
//	                    + scheduling.remind at answer_by − AnswerReminderLead (doctor)
//	→ CONFIRMED         patient: confirmed (room link)
//	                    + scheduling.remind 24 h and 15 min before the start (both)
//	→ REFUSED           patient: refused by the doctor (or the doctor suspended), or not
//	                    answered in time (full refund)
//	→ EXPIRED           patient: the hold ended unpaid
//	→ CANCELLED         doctor, when the patient cancelled a paid booking: with the
//	                    justification, opened only when the job runs
//
// A reminder (scheduling.remind) re-reads the appointment when it is due and sends only
// if the state it reminds of still holds. The booking's PIX code and the refund's
// completion are told by payments, which has them.

type notifyArgs struct{ notify.Request }

func (notifyArgs) Kind() string { return "scheduling.notify" }

type remindArgs struct {
	AppointmentID string `json:"appointment_id"`
	// Event is the reminder, by its enum name: EVENT_REMINDER_24H, EVENT_REMINDER_15MIN
	// or EVENT_ANSWER_DEADLINE_NEAR.
	Event string `json:"event"`
	// To is "patient" or "doctor".
	To string `json:"to"`
}

func (remindArgs) Kind() string { return "scheduling.remind" }

// Reminders before the start of a confirmed consultation.
const (
	reminderDayBefore = 24 * time.Hour
	reminderSoon      = 15 * time.Minute
)

// Short names of the events in idempotency keys.
var eventKeys = map[notificationsv1.Event]string{
	notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER: "awaiting",
	notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR:  "answer_deadline_near",
	notificationsv1.Event_EVENT_PAYMENT_RECEIVED:      "paid",
	notificationsv1.Event_EVENT_BOOKING_CONFIRMED:     "confirmed",
	notificationsv1.Event_EVENT_BOOKING_REFUSED:       "refused",
	notificationsv1.Event_EVENT_BOOKING_NOT_ANSWERED:  "not_answered",
	notificationsv1.Event_EVENT_BOOKING_EXPIRED:       "expired",
	notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT:  "cancelled",
	notificationsv1.Event_EVENT_REMINDER_24H:          "reminder_24h",
	notificationsv1.Event_EVENT_REMINDER_15MIN:        "reminder_15min",
}

// notifyKey is the idempotency key of an appointment's event for one recipient,
// e.g. "appt-<id>-confirmed-patient".
func notifyKey(apptID string, e notificationsv1.Event, to string) string {
	return "appt-" + apptID + "-" + eventKeys[e] + "-" + to
}

// recipient is the account id of the appointment's patient or doctor.
func (a appointment) recipient(to string) string {
	if to == "doctor" {
		return a.doctorID
	}
	return a.patientID
}

// notice builds the request telling to ("patient" or "doctor") about e.
func (a appointment) notice(e notificationsv1.Event, to string) *notificationsv1.NotifyRequest {
	d := &notificationsv1.AppointmentDetail{
		AppointmentId: a.id, PatientId: a.patientID, DoctorId: a.doctorID,
		StartTime: timestamppb.New(a.start), PriceCents: a.price, AnswerBy: optTime(a.answerBy),
	}
	if a.refund > 0 {
		d.RefundCents, d.RefundMethod = a.refund, "PIX"
	}
	if a.state == stateConfirmed {
		d.JoinPath = joinPath(a.id)
	}
	return &notificationsv1.NotifyRequest{
		IdempotencyKey: notifyKey(a.id, e, to), Event: e, RecipientId: a.recipient(to),
		Detail: &notificationsv1.NotifyRequest_Appointment{Appointment: d},
	}
}

// tell commits the job telling to about e, in tx.
func (s *Service) tell(ctx context.Context, tx pgx.Tx, a *appointment, e notificationsv1.Event, to string) error {
	return s.enqueue(ctx, tx, notifyArgs{notify.Request{Msg: a.notice(e, to)}}, time.Time{})
}

// remind schedules a reminder at at, unless that moment has passed.
func (s *Service) remind(ctx context.Context, tx pgx.Tx, a *appointment, e notificationsv1.Event, to string, at time.Time) error {
	if !at.After(s.now()) {
		return nil
	}
	return s.enqueue(ctx, tx, remindArgs{AppointmentID: a.id, Event: e.String(), To: to}, at)
}

// announce commits, in the transaction of a's transition from from, the notifications
// and reminders it calls for (see the table above).
func (s *Service) announce(ctx context.Context, tx pgx.Tx, a *appointment, from string, who actor) error {
	type job struct {
		e  notificationsv1.Event
		to string
		at time.Time // a reminder's time; zero: tell now
	}
	var jobs []job
	switch a.state {
	case stateAwaiting:
		jobs = []job{{e: notificationsv1.Event_EVENT_BOOKING_AWAITS_ANSWER, to: "doctor"},
			{e: notificationsv1.Event_EVENT_PAYMENT_RECEIVED, to: "patient"}}
		if a.answerBy != nil && s.cfg.AnswerReminderLead > 0 {
			jobs = append(jobs, job{notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR, "doctor", a.answerBy.Add(-s.cfg.AnswerReminderLead)})
		}
	case stateConfirmed:
		jobs = []job{{e: notificationsv1.Event_EVENT_BOOKING_CONFIRMED, to: "patient"},
			{notificationsv1.Event_EVENT_REMINDER_24H, "patient", a.start.Add(-reminderDayBefore)},
			{notificationsv1.Event_EVENT_REMINDER_24H, "doctor", a.start.Add(-reminderDayBefore)},
			{notificationsv1.Event_EVENT_REMINDER_15MIN, "patient", a.start.Add(-reminderSoon)},
			{notificationsv1.Event_EVENT_REMINDER_15MIN, "doctor", a.start.Add(-reminderSoon)}}
	case stateRefused:
		e := notificationsv1.Event_EVENT_BOOKING_REFUSED // by the doctor, or an operator's suspension
		if who == system {
			e = notificationsv1.Event_EVENT_BOOKING_NOT_ANSWERED
		}
		jobs = []job{{e: e, to: "patient"}}
	case stateExpired:
		jobs = []job{{e: notificationsv1.Event_EVENT_BOOKING_EXPIRED, to: "patient"}}
	case stateCancelled:
		// A doctor hears of a booking only once it is paid, so only then of its end.
		if from == stateAwaiting || from == stateConfirmed {
			jobs = []job{{e: notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT, to: "doctor"}}
		}
	}
	for _, j := range jobs {
		var err error
		if j.at.IsZero() {
			err = s.tell(ctx, tx, a, j.e, j.to)
		} else {
			err = s.remind(ctx, tx, a, j.e, j.to, j.at)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// remindStates is the state in which each reminder still applies.
var remindStates = map[notificationsv1.Event]string{
	notificationsv1.Event_EVENT_ANSWER_DEADLINE_NEAR: stateAwaiting,
	notificationsv1.Event_EVENT_REMINDER_24H:         stateConfirmed,
	notificationsv1.Event_EVENT_REMINDER_15MIN:       stateConfirmed,
}

// reminder re-reads the appointment when a reminder is due and returns the message,
// or nil when the reminder no longer applies: an appointment cancelled, answered or
// refused meanwhile is not reminded of.
func (s *Service) reminder(ctx context.Context, r remindArgs) (*notificationsv1.NotifyRequest, error) {
	a, err := s.load(ctx, r.AppointmentID)
	if err != nil {
		return nil, err
	}
	e := notificationsv1.Event(notificationsv1.Event_value[r.Event])
	if want, ok := remindStates[e]; !ok || a.state != want || a.noShow {
		return nil, nil
	}
	return a.notice(e, r.To), nil
}

func (s *Service) sendReminder(ctx context.Context, r remindArgs) error {
	m, err := s.reminder(ctx, r)
	if err != nil || m == nil {
		return err
	}
	return s.sendNotice(ctx, notify.Request{Msg: m})
}

// sendNotice hands a notification to the notifications service.
func (s *Service) sendNotice(ctx context.Context, r notify.Request) error {
	if err := s.withJustification(ctx, r.Msg); err != nil {
		return err
	}
	return notify.Send(ctx, s.notifications, s.log, r)
}

// withJustification adds to a patient's cancellation what they wrote, opened only when
// the message is sent, so the job table never holds it in clear.
func (s *Service) withJustification(ctx context.Context, m *notificationsv1.NotifyRequest) error {
	d := m.GetAppointment()
	if m.GetEvent() != notificationsv1.Event_EVENT_CANCELLED_BY_PATIENT || d.GetJustification() != "" {
		return nil
	}
	why, err := s.justification(ctx, d.GetAppointmentId())
	d.Justification = why
	return err
}

// justification is what the patient wrote when cancelling the appointment, in clear.
func (s *Service) justification(ctx context.Context, apptID string) (string, error) {
	events, err := s.appointments.history(ctx, s.db, apptID)
	if err != nil {
		return "", err
	}
	for i := len(events) - 1; i >= 0; i-- {
		if events[i].GetKind() == "cancelled" {
			if err := s.openEvents(ctx, apptID, events[i:i+1]); err != nil {
				return "", err
			}
			return events[i].GetReason(), nil
		}
	}
	return "", nil
}

func (s *Service) addNotifyWorkers(w *river.Workers) {
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[notifyArgs]) error {
		return s.sendNotice(ctx, j.Args.Request)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[remindArgs]) error {
		return s.sendReminder(ctx, j.Args)
	}))
}
