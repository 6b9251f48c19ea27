package pix

import (
	"context"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	pixv1 "healthcore/gen/healthcore/pix/v1"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
)

// Service serves PixService over a Driver. Its methods only convert: charge.go holds
// the one rule of ours (the expiry window), the driver does the rest and errors.go maps
// its failures to statuses.
type Service struct {
	driver Driver
	now    func() time.Time
}

var _ pixv1connect.PixServiceHandler = (*Service)(nil)

// New returns the service over d; now is its clock (nil: time.Now), used for the
// expiry window and notification freshness.
func New(d Driver, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{driver: d, now: now}
}

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return pixv1connect.NewPixServiceHandler(s, opts...)
}

// CreateCharge implements pixv1connect.PixServiceHandler.
func (s *Service) CreateCharge(ctx context.Context, req *connect.Request[pixv1.CreateChargeRequest]) (*connect.Response[pixv1.CreateChargeResponse], error) {
	c, err := s.createCharge(ctx, chargeRequestFrom(req.Msg))
	if err != nil {
		return nil, driverError(ctx, "create charge", err)
	}
	return connect.NewResponse(&pixv1.CreateChargeResponse{Charge: chargeProto(c)}), nil
}

// GetCharge implements pixv1connect.PixServiceHandler.
func (s *Service) GetCharge(ctx context.Context, req *connect.Request[pixv1.GetChargeRequest]) (*connect.Response[pixv1.GetChargeResponse], error) {
	c, err := s.driver.GetCharge(ctx, req.Msg.GetId())
	if err != nil {
		return nil, driverError(ctx, "get charge", err)
	}
	return connect.NewResponse(&pixv1.GetChargeResponse{Charge: chargeProto(c)}), nil
}

// CancelCharge implements pixv1connect.PixServiceHandler.
func (s *Service) CancelCharge(ctx context.Context, req *connect.Request[pixv1.CancelChargeRequest]) (*connect.Response[pixv1.CancelChargeResponse], error) {
	c, err := s.driver.CancelCharge(ctx, req.Msg.GetId(), req.Msg.GetIdempotencyKey())
	if err != nil {
		return nil, driverError(ctx, "cancel charge", err)
	}
	return connect.NewResponse(&pixv1.CancelChargeResponse{Charge: chargeProto(c)}), nil
}

// Refund implements pixv1connect.PixServiceHandler.
func (s *Service) Refund(ctx context.Context, req *connect.Request[pixv1.RefundRequest]) (*connect.Response[pixv1.RefundResponse], error) {
	r, err := s.driver.Refund(ctx, req.Msg.GetChargeId(), req.Msg.GetAmountCents(), req.Msg.GetIdempotencyKey())
	if err != nil {
		return nil, driverError(ctx, "refund charge", err)
	}
	return connect.NewResponse(&pixv1.RefundResponse{RefundId: r.ID, AmountCents: r.AmountCents, Charge: chargeProto(r.Charge)}), nil
}

// VerifyNotification implements pixv1connect.PixServiceHandler.
func (s *Service) VerifyNotification(ctx context.Context, req *connect.Request[pixv1.VerifyNotificationRequest]) (*connect.Response[pixv1.VerifyNotificationResponse], error) {
	m := req.Msg
	t, err := s.driver.VerifyNotification(m.GetXSignature(), m.GetXRequestId(), m.GetDataId(), s.now())
	if err != nil {
		return nil, driverError(ctx, "verify notification", err)
	}
	return connect.NewResponse(&pixv1.VerifyNotificationResponse{SignTime: timestamppb.New(t)}), nil
}
