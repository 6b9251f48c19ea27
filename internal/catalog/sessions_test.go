package catalog

import (
	"context"
	"flag"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

// TestEndedSession_ItsAccessTokensAreRefusedByAnotherService runs identity and
// directory as the catalog wires them, directory verifying tokens with identity's JWKS
// and list of ended sessions, fetched at every verification here
// (-revoked-sessions-refresh=0, the bound of the test): an access token still within
// its 15 minutes is refused as soon as its session is logged out, or ended by a
// refresh token's reuse.
func TestEndedSession_ItsAccessTokensAreRefusedByAnotherService(t *testing.T) {
	urls := startServices(t, []string{"keys", "identity", "directory"}, "-revoked-sessions-refresh=0")
	ctx := context.Background()
	identity := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), urls["identity"], connect.WithGRPC())
	directory := directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), urls["directory"], connect.WithGRPC())

	const password = "plantão noturno em Campinas, 2026"
	crm := &identityv1.Crm{Number: "123456", Uf: "SP"}
	if _, err := identity.RegisterDoctor(ctx, connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dr. João Pereira", Crm: crm, Email: "joao@example.com", Password: password,
	})); err != nil {
		t.Fatal(err)
	}
	login := func() *identityv1.TokenPair {
		t.Helper()
		res, err := identity.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: crm}, Password: password}))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetTokens()
	}
	profile := func(access string) error { // the doctor has none yet: NOT_FOUND once authenticated
		_, err := directory.GetMyProfile(ctx, testkit.Authed(&directoryv1.GetMyProfileRequest{}, access))
		if connect.CodeOf(err) == connect.CodeNotFound {
			return nil
		}
		return err
	}

	t.Run("logout", func(t *testing.T) {
		pair := login()
		if err := profile(pair.GetAccessToken()); err != nil {
			t.Fatalf("before logout: %v", err)
		}
		if _, err := identity.Logout(ctx, connect.NewRequest(&identityv1.LogoutRequest{RefreshToken: pair.GetRefreshToken()})); err != nil {
			t.Fatal(err)
		}
		testkit.WantReason(t, profile(pair.GetAccessToken()), authn.ReasonSessionEnded)
		_, err := identity.GetMe(ctx, testkit.Authed(&identityv1.GetMeRequest{}, pair.GetAccessToken()))
		testkit.WantReason(t, err, authn.ReasonSessionEnded)
		// Another session of the same account is not affected.
		if err := profile(login().GetAccessToken()); err != nil {
			t.Errorf("another session: %v", err)
		}
	})

	t.Run("refresh token reused", func(t *testing.T) {
		first := login()
		res, err := identity.Refresh(ctx, connect.NewRequest(&identityv1.RefreshRequest{RefreshToken: first.GetRefreshToken()}))
		if err != nil {
			t.Fatal(err)
		}
		second := res.Msg.GetTokens()
		if err := profile(second.GetAccessToken()); err != nil {
			t.Fatalf("before the reuse: %v", err)
		}
		// A stolen copy of the spent refresh token comes back: the session ends.
		_, err = identity.Refresh(ctx, connect.NewRequest(&identityv1.RefreshRequest{RefreshToken: first.GetRefreshToken()}))
		if connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Fatalf("reuse: %v, want UNAUTHENTICATED", err)
		}
		testkit.WantReason(t, profile(second.GetAccessToken()), authn.ReasonSessionEnded)
		testkit.WantReason(t, profile(first.GetAccessToken()), authn.ReasonSessionEnded)
	})
}

func TestConfig_RevokedSessionsBounds(t *testing.T) {
	if cfg := parsed(t); cfg.RevokedSessions != authn.DefaultRevocationPolicy {
		t.Errorf("default policy %+v, want %+v", cfg.RevokedSessions, authn.DefaultRevocationPolicy)
	}
	cfg := parsed(t, "-revoked-sessions-refresh=2s", "-revoked-sessions-max-stale=30s")
	if cfg.RevokedSessions.Refresh != 2*time.Second || cfg.RevokedSessions.MaxStale != 30*time.Second {
		t.Errorf("policy %+v, want the flags' 2s and 30s", cfg.RevokedSessions)
	}
	for args, want := range map[string]string{
		"-revoked-sessions-refresh=2m":                                  "-revoked-sessions-refresh=2m0s: must be between 0",
		"-revoked-sessions-refresh=-1s":                                 "-revoked-sessions-refresh=-1s: must be between 0",
		"-revoked-sessions-refresh=10s -revoked-sessions-max-stale=11s": "-revoked-sessions-max-stale=11s: must be at least -revoked-sessions-refresh plus",
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		err := NewConfig(fs, false).Parse(fs, strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", args, err, want)
		}
	}
}
