package pix

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// The window Mercado Pago accepts for a PIX charge's date_of_expiration.
const (
	MinExpiry = 30 * time.Minute
	MaxExpiry = 30 * 24 * time.Hour
)

// createCharge checks the expiry window, which the proto cannot express (it is
// relative to now), then creates the charge.
func (s *Service) createCharge(ctx context.Context, req ChargeRequest) (Charge, error) {
	now := s.now()
	if ahead := req.ExpireTime.Sub(now); ahead < MinExpiry || ahead > MaxExpiry {
		msg := fmt.Sprintf("must be %s to %s ahead; it is %s ahead", "30 minutes", "30 days", ahead.Round(time.Second))
		return Charge{}, server.ReasonValidationFailed.New("invalid request: expire_time: " + msg).
			WithViolations(errs.Violation{Field: "expire_time", Description: msg})
	}
	return s.driver.CreateCharge(ctx, req)
}

func chargeRequestFrom(m *pixv1.CreateChargeRequest) ChargeRequest {
	return ChargeRequest{
		AmountCents:       m.GetAmountCents(),
		Description:       m.GetDescription(),
		PayerEmail:        m.GetPayerEmail(),
		PayerCPF:          m.GetPayerCpf(),
		PayerFirstName:    m.GetPayerFirstName(),
		PayerLastName:     m.GetPayerLastName(),
		ExpireTime:        m.GetExpireTime().AsTime(),
		ExternalReference: m.GetExternalReference(),
		IdempotencyKey:    m.GetIdempotencyKey(),
	}
}

var statusProto = map[Status]pixv1.ChargeStatus{
	StatusPending:     pixv1.ChargeStatus_CHARGE_STATUS_PENDING,
	StatusApproved:    pixv1.ChargeStatus_CHARGE_STATUS_APPROVED,
	StatusAuthorized:  pixv1.ChargeStatus_CHARGE_STATUS_AUTHORIZED,
	StatusInProcess:   pixv1.ChargeStatus_CHARGE_STATUS_IN_PROCESS,
	StatusInMediation: pixv1.ChargeStatus_CHARGE_STATUS_IN_MEDIATION,
	StatusRejected:    pixv1.ChargeStatus_CHARGE_STATUS_REJECTED,
	StatusCancelled:   pixv1.ChargeStatus_CHARGE_STATUS_CANCELLED,
	StatusRefunded:    pixv1.ChargeStatus_CHARGE_STATUS_REFUNDED,
	StatusChargedBack: pixv1.ChargeStatus_CHARGE_STATUS_CHARGED_BACK,
}

func chargeProto(c Charge) *pixv1.Charge {
	return &pixv1.Charge{
		Id:                c.ID,
		Status:            statusProto[c.Status], // a status we do not know is UNSPECIFIED; status_detail still tells
		StatusDetail:      c.StatusDetail,
		AmountCents:       c.AmountCents,
		RefundedCents:     c.RefundedCents,
		ExternalReference: c.ExternalReference,
		QrCode:            c.QRCode,
		QrCodeBase64:      c.QRCodeBase64,
		TicketUrl:         c.TicketURL,
		CreateTime:        timeProto(c.CreateTime),
		ExpireTime:        timeProto(c.ExpireTime),
		ApproveTime:       timeProto(c.ApproveTime),
	}
}

func timeProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
