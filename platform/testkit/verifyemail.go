package testkit

import (
	"context"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/notify"
	"healthcore/platform/pg"
)

// VerifyEmail confirms the e-mail address of the account as its owner would: it takes
// the token of the newest verification link identity queued for the account (an
// identity.notify job in identityDB, identity's schema) and posts it to VerifyEmail.
// The account's next login or refresh carries the confirmation (claim ev).
func VerifyEmail(t testing.TB, identityDB pg.Querier, identity identityv1connect.IdentityServiceClient, accountID string) {
	t.Helper()
	queued, err := notify.Queued(context.Background(), identityDB, "identity.notify")
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	for _, n := range queued {
		if n.GetRecipientId() == accountID && n.GetEvent() == notificationsv1.Event_EVENT_EMAIL_VERIFICATION {
			token = n.GetLink().GetToken()
		}
	}
	if token == "" {
		t.Fatalf("no e-mail verification link queued for %s", accountID)
	}
	if _, err := identity.VerifyEmail(context.Background(), connect.NewRequest(&identityv1.VerifyEmailRequest{Token: token})); err != nil {
		t.Fatalf("verify e-mail of %s: %v", accountID, err)
	}
}
