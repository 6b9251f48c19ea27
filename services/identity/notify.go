package identity

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/server"
)

// What identity tells an account's owner, by an "identity.notify" job committed in the
// transaction of the change (a login or change that fails tells nobody):
//
//	login from a new device   when neither the device nor the address block is one the
//	                          account logged in from (the throttle's known clients),
//	                          and the account has logged in before: the time and the
//	                          address, so the owner can react if it was not them
//	password changed          the time and the address (a rehash at login keeps the
//	                          password, and tells nothing)
//	second factor enabled     ConfirmTotp (a first enrolment or a new authenticator)
//	second factor disabled    DisableTotp

type notifyArgs struct{ notify.Request }

func (notifyArgs) Kind() string { return "identity.notify" }

// newDeviceLabel is the device named in the message: the login carries nothing more
// telling (no user agent reaches the service).
const newDeviceLabel = "novo dispositivo"

// tellNewDevice commits, in tx, the notice of a successful login from a client the
// account has not used — unless it is the account's first login, which is no news.
func (s *Service) tellNewDevice(ctx context.Context, tx pgx.Tx, c loginClient, accountID, loginID string) error {
	if c.known != "" {
		return nil
	}
	seen, err := s.throttle.hasClients(ctx, tx, accountID, s.now().Add(-s.cfg.Throttle.KnownClientFor))
	if err != nil || !seen {
		return err
	}
	_, err = s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: "login-" + loginID + "-new_device-user", Event: notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN,
		RecipientId: accountID,
		Detail: &notificationsv1.NotifyRequest_Security{Security: &notificationsv1.SecurityDetail{
			Time: timestamppb.New(s.now()), ClientAddress: server.ClientAddr(ctx), Device: newDeviceLabel}},
	}}}, nil)
	if err != nil {
		return fmt.Errorf("queue new-device notice: %w", err)
	}
	return nil
}

// tellPasswordChanged commits, in tx, the notice of the account's password change.
func (s *Service) tellPasswordChanged(ctx context.Context, tx pgx.Tx, accountID, changeID string) error {
	return s.tellSecurityChange(ctx, tx, accountID, "password-"+changeID+"-changed-user", notificationsv1.Event_EVENT_PASSWORD_CHANGED)
}

// tellMFAChanged commits, in tx, the notice that the account's second factor was
// enabled (or replaced) or disabled.
func (s *Service) tellMFAChanged(ctx context.Context, tx pgx.Tx, accountID, changeID string, enabled bool) error {
	if enabled {
		return s.tellSecurityChange(ctx, tx, accountID, "mfa-"+changeID+"-enabled-user", notificationsv1.Event_EVENT_MFA_ENABLED)
	}
	return s.tellSecurityChange(ctx, tx, accountID, "mfa-"+changeID+"-disabled-user", notificationsv1.Event_EVENT_MFA_DISABLED)
}

// tellSecurityChange commits, in tx, the notice of a change to the account's
// credentials, with its time and the client's address.
func (s *Service) tellSecurityChange(ctx context.Context, tx pgx.Tx, accountID, key string, event notificationsv1.Event) error {
	_, err := s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: key, Event: event, RecipientId: accountID,
		Detail: &notificationsv1.NotifyRequest_Security{Security: &notificationsv1.SecurityDetail{
			Time: timestamppb.New(s.now()), ClientAddress: server.ClientAddr(ctx)}},
	}}}, nil)
	if err != nil {
		return fmt.Errorf("queue %s notice: %w", event, err)
	}
	return nil
}
