package notifications

import (
	"context"

	"github.com/jackc/pgx/v5"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/services/notifications/whatsapp"
)

// receiveWhatsAppStatus is ReceiveWhatsAppStatus: it checks the X-Hub-Signature-256
// against the app secret, then applies each status to its delivery. A "failed" status
// queues the delivery job again, which sends the e-mail fallback.
func (s *Service) receiveWhatsAppStatus(ctx context.Context, body []byte, signature string) error {
	secret := s.cfg.WhatsAppAPI.AppSecret
	if secret == "" || signature == "" {
		return ReasonSignatureInvalid.New("the webhook's signature cannot be checked")
	}
	if err := whatsapp.VerifySignature(secret, body, signature); err != nil {
		return ReasonSignatureInvalid.New("the webhook's X-Hub-Signature-256 does not match")
	}
	updates, err := whatsapp.ParseStatusWebhook(body)
	if err != nil {
		return errs.Internal("notifications: parse whatsapp webhook", err) // signed by Meta yet unreadable
	}
	for _, u := range updates {
		st, failure := deliveryStatus(u)
		if st == notificationsv1.DeliveryStatus_DELIVERY_STATUS_UNSPECIFIED {
			continue
		}
		ch := notificationsv1.Channel_CHANNEL_WHATSAPP
		err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
			if err := s.notifications.lockProviderMessage(ctx, tx, ch, u.MessageID); err != nil {
				return err
			}
			id, updated, err := s.notifications.providerStatus(ctx, tx, ch, u.MessageID, st, failure, s.now())
			if isNotFound(err) {
				// Meta may report a message before the sending job recorded its id:
				// keep the status until then (send applies it, under the same lock).
				return s.notifications.hold(ctx, tx, ch, u.MessageID, heldStatus{status: st, failure: failure, at: s.now()})
			}
			if err != nil || !updated || st != notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED {
				return err
			}
			_, err = s.jobs.InsertTx(ctx, tx, deliverArgs{NotificationID: id}, deliverOpts)
			return err
		})
		if err != nil {
			return errs.Internal("notifications: apply whatsapp status", err)
		}
	}
	return nil
}

func deliveryStatus(u whatsapp.StatusUpdate) (notificationsv1.DeliveryStatus, string) {
	switch u.Status {
	case "sent":
		return notificationsv1.DeliveryStatus_DELIVERY_STATUS_SENT, ""
	case "delivered":
		return notificationsv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED, ""
	case "read":
		return notificationsv1.DeliveryStatus_DELIVERY_STATUS_READ, ""
	case "failed":
		why := "whatsapp failed"
		if u.ErrorCode != 0 {
			why = "whatsapp " + itoa(u.ErrorCode) + ": " + u.ErrorTitle
		}
		return notificationsv1.DeliveryStatus_DELIVERY_STATUS_FAILED, why
	}
	return notificationsv1.DeliveryStatus_DELIVERY_STATUS_UNSPECIFIED, ""
}

// verifyWhatsAppWebhook is the GET handshake: the challenge back when the verify token
// is ours.
func (s *Service) verifyWhatsAppWebhook(r *notificationsv1.VerifyWhatsAppWebhookRequest) (string, error) {
	if r.GetHubMode() != "subscribe" || s.cfg.WhatsAppVerifyToken == "" || !constantTimeEqual(r.GetHubVerifyToken(), s.cfg.WhatsAppVerifyToken) {
		return "", ReasonVerifyTokenMismatch.New("hub.verify_token is not this server's")
	}
	return r.GetHubChallenge(), nil
}
