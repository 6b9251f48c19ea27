package notifications

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/encoding/protojson"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// deliverArgs is the job, committed with the notification, that sends it.
type deliverArgs struct {
	NotificationID string `json:"notification_id"`
}

func (deliverArgs) Kind() string { return "notifications.deliver" }

// deliverOpts: none. A second job of one notification (a failed WhatsApp status queues
// one for the e-mail fallback, possibly while the first still runs) is harmless: jobs
// of one notification take turns (its lease), and each sends only what is not settled.
var deliverOpts *river.InsertOpts

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[deliverArgs]) error {
		return s.deliver(ctx, j.Args.NotificationID)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[pruneHeldArgs]) error {
		return s.pruneHeld(ctx)
	}))
	return w
}

// notify is Notify: it records the notification and its delivery job in one
// transaction, once per idempotency key. A repeat returns the first notification.
func (s *Service) notify(ctx context.Context, r *notificationsv1.NotifyRequest) (notification, error) {
	if err := checkDetail(r); err != nil {
		return notification{}, err
	}
	raw, err := protojson.Marshal(r)
	if err != nil {
		return notification{}, errs.Internal("notifications: encode request", err)
	}
	now := s.now()
	var out notification
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		n := notification{id: uuid.NewString(), key: r.GetIdempotencyKey(), event: r.GetEvent(), recipientID: r.GetRecipientId(),
			request: raw, status: notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING, created: now, scheduled: now}
		inserted, err := s.notifications.insert(ctx, tx, n)
		if err != nil {
			return err
		}
		if !inserted {
			first, err := s.notifications.byKey(ctx, tx, n.key)
			if err != nil {
				return err
			}
			if first.event != n.event || first.recipientID != n.recipientID {
				return ReasonIdempotencyKeyReused.New("the idempotency key was used for another event or recipient")
			}
			out = first
			return nil
		}
		if _, err := s.jobs.InsertTx(ctx, tx, deliverArgs{NotificationID: n.id}, deliverOpts); err != nil {
			return err
		}
		out = n
		return nil
	})
	if err != nil {
		if errs.Has(err, ReasonIdempotencyKeyReused) {
			return notification{}, err
		}
		return notification{}, errs.Internal("notifications: notify", err)
	}
	return out, nil
}

// checkDetail refuses a detail that is not the one the event takes.
func checkDetail(r *notificationsv1.NotifyRequest) error {
	var ok bool
	switch r.GetEvent() {
	case notificationsv1.Event_EVENT_SHARE_GRANTED, notificationsv1.Event_EVENT_SHARE_REVOKED:
		ok = r.GetShare() != nil
	case notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN, notificationsv1.Event_EVENT_PASSWORD_CHANGED,
		notificationsv1.Event_EVENT_MFA_ENABLED, notificationsv1.Event_EVENT_MFA_DISABLED,
		notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT, notificationsv1.Event_EVENT_EMAIL_CHANGE_REQUESTED:
		ok = r.GetSecurity() != nil
	case notificationsv1.Event_EVENT_EMAIL_VERIFICATION, notificationsv1.Event_EVENT_PASSWORD_RESET,
		notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION:
		ok = r.GetLink() != nil
	case notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST:
		ok = r.GetDigest() != nil
	case notificationsv1.Event_EVENT_DOCTOR_VERIFICATION:
		ok = r.GetVerification() != nil
	default:
		ok = r.GetAppointment() != nil
	}
	if !ok {
		return ReasonDetailMismatch.New("the detail does not fit the event " + r.GetEvent().String()).
			WithViolations(errs.Violation{Field: "detail", Description: "appointment events take appointment, share events share, " +
				"security events security, the read digest digest, account links link, doctor verification verification"})
	}
	return nil
}
