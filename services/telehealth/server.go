package telehealth

import (
	"context"

	"connectrpc.com/connect"

	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// GetJoinInfo implements telehealthv1connect.TelehealthServiceHandler.
func (s *Service) GetJoinInfo(ctx context.Context, req *connect.Request[telehealthv1.GetJoinInfoRequest]) (*connect.Response[telehealthv1.GetJoinInfoResponse], error) {
	out, err := s.join(ctx, req.Msg.GetAppointmentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// PrepareRoom implements telehealthv1connect.TelehealthServiceHandler.
func (s *Service) PrepareRoom(ctx context.Context, req *connect.Request[telehealthv1.PrepareRoomRequest]) (*connect.Response[telehealthv1.PrepareRoomResponse], error) {
	r, err := s.prepareRoom(ctx, req.Msg.GetAppointmentId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&telehealthv1.PrepareRoomResponse{Room: s.roomProto(r)}), nil
}
