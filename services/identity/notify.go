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
//	                          password, and tells nothing); by a change or a reset
//	second factor enabled     ConfirmTotp (a first enrolment or a new authenticator)
//	second factor disabled    DisableTotp
//	registration attempt      someone registered with the owner's e-mail, CPF or CRM
//	                          (the time and the address)
//	e-mail change requested   to the current address, when a change to another is asked
//	e-mail links              the verification of an address (at registration, on
//	                          resend, to the new address of a change) and the password
//	                          reset: single-use tokens, see emaillinks.go

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
	return s.tellSecurity(ctx, tx, notificationsv1.Event_EVENT_PASSWORD_CHANGED, accountID, "password-"+changeID+"-changed-user")
}

// tellMFAChanged commits, in tx, the notice that the account's second factor was
// enabled (or replaced) or disabled.
func (s *Service) tellMFAChanged(ctx context.Context, tx pgx.Tx, accountID, changeID string, enabled bool) error {
	if enabled {
		return s.tellSecurity(ctx, tx, notificationsv1.Event_EVENT_MFA_ENABLED, accountID, "mfa-"+changeID+"-enabled-user")
	}
	return s.tellSecurity(ctx, tx, notificationsv1.Event_EVENT_MFA_DISABLED, accountID, "mfa-"+changeID+"-disabled-user")
}
