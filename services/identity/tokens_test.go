package identity

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func (f *fixture) refresh(token string) (*identityv1.TokenPair, error) {
	resp, err := f.client.Refresh(context.Background(), connect.NewRequest(&identityv1.RefreshRequest{RefreshToken: token}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetTokens(), nil
}

func (f *fixture) patientSession() *identityv1.TokenPair {
	f.t.Helper()
	f.registerPatient("maria@example.com", "529.982.247-25")
	return f.mustLogin(emailLogin("maria@example.com", "correct horse battery"))
}

func TestRefresh_RotatesAndReuseEndsTheWholeSession(t *testing.T) {
	f := newFixture(t, nil)
	first := f.patientSession()

	second, err := f.refresh(first.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if second.GetRefreshToken() == first.GetRefreshToken() || second.GetAccessToken() == first.GetAccessToken() {
		t.Fatal("refresh did not rotate the tokens")
	}
	if _, err := f.me(second.GetAccessToken()); err != nil {
		t.Fatalf("new access token: %v", err)
	}

	// The spent token comes back (stolen copy): refused, and the session ends.
	_, err = f.refresh(first.GetRefreshToken())
	testkit.WantReason(t, err, ReasonRefreshTokenReused)
	_, err = f.refresh(second.GetRefreshToken())
	testkit.WantReason(t, err, ReasonSessionEnded)

	var reason string
	_ = f.db.QueryRow(context.Background(), `SELECT revoke_reason FROM sessions`).Scan(&reason)
	if reason != "refresh token reused" {
		t.Errorf("session revoke reason = %q", reason)
	}
}

func TestRefresh_ConcurrentUsesOfOneTokenHaveOneWinner(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() { _, results[i] = f.refresh(pair.GetRefreshToken()) })
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if code := connect.CodeOf(err); code != connect.CodeUnauthenticated {
			t.Errorf("loser got %v, want Unauthenticated", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent refreshes succeeded, want exactly 1", ok)
	}
	var live int
	_ = f.db.QueryRow(context.Background(), `SELECT count(*) FROM refresh_tokens WHERE used_at IS NULL`).Scan(&live)
	if live != 1 {
		t.Errorf("%d unspent refresh tokens, want 1", live)
	}
}

func TestRefresh_ExpiresAfterItsTTL(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	f.clock.Advance(DefaultConfig().RefreshTTL + time.Second)
	_, err := f.refresh(pair.GetRefreshToken())
	testkit.WantReason(t, err, ReasonRefreshTokenExpired)
	_, err = f.refresh("hcr_" + strings.Repeat("A", 43))
	testkit.WantReason(t, err, ReasonRefreshTokenInvalid)
}

func TestLogout_EndsTheSessionAndIsIdempotent(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	for range 2 {
		if _, err := f.client.Logout(context.Background(), connect.NewRequest(&identityv1.LogoutRequest{RefreshToken: pair.GetRefreshToken()})); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.refresh(pair.GetRefreshToken())
	testkit.WantReason(t, err, ReasonSessionEnded)
	var logouts int
	_ = f.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'session.logout'`).Scan(&logouts)
	if logouts != 1 {
		t.Errorf("%d logouts audited, want 1", logouts)
	}
}

func TestAccessToken_ExpiredAndTamperedAreRefused(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	tok := pair.GetAccessToken()

	parts := strings.Split(tok, ".")
	flipped := []byte(parts[2])
	flipped[5] ^= 0x01
	otherPayload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	otherPayload = []byte(strings.Replace(string(otherPayload), `"role":"patient"`, `"role":"admin"`, 1))

	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	forged, _, _ := authn.Sign(authn.SigningKey{KID: "forged", Private: foreign},
		authn.Principal{UserID: "x", Role: accessv1.Role_ROLE_ADMIN}, f.clock.Now(), time.Minute)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"x"}`)) + "." + parts[1] + "."

	for name, bad := range map[string]string{
		"flipped signature bit": parts[0] + "." + parts[1] + "." + string(flipped),
		"role changed":          parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherPayload) + "." + parts[2],
		"foreign key":           forged,
		"alg none":              none,
		"garbage":               "not.a.token",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.me(bad)
			testkit.WantReason(t, err, authn.ReasonTokenInvalid)
		})
	}

	f.clock.Advance(DefaultConfig().AccessTTL + time.Minute)
	_, err := f.me(tok)
	testkit.WantReason(t, err, authn.ReasonTokenExpired)

	_, err = f.client.GetMe(context.Background(), connect.NewRequest(&identityv1.GetMeRequest{}))
	testkit.WantReason(t, err, authn.ReasonTokenMissing)
}

func TestSigningKeyRotation_KeepsLiveTokensValid(t *testing.T) {
	f := newFixture(t, nil)
	before := f.patientSession()
	oldKID := kidOfToken(t, before.GetAccessToken())

	// Rotation is for admins only.
	req := connect.NewRequest(&identityv1.RotateSigningKeyRequest{})
	req.Header().Set("Authorization", "Bearer "+before.GetAccessToken())
	_, err := f.client.RotateSigningKey(context.Background(), req)
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)

	newKID, err := f.svc.keys.rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if newKID == oldKID {
		t.Fatal("rotation kept the kid")
	}
	if _, err := f.me(before.GetAccessToken()); err != nil {
		t.Fatalf("token signed before rotation refused: %v", err)
	}
	after, err := f.refresh(before.GetRefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if got := kidOfToken(t, after.GetAccessToken()); got != newKID {
		t.Errorf("new token signed by %s, want %s", got, newKID)
	}
	if kids := f.jwksKIDs(); len(kids) != 2 || kids[0] != newKID || kids[1] != oldKID {
		t.Errorf("JWKS = %v, want [%s %s]", kids, newKID, oldKID)
	}

	// Once every token of the old key has expired, the key leaves the JWKS.
	f.clock.Advance(DefaultConfig().AccessTTL + 3*time.Minute)
	if kids := f.jwksKIDs(); len(kids) != 1 || kids[0] != newKID {
		t.Errorf("JWKS after retirement = %v, want [%s]", kids, newKID)
	}
}

func (f *fixture) jwksKIDs() []string {
	f.t.Helper()
	resp, err := f.client.GetJwks(context.Background(), connect.NewRequest(&identityv1.GetJwksRequest{}))
	if err != nil {
		f.t.Fatal(err)
	}
	var kids []string
	for _, k := range resp.Msg.GetKeys() {
		if k.GetKty() != "OKP" || k.GetCrv() != "Ed25519" || k.GetAlg() != "EdDSA" || len(k.GetX()) != 43 {
			f.t.Errorf("malformed JWK %v", k)
		}
		kids = append(kids, k.GetKid())
	}
	return kids
}

func kidOfToken(t *testing.T, tok string) string {
	t.Helper()
	head, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	s := string(head)
	i := strings.Index(s, `"kid":"`)
	if i < 0 {
		t.Fatalf("no kid in %s", s)
	}
	s = s[i+7:]
	return s[:strings.IndexByte(s, '"')]
}
