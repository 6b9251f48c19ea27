package clinics

import (
	"context"

	"connectrpc.com/connect"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
)

// The partner events' RPC methods: each converts, calls one use case (events.go) and
// wraps its answer.

// PublishEvent implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) PublishEvent(ctx context.Context, req *connect.Request[clinicsv1.PublishEventRequest]) (*connect.Response[clinicsv1.PublishEventResponse], error) {
	n, err := s.publish(ctx, req.Msg.GetEvent())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.PublishEventResponse{Deliveries: int32(n)}), nil
}

// CreateEventEndpoint implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) CreateEventEndpoint(ctx context.Context, req *connect.Request[clinicsv1.CreateEventEndpointRequest]) (*connect.Response[clinicsv1.CreateEventEndpointResponse], error) {
	e, secret, err := s.createEndpoint(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.CreateEventEndpointResponse{Endpoint: e.proto(s.now()), SigningSecret: secret}), nil
}

// ListEventEndpoints implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) ListEventEndpoints(ctx context.Context, _ *connect.Request[clinicsv1.ListEventEndpointsRequest]) (*connect.Response[clinicsv1.ListEventEndpointsResponse], error) {
	list, err := s.listEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := &clinicsv1.ListEventEndpointsResponse{}
	for _, e := range list {
		out.Endpoints = append(out.Endpoints, e.proto(s.now()))
	}
	return connect.NewResponse(out), nil
}

// DeleteEventEndpoint implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) DeleteEventEndpoint(ctx context.Context, req *connect.Request[clinicsv1.DeleteEventEndpointRequest]) (*connect.Response[clinicsv1.DeleteEventEndpointResponse], error) {
	if err := s.deleteEndpoint(ctx, req.Msg.GetEndpointId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.DeleteEventEndpointResponse{}), nil
}

// RotateEventEndpointSecret implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) RotateEventEndpointSecret(ctx context.Context, req *connect.Request[clinicsv1.RotateEventEndpointSecretRequest]) (*connect.Response[clinicsv1.RotateEventEndpointSecretResponse], error) {
	e, secret, err := s.rotateSecret(ctx, req.Msg.GetEndpointId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.RotateEventEndpointSecretResponse{Endpoint: e.proto(s.now()), SigningSecret: secret}), nil
}

// ListEventDeliveries implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) ListEventDeliveries(ctx context.Context, req *connect.Request[clinicsv1.ListEventDeliveriesRequest]) (*connect.Response[clinicsv1.ListEventDeliveriesResponse], error) {
	list, next, err := s.listDeliveries(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	out := &clinicsv1.ListEventDeliveriesResponse{NextPageToken: next}
	for _, d := range list {
		out.Deliveries = append(out.Deliveries, d.proto())
	}
	return connect.NewResponse(out), nil
}

// ReplayEventDelivery implements clinicsv1connect.ClinicsServiceHandler.
func (s *Service) ReplayEventDelivery(ctx context.Context, req *connect.Request[clinicsv1.ReplayEventDeliveryRequest]) (*connect.Response[clinicsv1.ReplayEventDeliveryResponse], error) {
	n, err := s.replay(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&clinicsv1.ReplayEventDeliveryResponse{Replayed: int32(n)}), nil
}
