package scheduling

import (
	"context"

	"connectrpc.com/connect"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/platform/authn"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// SetAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) SetAvailability(ctx context.Context, req *connect.Request[schedulingv1.SetAvailabilityRequest]) (*connect.Response[schedulingv1.SetAvailabilityResponse], error) {
	out, err := s.setAvailability(ctx, req.Msg.GetAvailability())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetAvailability implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetAvailability(ctx context.Context, _ *connect.Request[schedulingv1.GetAvailabilityRequest]) (*connect.Response[schedulingv1.GetAvailabilityResponse], error) {
	p, _ := authn.FromContext(ctx)
	out, err := s.getAvailability(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ListAvailableSlots implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ListAvailableSlots(ctx context.Context, req *connect.Request[schedulingv1.ListAvailableSlotsRequest]) (*connect.Response[schedulingv1.ListAvailableSlotsResponse], error) {
	out, err := s.availableSlots(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// GetMyAgenda implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) GetMyAgenda(ctx context.Context, req *connect.Request[schedulingv1.GetMyAgendaRequest]) (*connect.Response[schedulingv1.GetMyAgendaResponse], error) {
	out, err := s.agenda(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// BlockSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) BlockSlot(ctx context.Context, req *connect.Request[schedulingv1.BlockSlotRequest]) (*connect.Response[schedulingv1.BlockSlotResponse], error) {
	slot, err := s.setSlotStatus(ctx, req.Msg.GetSlotId(), "open", "blocked")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.BlockSlotResponse{Slot: slot}), nil
}

// ReopenSlot implements schedulingv1connect.SchedulingServiceHandler.
func (s *Service) ReopenSlot(ctx context.Context, req *connect.Request[schedulingv1.ReopenSlotRequest]) (*connect.Response[schedulingv1.ReopenSlotResponse], error) {
	slot, err := s.setSlotStatus(ctx, req.Msg.GetSlotId(), "blocked", "open")
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&schedulingv1.ReopenSlotResponse{Slot: slot}), nil
}
