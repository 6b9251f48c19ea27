package catalog

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"connectrpc.com/connect"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/testkit"
)

// TestTokenProfile_RS256FlagsReachIdentityAndEveryVerifier runs identity and directory
// as the catalog wires them under the API Gateway's token profile: identity signs RS256
// tokens of that issuer and audience, and directory, verifying against identity's JWKS
// with the same flags, accepts them.
func TestTokenProfile_RS256FlagsReachIdentityAndEveryVerifier(t *testing.T) {
	urls := startServices(t, []string{"keys", "identity", "directory"},
		"-identity.token-alg=RS256", "-identity.issuer=https://api.example.com", "-identity.audience=healthcore-api")
	ctx := context.Background()
	identity := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), urls["identity"], connect.WithGRPC())
	directory := directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), urls["directory"], connect.WithGRPC())

	const password = "plantão noturno em Campinas, 2026"
	crm := &identityv1.Crm{Number: "654321", Uf: "RJ"}
	if _, err := identity.RegisterDoctor(ctx, connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dra. Ana Lima", Crm: crm, Email: "ana@example.com", Password: password,
	})); err != nil {
		t.Fatal(err)
	}
	res, err := identity.Login(ctx, connect.NewRequest(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: crm}, Password: password}))
	if err != nil {
		t.Fatal(err)
	}
	access := res.Msg.GetTokens().GetAccessToken()
	parts := strings.Split(access, ".")
	header, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if !strings.Contains(string(header), `"alg":"RS256"`) || !strings.Contains(string(claims), `"iss":"https://api.example.com"`) ||
		!strings.Contains(string(claims), `"aud":["healthcore-api"]`) {
		t.Fatalf("token header %s, claims %s", header, claims)
	}
	// The doctor has no profile yet: NOT_FOUND once authenticated.
	_, err = directory.GetMyProfile(ctx, testkit.Authed(&directoryv1.GetMyProfileRequest{}, access))
	if connect.CodeOf(err) != connect.CodeNotFound {
		t.Fatalf("directory with an RS256 token: %v, want NOT_FOUND (authenticated)", err)
	}
}
