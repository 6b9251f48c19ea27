package notifications

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/services/notifications/whatsapp"
)

// Delivery is at least once to the provider. For each channel the job commits
// SENDING before calling the provider and the provider's message id after it answers;
// a channel found SENT, DELIVERED, READ or FAILED is never sent again, so a job that
// runs twice, or a duplicate job, sends nothing more. What remains is the window
// between the provider's acceptance and the commit of its id (a crash, a lost
// connection to PostgreSQL, a timeout after the provider accepted): the next attempt
// finds SENDING and sends once more. Then:
//
//   - SMTP: the copy carries the same Message-ID (<notification-id>-email@healthcore),
//     which mailbox providers and clients use to drop or thread duplicates;
//   - SES v2: SendEmail takes no idempotency key — the copy is a second e-mail;
//   - WhatsApp Cloud API: no idempotency key either — the copy is a second message.
//
// Each such window yields at most one extra message per attempt that dies inside it.

// saoPaulo is the time zone of patients and of doctors whose directory profile has none.
var saoPaulo = mustLoad("America/Sao_Paulo")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// deliver is the notifications.deliver job.
func (s *Service) deliver(ctx context.Context, id string) error {
	now := s.now()
	ok, err := s.notifications.acquireLease(ctx, s.db, id, now, now.Add(leaseFor))
	if err != nil {
		return err
	}
	if !ok {
		return river.JobSnooze(2 * time.Second) // another job of this notification runs
	}
	defer func() {
		if err := s.notifications.releaseLease(context.WithoutCancel(ctx), s.db, id); err != nil {
			s.log.WarnContext(ctx, "notification lease not released; it expires", "notification_id", id, "error", err)
		}
	}()
	return s.deliverLeased(ctx, id)
}

// leaseFor is how long a delivery job holds its notification: longer than one job's
// attempt may run (jobs.Options.JobTimeout, 1 min by default).
const leaseFor = 2 * time.Minute

// deliverLeased delivers a notification whose lease the caller holds.
func (s *Service) deliverLeased(ctx context.Context, id string) error {
	n, err := s.notifications.get(ctx, s.db, id, false)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if n.status == notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SUPPRESSED {
		return nil
	}
	now := s.now()
	if now.Before(n.scheduled) {
		return river.JobSnooze(n.scheduled.Sub(now))
	}
	var req notificationsv1.NotifyRequest
	if err := protojson.Unmarshal(n.request, &req); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	contact, err := s.contact(ctx, n.recipientID)
	if errs.Has(err, ReasonAccountNotFound) {
		return s.notifications.setOutcome(ctx, s.db, id, notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SUPPRESSED, "", nil)
	}
	if err != nil {
		return err
	}
	if to := req.GetLink().GetEmail(); to != "" { // the new address of an e-mail change
		contact = proto.CloneOf(contact)
		contact.Email = to
	}
	p, err := s.preferences.get(ctx, s.db, n.recipientID, false)
	if err != nil {
		return err
	}
	if n.event == notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST && !p.readDigest {
		return s.notifications.setOutcome(ctx, s.db, id, notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SUPPRESSED, "", nil)
	}
	loc := s.location(ctx, p, contact, n.recipientID)
	// Quiet hours hold reminders and digests (never urgent messages) before anything
	// is sent; a notification already partly sent is finished.
	if deferrable(n.event) && len(n.deliveries) == 0 {
		if until := quietUntil(now, loc, p.quietStart, p.quietEnd); !until.IsZero() {
			if err := s.notifications.reschedule(ctx, s.db, id, until); err != nil {
				return err
			}
			return river.JobSnooze(until.Sub(now))
		}
	}
	v, err := s.view(ctx, &req, contact, loc)
	if err != nil {
		return err
	}
	msg, err := s.tmpl.render(n.event, v)
	if err != nil {
		return err
	}
	for _, c := range s.plan(&n, p, msg) {
		if err := s.send(ctx, &n, c, contact, msg); err != nil {
			return err
		}
		if n, err = s.notifications.get(ctx, s.db, id, false); err != nil {
			return err
		}
	}
	// A WhatsApp message that failed for good (here, or later by a status webhook that
	// queued this job again) falls back to e-mail.
	if wa := n.find(notificationsv1.Channel_CHANNEL_WHATSAPP); wa != nil && wa.status == notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED &&
		n.find(notificationsv1.Channel_CHANNEL_EMAIL) == nil {
		if err := s.send(ctx, &n, planned{notificationsv1.Channel_CHANNEL_EMAIL, true}, contact, msg); err != nil {
			return err
		}
		if n, err = s.notifications.get(ctx, s.db, id, false); err != nil {
			return err
		}
	}
	return s.settle(ctx, &n, msg.Subject)
}

// planned is a channel a notification goes by.
type planned struct {
	channel  notificationsv1.Channel
	fallback bool
}

// plan picks the channels: WhatsApp for those who opted in (when the event has an
// approved template and the channel is on), else e-mail. E-mail is always on: it is the
// channel of everyone without WhatsApp, the fallback of those with it, and goes beside
// WhatsApp for what must leave a written, clickable trace — the PIX code and security
// events. Channels already settled are left out.
func (s *Service) plan(n *notification, p prefs, msg rendered) []planned {
	var out []planned
	wa := p.whatsapp && s.whatsapp != nil && msg.WhatsApp != nil
	if wa {
		out = append(out, planned{channel: notificationsv1.Channel_CHANNEL_WHATSAPP})
	}
	if !wa || alwaysEmail(n.event) {
		out = append(out, planned{channel: notificationsv1.Channel_CHANNEL_EMAIL})
	}
	kept := out[:0]
	for _, c := range out {
		if d := n.find(c.channel); d != nil && d.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENDING {
			continue
		}
		kept = append(kept, c)
	}
	return kept
}

func alwaysEmail(e notificationsv1.Event) bool {
	switch e {
	case notificationsv1.Event_EVENT_BOOKING_PENDING_PAYMENT, notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN,
		notificationsv1.Event_EVENT_PASSWORD_CHANGED, notificationsv1.Event_EVENT_MFA_ENABLED, notificationsv1.Event_EVENT_MFA_DISABLED,
		notificationsv1.Event_EVENT_DOCTOR_VERIFICATION:
		return true
	}
	return false
}

// deferrable tells the events that quiet hours hold: the 24-hour reminder and the
// read digest. Urgent ones (the answer deadline, security) and those answering what
// the user just did never wait; the 15-minute reminder neither, as held it would come
// after the consultation.
func deferrable(e notificationsv1.Event) bool {
	return e == notificationsv1.Event_EVENT_REMINDER_24H || e == notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST
}

// quietUntil returns when the quiet hours around now end, or zero when now is outside
// them (or there are none: start == end). start and end are minutes after midnight in
// loc; quiet hours may span midnight (22:00 to 08:00).
func quietUntil(now time.Time, loc *time.Location, start, end int) time.Time {
	if start == end {
		return time.Time{}
	}
	t := now.In(loc)
	m := t.Hour()*60 + t.Minute()
	quiet := (start < end && m >= start && m < end) || (start > end && (m >= start || m < end))
	if !quiet {
		return time.Time{}
	}
	until := time.Date(t.Year(), t.Month(), t.Day(), end/60, end%60, 0, 0, loc)
	if !until.After(now) {
		until = time.Date(t.Year(), t.Month(), t.Day()+1, end/60, end%60, 0, 0, loc)
	}
	return until
}

// send sends one channel's message, recording SENDING first and the outcome after.
// A provider error that may pass is returned (River retries the job with backoff); a
// permanent one is recorded as the delivery's failure.
func (s *Service) send(ctx context.Context, n *notification, c planned, contact *identityv1.GetContactResponse, msg rendered) error {
	fail := func(outcome, why string) error {
		s.count(c.channel, n.event, outcome)
		return s.notifications.markFailed(ctx, s.db, n.id, c.channel, c.fallback, why, s.now())
	}
	var to string
	switch c.channel {
	case notificationsv1.Channel_CHANNEL_EMAIL:
		if to = contact.GetEmail(); to == "" {
			return fail(outcomeNoContact, "no e-mail address")
		}
	case notificationsv1.Channel_CHANNEL_WHATSAPP:
		if to = strings.TrimPrefix(contact.GetPhone(), "+"); to == "" {
			return fail(outcomeNoContact, "no phone number")
		}
	}
	if err := s.notifications.markSending(ctx, s.db, n.id, c.channel, c.fallback, s.now()); err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var providerID string
	var err error
	switch c.channel {
	case notificationsv1.Channel_CHANNEL_EMAIL:
		providerID, err = s.mailer.Send(callCtx, Mail{Key: n.id + "-email", From: s.cfg.From, To: to, ToName: contact.GetFullName(),
			Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML})
	case notificationsv1.Channel_CHANNEL_WHATSAPP:
		providerID, err = s.whatsapp.SendTemplate(callCtx, to, whatsapp.Template{Name: msg.WhatsApp.Name, Language: WhatsAppLanguage,
			BodyParams: msg.WhatsApp.BodyParams, URLButtonParam: msg.WhatsApp.Button})
	}
	if err != nil {
		if why, ok := permanentReason(err); ok {
			return fail(outcomeFailed, why)
		}
		if we, ok := errors.AsType[*whatsapp.Error](err); ok && whatsapp.IsPermanent(err) {
			return fail(outcomeFailed, fmt.Sprintf("whatsapp %d: %s", we.Code, we.Message))
		}
		s.count(c.channel, n.event, outcomeRetry)
		s.log.WarnContext(ctx, "notification not sent; retrying", "notification_id", n.id, "channel", channelLabel(c.channel), "error", err)
		if we, ok := errors.AsType[*whatsapp.Error](err); ok && we.RetryAfter > 0 {
			return river.JobSnooze(we.RetryAfter)
		}
		return err
	}
	s.count(c.channel, n.event, outcomeSent)
	// The provider has the message: record its id even if the job's context has just
	// ended, to keep the window for a duplicate as short as possible.
	ctx = context.WithoutCancel(ctx)
	return pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.notifications.lockProviderMessage(ctx, tx, c.channel, providerID); err != nil {
			return err
		}
		if err := s.notifications.markSent(ctx, tx, n.id, c.channel, providerID, s.now()); err != nil {
			return err
		}
		held, err := s.notifications.takeHeld(ctx, tx, c.channel, providerID)
		if err != nil {
			return err
		}
		for _, h := range held {
			if _, _, err := s.notifications.providerStatus(ctx, tx, c.channel, providerID, h.status, h.failure, h.at); err != nil {
				return err
			}
		}
		return nil
	})
}

// settle records the notification's overall status: SENT when a channel's provider
// accepted it, FAILED when every channel failed for good.
func (s *Service) settle(ctx context.Context, n *notification, subject string) error {
	st := notificationsv1.NotificationStatus_NOTIFICATION_STATUS_PENDING
	var sent *time.Time
	failed := len(n.deliveries) > 0
	for _, d := range n.deliveries {
		switch d.status {
		case notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT, notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED,
			notificationsv1.DeliveryStatus_DELIVERY_STATUS_READ:
			st = notificationsv1.NotificationStatus_NOTIFICATION_STATUS_SENT
			if sent == nil || d.updated.Before(*sent) {
				u := d.updated
				sent = &u
			}
		}
		if d.status != notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED {
			failed = false
		}
	}
	if failed {
		st = notificationsv1.NotificationStatus_NOTIFICATION_STATUS_FAILED
	}
	return s.notifications.setOutcome(ctx, s.db, n.id, st, subject, sent)
}

// contact asks identity how to reach an account's owner.
func (s *Service) contact(ctx context.Context, accountID string) (*identityv1.GetContactResponse, error) {
	resp, err := s.identity.GetContact(ctx, connect.NewRequest(&identityv1.GetContactRequest{AccountId: accountID}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// location is the time zone the recipient reads times in: their preference, else a
// doctor's agenda zone in the directory, else São Paulo's.
func (s *Service) location(ctx context.Context, p prefs, c *identityv1.GetContactResponse, accountID string) *time.Location {
	if p.timeZone != "" {
		if loc, err := time.LoadLocation(p.timeZone); err == nil {
			return loc
		}
	}
	if isDoctor(c) {
		if loc := s.doctorLocation(ctx, accountID); loc != nil {
			return loc
		}
	}
	return saoPaulo
}

// doctorLocation is a doctor's agenda time zone from the directory, or nil.
func (s *Service) doctorLocation(ctx context.Context, doctorID string) *time.Location {
	if s.directory == nil {
		return nil
	}
	resp, err := s.directory.GetDoctor(ctx, connect.NewRequest(&directoryv1.GetDoctorRequest{DoctorId: doctorID}))
	if err != nil {
		return nil // not listed (yet): São Paulo
	}
	tz := resp.Msg.GetProfile().GetTimeZone()
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		return nil
	}
	return loc
}

// isDoctor tells whether the contact is a doctor's.
func isDoctor(c *identityv1.GetContactResponse) bool { return c.GetRole() == accessv1.Role_ROLE_DOCTOR }
