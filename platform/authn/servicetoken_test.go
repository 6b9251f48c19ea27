package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/golang-jwt/jwt/v5"
)

// pair is a service's key pair made for a test.
type pair struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newPair(t testing.TB) pair {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pair{pub, priv}
}

// keysOf builds ServiceKeys where every service signs with its pair.
func keysOf(t testing.TB, pairs map[string]pair) *ServiceKeys {
	t.Helper()
	public := map[string][]ed25519.PublicKey{}
	private := map[string]ed25519.PrivateKey{}
	for s, p := range pairs {
		public[s], private[s] = []ed25519.PublicKey{p.pub}, p.priv
	}
	k, err := NewServiceKeys(public, private)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// forge signs claims with key under kid, as nothing in the platform would.
func forge(t testing.TB, key ed25519.PrivateKey, kid string, c jwt.RegisteredClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verifierAt is the verifier of self whose clock is at.
func verifierAt(k *ServiceKeys, self string, at time.Time) *ServiceVerifier {
	v := k.Verifier(self)
	v.Now = func() time.Time { return at }
	return v
}

func TestServiceToken_VerifiesAsItsCallerForItsCallee(t *testing.T) {
	k := keysOf(t, map[string]pair{"payments": newPair(t), "scheduling": newPair(t)})
	token, expires, err := k.MintServiceToken("payments", "scheduling", t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := expires.Sub(t0); got != ServiceTokenTTL {
		t.Errorf("token lives %s, want %s", got, ServiceTokenTTL)
	}
	caller, err := verifierAt(k, "scheduling", t0.Add(ServiceTokenTTL-time.Second)).Verify(token)
	if err != nil || caller != "payments" {
		t.Fatalf("Verify = %q, %v; want payments", caller, err)
	}
}

func TestServiceToken_RefusedWhenNotExactlyForThisCallee(t *testing.T) {
	payments, scheduling := newPair(t), newPair(t)
	intruder := newPair(t)
	k := keysOf(t, map[string]pair{"payments": payments, "scheduling": scheduling})
	good := func(mod func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{
			Issuer: ServiceIssuer, Subject: "payments", Audience: jwt.ClaimStrings{"scheduling"},
			IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(ServiceTokenTTL)),
		}
		if mod != nil {
			mod(&c)
		}
		return c
	}
	paymentsKID := KeyID(payments.pub)
	valid := forge(t, payments.priv, paymentsKID, good(nil))
	parts := strings.Split(valid, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	later := strings.Replace(string(claims), strconv.FormatInt(t0.Unix(), 10), strconv.FormatInt(t0.Unix()+60, 10), 1)
	if later == string(claims) {
		t.Fatalf("no iat %d in %s", t0.Unix(), claims)
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(later)) + "." + parts[2]

	tests := []struct {
		name  string
		token string
		at    time.Time
	}{
		{"another audience", forge(t, payments.priv, paymentsKID, good(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"records"} })), t0},
		{"expired", valid, t0.Add(ServiceTokenTTL + time.Minute)},
		{"signed by another service's key", forge(t, scheduling.priv, KeyID(scheduling.pub), good(nil)), t0},
		{"another service's kid on the caller's key", forge(t, payments.priv, KeyID(scheduling.pub), good(nil)), t0},
		{"unknown service", forge(t, intruder.priv, KeyID(intruder.pub), good(func(c *jwt.RegisteredClaims) { c.Subject = "intruder" })), t0},
		{"tampered", tampered, t0},
		{"a user token's issuer", forge(t, payments.priv, paymentsKID, good(func(c *jwt.RegisteredClaims) { c.Issuer = Issuer })), t0},
		{"no expiry", forge(t, payments.priv, paymentsKID, good(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil })), t0},
		{"longer than a service token lives", forge(t, payments.priv, paymentsKID, good(func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = jwt.NewNumericDate(t0.Add(time.Hour))
		})), t0},
		{"not a JWT", "payments", t0},
	}
	if _, err := verifierAt(k, "scheduling", t0).Verify(valid); err != nil {
		t.Fatalf("the untouched token: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			caller, err := verifierAt(k, "scheduling", tt.at).Verify(tt.token)
			wantStatus(t, err, ReasonServiceTokenInvalid)
			if caller != "" {
				t.Errorf("refused token names caller %q", caller)
			}
		})
	}
}

func TestServiceVerifier_RemembersAVerifiedTokenOnlyUntilItExpires(t *testing.T) {
	k := keysOf(t, map[string]pair{"payments": newPair(t), "identity": newPair(t), "scheduling": newPair(t)})
	token, expires, err := k.MintServiceToken("payments", "scheduling", t0)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := k.MintServiceToken("identity", "scheduling", t0)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	v := k.Verifier("scheduling")
	v.Now = func() time.Time { return now }
	for i := range 3 { // verified, then remembered: the same caller each time
		if caller, err := v.Verify(token); err != nil || caller != "payments" {
			t.Fatalf("call %d: Verify = %q, %v; want payments", i, caller, err)
		}
		if caller, err := v.Verify(other); err != nil || caller != "identity" {
			t.Fatalf("call %d: Verify = %q, %v; want identity", i, caller, err)
		}
	}
	now = expires.Add(v.Leeway - time.Second)
	if caller, err := v.Verify(token); err != nil || caller != "payments" {
		t.Fatalf("within the leeway: Verify = %q, %v; want payments", caller, err)
	}
	now = expires.Add(v.Leeway)
	caller, err := v.Verify(token)
	wantStatus(t, err, ReasonServiceTokenInvalid)
	if caller != "" {
		t.Errorf("expired token remembered: names caller %q", caller)
	}
	// A token for another callee is not this verifier's, however often it was checked.
	forRecords, _, err := k.MintServiceToken("payments", "records", t0)
	if err != nil {
		t.Fatal(err)
	}
	now = t0
	for range 2 {
		_, err := v.Verify(forRecords)
		wantStatus(t, err, ReasonServiceTokenInvalid)
	}
}

func TestServiceVerifier_ForgetsBeyondItsBound(t *testing.T) {
	k := keysOf(t, map[string]pair{"payments": newPair(t), "scheduling": newPair(t)})
	v := verifierAt(k, "scheduling", t0)
	for i := range maxVerifiedTokens + 10 {
		token, _, err := k.MintServiceToken("payments", "scheduling", t0.Add(-time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if caller, err := v.Verify(token); err != nil || caller != "payments" {
			t.Fatalf("token %d: Verify = %q, %v", i, caller, err)
		}
	}
	if n := len(v.verified); n == 0 || n > maxVerifiedTokens {
		t.Errorf("%d tokens remembered, want 1 to %d", n, maxVerifiedTokens)
	}
}

func TestServiceKeys_RotationAcceptsBothListedKeysAndNotARemovedOne(t *testing.T) {
	old, next, scheduling := newPair(t), newPair(t), newPair(t)
	mint := func(p pair) string {
		return forge(t, p.priv, KeyID(p.pub), jwt.RegisteredClaims{
			Issuer: ServiceIssuer, Subject: "payments", Audience: jwt.ClaimStrings{"scheduling"},
			IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(ServiceTokenTTL)),
		})
	}
	during, err := NewServiceKeys(
		map[string][]ed25519.PublicKey{"payments": {old.pub, next.pub}, "scheduling": {scheduling.pub}},
		map[string]ed25519.PrivateKey{"payments": next.priv})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]pair{"old": old, "next": next} {
		if caller, err := verifierAt(during, "scheduling", t0).Verify(mint(p)); err != nil || caller != "payments" {
			t.Errorf("during the rotation, a token of the %s key: %q, %v", name, caller, err)
		}
	}
	after := keysOf(t, map[string]pair{"payments": next, "scheduling": scheduling})
	_, err = verifierAt(after, "scheduling", t0).Verify(mint(old))
	wantStatus(t, err, ReasonServiceTokenInvalid)
	if _, err := verifierAt(after, "scheduling", t0).Verify(mint(next)); err != nil {
		t.Errorf("after the rotation, a token of the new key: %v", err)
	}
}

func TestNewServiceKeys_RefusesKeysThatCannotWork(t *testing.T) {
	a, b, c := newPair(t), newPair(t), newPair(t)
	tests := []struct {
		name    string
		public  map[string][]ed25519.PublicKey
		private map[string]ed25519.PrivateKey
		want    string
	}{
		{"a private key whose public key is not listed", map[string][]ed25519.PublicKey{"payments": {a.pub}},
			map[string]ed25519.PrivateKey{"payments": b.priv}, "not among its public keys"},
		{"a private key of a service without public keys", nil,
			map[string]ed25519.PrivateKey{"payments": a.priv}, "not among its public keys"},
		{"three public keys", map[string][]ed25519.PublicKey{"payments": {a.pub, b.pub, c.pub}}, nil, "at most 2"},
		{"a name that is not a service's", map[string][]ed25519.PublicKey{"../etc": {a.pub}}, nil, "not a service name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewServiceKeys(tt.public, tt.private)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}

func TestLoadServiceKeys_ReadsWhatWriteServiceKeysWrote(t *testing.T) {
	dir := t.TempDir()
	if err := WriteServiceKeys(dir, []string{"payments", "scheduling", "records"}); err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "payments.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("payments.key: %v, %v; want mode 0600", info, err)
	}
	if err := WriteServiceKeys(dir, []string{"payments"}); err == nil {
		t.Error("WriteServiceKeys replaced an existing key")
	}
	k, err := LoadServiceKeys(dir, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(k.Services(), ","); got != "payments,records,scheduling" {
		t.Errorf("services = %s", got)
	}
	if !k.CanSign("payments") || k.CanSign("records") {
		t.Error("only the named signers' private keys are loaded")
	}
	// Another process, running scheduling, verifies what this one signs.
	sched, err := LoadServiceKeys(dir, []string{"scheduling"})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := k.MintServiceToken("payments", "scheduling", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if caller, err := sched.Verifier("scheduling").Verify(token); err != nil || caller != "payments" {
		t.Errorf("Verify = %q, %v", caller, err)
	}
	if _, _, err := sched.MintServiceToken("payments", "scheduling", time.Now()); err == nil {
		t.Error("a process without payments' private key minted its token")
	}
}

func TestLoadServiceKeys_TwoPublicKeysInOneFileDuringARotation(t *testing.T) {
	dir, next := t.TempDir(), t.TempDir()
	for _, d := range []string{dir, next} {
		if err := WriteServiceKeys(d, []string{"payments"}); err != nil {
			t.Fatal(err)
		}
	}
	// Rotation: the next public key is added beside the current one, then the private
	// key replaced.
	a, _ := os.ReadFile(filepath.Join(dir, "payments.pub"))
	b, _ := os.ReadFile(filepath.Join(next, "payments.pub"))
	if err := os.WriteFile(filepath.Join(dir, "payments.pub"), append(a, b...), 0o644); err != nil {
		t.Fatal(err)
	}
	old, err := LoadServiceKeys(dir, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	newKey, _ := os.ReadFile(filepath.Join(next, "payments.key"))
	if err := os.WriteFile(filepath.Join(dir, "payments.key"), newKey, 0o600); err != nil {
		t.Fatal(err)
	}
	rotated, err := LoadServiceKeys(dir, []string{"payments"})
	if err != nil {
		t.Fatal(err)
	}
	for name, k := range map[string]*ServiceKeys{"old": old, "new": rotated} {
		token, _, err := k.MintServiceToken("payments", "payments", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rotated.Verifier("payments").Verify(token); err != nil {
			t.Errorf("a token of the %s key: %v", name, err)
		}
	}
}

func TestLoadServiceKeys_NamesTheBadFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "payments.pub"), []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadServiceKeys(dir, nil); err == nil || !strings.Contains(err.Error(), "payments.pub") {
		t.Errorf("got %v, want payments.pub named", err)
	}
	if _, err := LoadServiceKeys(t.TempDir(), []string{"records"}); err == nil || !strings.Contains(err.Error(), "records.key") {
		t.Errorf("got %v, want records.key named", err)
	}
}

func TestCalleeOf(t *testing.T) {
	for procedure, want := range map[string]string{
		"/healthcore.scheduling.v1.SchedulingService/GetAppointment": "scheduling",
		"/healthcore.keys.v1.KeysService/Decrypt":                    "keys",
		"/grpc.health.v1.Health/Check":                               "",
		"/healthcore.Nothing":                                        "",
	} {
		if got := CalleeOf(procedure); got != want {
			t.Errorf("CalleeOf(%q) = %q, want %q", procedure, got, want)
		}
	}
}

// callRecorder is the end of a client chain: it keeps the Authorization header of each
// call.
type callRecorder struct{ headers []string }

func (r *callRecorder) unary(_ context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
	r.headers = append(r.headers, req.Header().Get("Authorization"))
	return nil, nil
}

// clientRequest is a client-side request of procedure.
type clientRequest struct {
	connect.AnyRequest
	spec   connect.Spec
	header http.Header
}

func (r *clientRequest) Spec() connect.Spec  { return r.spec }
func (r *clientRequest) Header() http.Header { return r.header }

func call(t *testing.T, next connect.UnaryFunc, procedure string, header http.Header) {
	t.Helper()
	if header == nil {
		header = http.Header{}
	}
	if _, err := next(context.Background(), &clientRequest{spec: connect.Spec{Procedure: procedure, IsClient: true}, header: header}); err != nil {
		t.Fatal(err)
	}
}

func TestServiceCaller_MintsPerCalleeAndReusesUntilAMinuteBeforeExpiry(t *testing.T) {
	k := keysOf(t, map[string]pair{"payments": newPair(t), "scheduling": newPair(t), "pix": newPair(t)})
	now := t0
	c := ServiceCaller(k, "payments").(*serviceCaller)
	c.now = func() time.Time { return now }
	rec := &callRecorder{}
	next := c.WrapUnary(rec.unary)

	call(t, next, "/healthcore.scheduling.v1.SchedulingService/ApplyPaymentOutcome", nil)
	call(t, next, "/healthcore.pix.v1.PixService/GetCharge", nil)
	now = now.Add(ServiceTokenTTL - serviceTokenReuse - time.Second)
	call(t, next, "/healthcore.scheduling.v1.SchedulingService/ApplyPaymentOutcome", nil)
	now = now.Add(time.Second)
	call(t, next, "/healthcore.scheduling.v1.SchedulingService/ApplyPaymentOutcome", nil)
	call(t, next, "/healthcore.scheduling.v1.SchedulingService/ApplyPaymentOutcome", http.Header{"Authorization": {"Bearer user"}})

	h := rec.headers
	if h[0] == h[1] || h[0] != h[2] || h[2] == h[3] || h[4] != "Bearer user" {
		t.Fatalf("headers = %q: want one token per callee, reused until a minute before expiry, and a header already set kept", h)
	}
	for i, want := range map[int]string{0: "scheduling", 1: "pix", 3: "scheduling"} {
		caller, err := verifierAt(k, want, now).Verify(strings.TrimPrefix(h[i], "Bearer "))
		if err != nil || caller != "payments" {
			t.Errorf("call %d: Verify for %s = %q, %v", i, want, caller, err)
		}
	}
}

// streamConn records the request headers of a client stream; the rest of the
// connect.StreamingClientConn interface is never called.
type streamConn struct {
	connect.StreamingClientConn
	header http.Header
}

func (c *streamConn) RequestHeader() http.Header { return c.header }

func TestServiceCaller_SetsTheHeaderOnClientStreams(t *testing.T) {
	k := keysOf(t, map[string]pair{"records": newPair(t), "blobs": newPair(t)})
	conn := &streamConn{header: http.Header{}}
	wrapped := ServiceCaller(k, "records").WrapStreamingClient(func(context.Context, connect.Spec) connect.StreamingClientConn {
		return conn
	})
	wrapped(context.Background(), connect.Spec{Procedure: "/healthcore.blobs.v1.BlobsService/Put", IsClient: true, StreamType: connect.StreamTypeClient})
	token, ok := strings.CutPrefix(conn.header.Get("Authorization"), "Bearer ")
	if !ok {
		t.Fatalf("Authorization = %q", conn.header.Get("Authorization"))
	}
	if caller, err := k.Verifier("blobs").Verify(token); err != nil || caller != "records" {
		t.Errorf("Verify = %q, %v", caller, err)
	}
}
