package identity

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func (f *fixture) logout(refresh string) {
	f.t.Helper()
	if _, err := f.client.Logout(context.Background(), connect.NewRequest(&identityv1.LogoutRequest{RefreshToken: refresh})); err != nil {
		f.t.Fatal(err)
	}
}

// principalOf returns what an access token says, as the service verifying it sees it.
func (f *fixture) principalOf(access string) authn.Principal {
	f.t.Helper()
	p, err := authn.NewVerifier(f.svc.KeySource()).Verify(context.Background(), access)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// sessionOf returns the sid claim of an access token.
func (f *fixture) sessionOf(access string) string { return f.principalOf(access).SessionID }

// revoked lists the ended sessions as a service sees them, by id.
func (f *fixture) revoked() map[string]time.Time {
	f.t.Helper()
	c := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(f.t), f.url, connect.WithInterceptors(testkit.Caller("records")))
	resp, err := c.ListRevokedSessions(context.Background(), connect.NewRequest(&identityv1.ListRevokedSessionsRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, s := range resp.Msg.GetSessions() {
		out[s.GetSessionId()] = s.GetExpireTime().AsTime()
	}
	return out
}

func TestLogout_EndsTheAccessTokenWithinTheRefreshInterval(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	if _, err := f.me(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	f.logout(pair.GetRefreshToken())

	// The verifier's list is at most Refresh old: that is the bound.
	f.clock.Advance(authn.DefaultRevocationPolicy.Refresh)
	_, err := f.me(pair.GetAccessToken())
	testkit.WantReason(t, err, authn.ReasonSessionEnded)
	// A new login is a new session: not affected.
	if _, err := f.me(f.mustLogin(emailLogin("maria@example.com", "correct horse battery")).GetAccessToken()); err != nil {
		t.Errorf("a new session: %v", err)
	}
}

func TestRefreshReuse_EndsEveryAccessTokenOfTheSession(t *testing.T) {
	f := newFixture(t, nil)
	first := f.patientSession()
	second, err := f.refresh(first.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.me(second.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	_, err = f.refresh(first.GetRefreshToken())
	testkit.WantReason(t, err, ReasonRefreshTokenReused)

	f.clock.Advance(authn.DefaultRevocationPolicy.Refresh)
	for _, access := range []string{first.GetAccessToken(), second.GetAccessToken()} {
		_, err := f.me(access)
		testkit.WantReason(t, err, authn.ReasonSessionEnded)
	}
}

func TestListRevokedSessions_ListsEndedSessionsWhileTheirTokensMayLive(t *testing.T) {
	f := newFixture(t, nil)
	ended, live := f.patientSession(), f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
	f.logout(ended.GetRefreshToken())
	endedAt := f.clock.Now()

	sid := f.sessionOf(ended.GetAccessToken())
	keep := DefaultConfig().AccessTTL + revokedMargin
	got := f.revoked()
	if len(got) != 1 || !got[sid].Equal(endedAt.Add(keep)) {
		t.Fatalf("revoked = %v, want only %s until %s", got, sid, endedAt.Add(keep))
	}
	if _, listed := got[f.sessionOf(live.GetAccessToken())]; listed {
		t.Error("a live session is listed")
	}

	// Once every token the session issued has expired (and the margin), it leaves the list.
	f.clock.Advance(keep - time.Second)
	if got := f.revoked(); len(got) != 1 {
		t.Errorf("revoked just before the end of the margin = %v, want the session", got)
	}
	f.clock.Advance(time.Second)
	if got := f.revoked(); len(got) != 0 {
		t.Errorf("revoked after the margin = %v, want none", got)
	}

	// The list is internal: a user's token is refused.
	_, err := f.client.ListRevokedSessions(context.Background(),
		testkit.Authed(&identityv1.ListRevokedSessionsRequest{}, f.mustLogin(emailLogin("maria@example.com", "correct horse battery")).GetAccessToken()))
	testkit.WantReason(t, err, authn.ReasonServiceOnly)
}
