package payments

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
)

// receiveNotification checks a provider notification's signature and queues a re-read
// of the charge it names. It answers at once: the provider wants an answer within
// seconds, and the notification's body is not trusted anyway — only the charge as the
// provider reports it when asked.
func (s *Service) receiveNotification(ctx context.Context, m *paymentsv1.ReceiveNotificationRequest) error {
	_, err := s.pix.VerifyNotification(ctx, connect.NewRequest(&pixv1.VerifyNotificationRequest{
		XSignature: m.GetXSignature(), XRequestId: m.GetXRequestId(), DataId: m.GetDataId(),
	}))
	if connect.CodeOf(err) == connect.CodeUnauthenticated {
		reason := errs.ReasonOf(err)
		if reason == "" {
			reason = "SIGNATURE_INVALID"
		}
		s.log.WarnContext(ctx, "provider notification refused", "reason", reason, "provider_payment_id", m.GetDataId(), "error", err.Error())
		return errs.Unauthenticated(reason, "the notification's signature is missing, wrong or too old")
	}
	if err != nil {
		return errPixUnavailable.WithCause(err)
	}
	if t := m.GetType(); t != "" && t != "payment" {
		s.log.InfoContext(ctx, "provider notification ignored", "type", t, "provider_payment_id", m.GetDataId())
		return nil
	}
	_, err = loadPayment(ctx, s.db, "provider_payment_id", m.GetDataId(), false)
	if errors.Is(err, errNoPayment) {
		s.log.InfoContext(ctx, "notification for a charge we do not know", "provider_payment_id", m.GetDataId())
		return nil
	}
	if err != nil {
		return errs.Internal("payments: receiveNotification", err)
	}
	if err := s.enqueueSync(ctx, m.GetDataId(), sourceNotification); err != nil {
		return errs.Internal("payments: receiveNotification", err)
	}
	return nil
}
