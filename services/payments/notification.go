package payments

import (
	"context"
	"errors"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
)

// receiveNotification checks a provider notification's signature and queues a re-read
// of the charge it names. It answers at once: the provider wants an answer within
// seconds, and the notification's body is not trusted anyway — only the charge as the
// provider reports it when asked.
func (s *Service) receiveNotification(ctx context.Context, m *paymentsv1.ReceiveNotificationRequest) error {
	err := s.checkNotification(ctx, m)
	switch {
	case err == nil:
		s.countWebhook(webhookAccepted)
	case errs.Has(err, ReasonSignatureStale):
		s.countWebhook(webhookSignatureStale)
	case errs.Has(err, ReasonSignatureInvalid):
		s.countWebhook(webhookSignatureInvalid)
	default:
		s.countWebhook(webhookUnavailable)
	}
	return err
}

// checkNotification is receiveNotification's work, its outcome counted by the caller.
func (s *Service) checkNotification(ctx context.Context, m *paymentsv1.ReceiveNotificationRequest) error {
	_, err := s.pix.VerifyNotification(ctx, connect.NewRequest(&pixv1.VerifyNotificationRequest{
		XSignature: m.GetXSignature(), XRequestId: m.GetXRequestId(), DataId: m.GetDataId(),
	}))
	if refused := signatureRefused(err); refused != nil {
		s.log.WarnContext(ctx, "provider notification refused", "reason", errs.ReasonOf(refused),
			"provider_payment_id", m.GetDataId(), "error", err.Error())
		return refused
	}
	if err != nil {
		return errPixUnavailable.WithCause(err)
	}
	if t := m.GetType(); t != "" && t != "payment" {
		s.log.InfoContext(ctx, "provider notification ignored", "type", t, "provider_payment_id", m.GetDataId())
		return nil
	}
	_, err = payments.getByCharge(ctx, s.db, m.GetDataId())
	if errors.Is(err, pgx.ErrNoRows) {
		s.log.InfoContext(ctx, "notification for a charge we do not know", "provider_payment_id", m.GetDataId())
		return nil
	}
	if err != nil {
		return errs.Internal("payments: get payment of notified charge", err)
	}
	if err := s.enqueueSync(ctx, m.GetDataId(), sourceNotification); err != nil {
		return errs.Internal("payments: queue charge sync", err)
	}
	return nil
}

// signatureRefused returns what to answer when pix refused a notification's signature:
// its verdict, stale or invalid, passed on; nil when it did not. Any other refusal
// (pix refusing payments' own credential, say) is not the notification's fault: it is
// answered as the provider being unavailable, so the provider sends it again later.
func signatureRefused(err error) error {
	const msg = "the notification's signature is missing, wrong or too old"
	switch {
	case errs.Has(err, ReasonSignatureStale):
		return ReasonSignatureStale.New(msg)
	case errs.Has(err, ReasonSignatureInvalid):
		return ReasonSignatureInvalid.New(msg)
	}
	return nil
}
