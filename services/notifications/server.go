package notifications

import (
	"context"
	"strconv"

	"connectrpc.com/connect"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
)

// The RPC methods below only convert: each calls one use case and wraps its answer.

// Notify implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) Notify(ctx context.Context, req *connect.Request[notificationsv1.NotifyRequest]) (*connect.Response[notificationsv1.NotifyResponse], error) {
	n, err := s.notify(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.NotifyResponse{Notification: notificationProto(&n)}), nil
}

// GetPreferences implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) GetPreferences(ctx context.Context, _ *connect.Request[notificationsv1.GetPreferencesRequest]) (*connect.Response[notificationsv1.GetPreferencesResponse], error) {
	p, err := s.getPreferences(ctx)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.GetPreferencesResponse{Preferences: p}), nil
}

// UpdatePreferences implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) UpdatePreferences(ctx context.Context, req *connect.Request[notificationsv1.UpdatePreferencesRequest]) (*connect.Response[notificationsv1.UpdatePreferencesResponse], error) {
	p, err := s.updatePreferences(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.UpdatePreferencesResponse{Preferences: p}), nil
}

// ListNotifications implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) ListNotifications(ctx context.Context, req *connect.Request[notificationsv1.ListNotificationsRequest]) (*connect.Response[notificationsv1.ListNotificationsResponse], error) {
	out, err := s.listNotifications(ctx, req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(out), nil
}

// ReceiveWhatsAppStatus implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) ReceiveWhatsAppStatus(ctx context.Context, req *connect.Request[notificationsv1.ReceiveWhatsAppStatusRequest]) (*connect.Response[notificationsv1.ReceiveWhatsAppStatusResponse], error) {
	if err := s.receiveWhatsAppStatus(ctx, req.Msg.GetBody(), req.Msg.GetXHubSignature_256()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.ReceiveWhatsAppStatusResponse{}), nil
}

// VerifyWhatsAppWebhook implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) VerifyWhatsAppWebhook(_ context.Context, req *connect.Request[notificationsv1.VerifyWhatsAppWebhookRequest]) (*connect.Response[notificationsv1.VerifyWhatsAppWebhookResponse], error) {
	challenge, err := s.verifyWhatsAppWebhook(req.Msg)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.VerifyWhatsAppWebhookResponse{Challenge: challenge}), nil
}

func itoa(n int) string { return strconv.Itoa(n) }

// ExportRecipientNotifications implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) ExportRecipientNotifications(ctx context.Context, req *connect.Request[notificationsv1.ExportRecipientNotificationsRequest]) (*connect.Response[notificationsv1.ExportRecipientNotificationsResponse], error) {
	list, err := s.exportRecipientNotifications(ctx, req.Msg.GetAccountId())
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.ExportRecipientNotificationsResponse{Notifications: list}), nil
}

// ForgetRecipient implements notificationsv1connect.NotificationsServiceHandler.
func (s *Service) ForgetRecipient(ctx context.Context, req *connect.Request[notificationsv1.ForgetRecipientRequest]) (*connect.Response[notificationsv1.ForgetRecipientResponse], error) {
	if err := s.forgetRecipient(ctx, req.Msg.GetAccountId()); err != nil {
		return nil, err
	}
	return connect.NewResponse(&notificationsv1.ForgetRecipientResponse{}), nil
}
