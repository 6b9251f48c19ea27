package identity

import (
	"context"
	"slices"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/notify"
	"healthcore/platform/testkit"
)

// notices lists the committed identity.notify jobs of the events given (every one
// when none is), oldest first.
func (f *fixture) notices(events ...notificationsv1.Event) []*notificationsv1.NotifyRequest {
	f.t.Helper()
	all, err := notify.Queued(context.Background(), f.db, "identity.notify")
	if err != nil {
		f.t.Fatal(err)
	}
	if len(events) == 0 {
		return all
	}
	var out []*notificationsv1.NotifyRequest
	for _, n := range all {
		if slices.Contains(events, n.GetEvent()) {
			out = append(out, n)
		}
	}
	return out
}

// securityNotices are the notices other than the e-mail links a registration sends.
var securityNotices = []notificationsv1.Event{notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN, notificationsv1.Event_EVENT_PASSWORD_CHANGED,
	notificationsv1.Event_EVENT_REGISTRATION_ATTEMPT, notificationsv1.Event_EVENT_EMAIL_CHANGE_REQUESTED}

func TestNotify_LoginFromANewDeviceTellsTheOwner_AKnownOneOrTheFirstNothing(t *testing.T) {
	f := newFixture(t, nil)
	acct := f.registerPatient("maria@example.com", "529.982.247-25")
	good := emailLogin("maria@example.com", "correct horse battery")
	const home, away = "198.51.100.1", "192.0.2.50"

	first, err := f.loginFrom(home, good) // the first login ever is no news
	if err != nil {
		t.Fatal(err)
	}
	if got := f.notices(securityNotices...); len(got) != 0 {
		t.Fatalf("notices after the first login: %v", got)
	}
	if _, err := f.loginFrom(home, good); err != nil { // home again
		t.Fatal(err)
	}
	withDevice := emailLogin("maria@example.com", "correct horse battery")
	withDevice.DeviceToken = first.GetDeviceToken()
	if _, err := f.loginFrom(away, withDevice); err != nil { // elsewhere, on the known device
		t.Fatal(err)
	}
	// A wrong password from a new place changes nothing and tells nothing.
	_, err = f.loginFrom("203.0.113.7", emailLogin("maria@example.com", "guess guess"))
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	if got := f.notices(securityNotices...); len(got) != 0 {
		t.Fatalf("notices after known clients and a failure: %v", got)
	}

	if _, err := f.loginFrom("203.0.113.8", good); err != nil { // a new device at a new address
		t.Fatal(err)
	}
	got := f.notices(securityNotices...)
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1", len(got))
	}
	m := got[0]
	if m.GetEvent() != notificationsv1.Event_EVENT_NEW_DEVICE_LOGIN || m.GetRecipientId() != acct.GetId() ||
		m.GetSecurity().GetClientAddress() != "203.0.113.8" || m.GetSecurity().GetDevice() != "novo dispositivo" ||
		m.GetSecurity().GetTime() == nil {
		t.Errorf("notice = %v", m)
	}
	if err := m.ValidateAll(); err != nil {
		t.Errorf("not a valid NotifyRequest: %v", err)
	}
}

func (f *fixture) changePassword(access, current, next string) error {
	req := connect.NewRequest(&identityv1.ChangePasswordRequest{CurrentPassword: current, NewPassword: next})
	req.Header().Set("Authorization", "Bearer "+access)
	_, err := f.client.ChangePassword(context.Background(), req)
	return err
}

func TestChangePassword_EndsTheOtherSessionsAndTellsTheOwner(t *testing.T) {
	f := newFixture(t, nil)
	acct := f.registerPatient("maria@example.com", "529.982.247-25")
	const old, next = "correct horse battery", "lagarto azul come pitanga"
	here := f.mustLogin(emailLogin("maria@example.com", old))
	there := f.mustLogin(emailLogin("maria@example.com", old))

	// A wrong current password changes nothing, tells nothing, and counts as a failure.
	testkit.WantReason(t, f.changePassword(here.GetAccessToken(), "not my password", next), ReasonInvalidCredentials)
	// A weak new one is refused, naming why.
	testkit.WantReason(t, f.changePassword(here.GetAccessToken(), old, "maria@example.com1"), ReasonPasswordTooWeak)
	if got := f.notices(securityNotices...); len(got) != 0 {
		t.Fatalf("notices after refused changes: %v", got)
	}

	if err := f.changePassword(here.GetAccessToken(), old, next); err != nil {
		t.Fatal(err)
	}
	got := f.notices(securityNotices...)
	if len(got) != 1 || got[0].GetEvent() != notificationsv1.Event_EVENT_PASSWORD_CHANGED || got[0].GetRecipientId() != acct.GetId() ||
		got[0].GetSecurity().GetTime() == nil {
		t.Fatalf("notices = %v, want one password change", got)
	}
	if err := got[0].ValidateAll(); err != nil {
		t.Errorf("not a valid NotifyRequest: %v", err)
	}
	// The old password no longer opens the account; the new one does.
	_, err := f.login(emailLogin("maria@example.com", old))
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	f.mustLogin(emailLogin("maria@example.com", next))
	// The other session ended; the caller's own goes on.
	f.clock.Advance(authn.DefaultRevocationPolicy.Refresh)
	_, err = f.me(there.GetAccessToken())
	testkit.WantReason(t, err, authn.ReasonSessionEnded)
	if _, err := f.me(here.GetAccessToken()); err != nil {
		t.Errorf("the caller's own session: %v", err)
	}
}
