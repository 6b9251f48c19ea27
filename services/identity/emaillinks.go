package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/server"
)

// How long the links sent by e-mail work.
const (
	verifyEmailTTL   = 48 * time.Hour
	resetPasswordTTL = 30 * time.Minute
)

// sendEmailLink commits, in tx, a new single-use token of purpose for the account
// (its hash only; earlier tokens of the purpose stop working) and the job of the
// e-mail that carries it: to email for a verification (the account's address, or the
// new one of an e-mail change), to the account's address for a reset.
func (s *Service) sendEmailLink(ctx context.Context, tx pgx.Tx, accountID, purpose, email string) error {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now()
	ttl, event := verifyEmailTTL, notificationsv1.Event_EVENT_EMAIL_VERIFICATION
	detail := &notificationsv1.AccountLinkDetail{Token: token, Time: timestamppb.New(now), ClientAddress: server.ClientAddr(ctx)}
	switch {
	case purpose == purposeResetPassword:
		ttl, event, email = resetPasswordTTL, notificationsv1.Event_EVENT_PASSWORD_RESET, ""
	case email != "":
		current, ok, err := s.accounts.get(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if ok && current.Email != email { // a change: the link goes to the new address
			event, detail.Email = notificationsv1.Event_EVENT_EMAIL_CHANGE_VERIFICATION, email
		}
	}
	detail.ExpireTime = timestamppb.New(now.Add(ttl))
	if err := s.tokens.insert(ctx, tx, hashToken(token), accountID, purpose, email, now, now.Add(ttl)); err != nil {
		return err
	}
	_, err := s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: "link-" + uuid.NewString(), Event: event, RecipientId: accountID,
		Detail: &notificationsv1.NotifyRequest_Link{Link: detail},
	}}}, nil)
	if err != nil {
		return fmt.Errorf("queue %s e-mail: %w", purpose, err)
	}
	return nil
}

// tellSecurity commits, in tx, a security notice of event to the account's owner:
// when, and from which address.
func (s *Service) tellSecurity(ctx context.Context, tx pgx.Tx, event notificationsv1.Event, accountID, key string) error {
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

// tellRegistrationAttempt commits, in tx, the notice to the owner of a taken e-mail,
// CPF or CRM that someone tried to register with it.
func (s *Service) tellRegistrationAttempt(ctx context.Context, tx pgx.Tx, ownerID, attemptID string) error {
	return s.tellSecurity(ctx, tx, notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT, ownerID, "register-"+attemptID+"-attempt-user")
}
