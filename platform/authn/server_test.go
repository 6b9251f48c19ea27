package authn_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
	"healthcore/services/keys"
)

// identityStack is a real identity service on the production server stack whose
// authenticator reads the JWKS over the network with JWKSFromIdentity, as every other
// service does — here from the identity service itself.
type identityStack struct {
	svc    *identity.Service
	db     *pgxpool.Pool
	client identityv1connect.IdentityServiceClient
}

func startIdentity(t *testing.T) *identityStack {
	t.Helper()
	return startIdentityAs(t, authn.DefaultTokenProfile)
}

// startIdentityAs starts the stack with tokens of profile tp.
func startIdentityAs(t *testing.T, tp authn.TokenProfile) *identityStack {
	t.Helper()
	ctx := context.Background()
	db := pgtest.Pool(t, identity.Schema.Name, identity.Schema)
	cfg := identity.DefaultConfig()
	cfg.Tokens = tp
	cfg.Argon2 = identity.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}
	svc, err := identity.New(ctx, identity.Deps{
		DB: db, Envelope: envelope.New(testkit.Keys(t, "identity"), envelope.Defaults), Logger: testkit.Logger(t),
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var self atomic.Pointer[identityv1connect.IdentityServiceClient] // known once the server listens
	verifier := authn.NewVerifier(func(ctx context.Context) ([]authn.PublicKey, error) {
		return authn.JWKSFromIdentity(*self.Load())(ctx)
	}).WithProfile(tp)
	url := testkit.Serve(t, authn.NewInterceptor(verifier, testkit.ServiceVerifier("identity")), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	client := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC())
	self.Store(&client)
	return &identityStack{svc: svc, db: db, client: client}
}

// withToken returns a request carrying an Authorization header ("" sends none).
func withToken[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	return req
}

// Under either token profile: EdDSA, and RS256 (RSA keys through the JWKS over gRPC).
func TestInterceptor_OverTheWireThePrincipalReachesTheHandler(t *testing.T) {
	for _, tp := range []authn.TokenProfile{
		authn.DefaultTokenProfile,
		{Alg: authn.AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"},
	} {
		t.Run(tp.Alg, func(t *testing.T) { overTheWire(t, startIdentityAs(t, tp)) })
	}
}

func overTheWire(t *testing.T, s *identityStack) {
	ctx := context.Background()
	_, err := s.client.RegisterPatient(ctx, withToken(&identityv1.RegisterPatientRequest{
		Name: "Maria da Silva", Email: "maria@example.com", Cpf: "529.982.247-25", Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	}, ""))
	if err != nil {
		t.Fatal(err)
	}
	login, err := s.client.Login(ctx, withToken(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Email{Email: "maria@example.com"}, Password: "correct horse battery",
	}, ""))
	if err != nil {
		t.Fatal(err)
	}
	access := login.Msg.GetTokens().GetAccessToken()

	me, err := s.client.GetMe(ctx, withToken(&identityv1.GetMeRequest{}, access))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := me.Msg.GetAccount().GetId(), login.Msg.GetAccount().GetId(); got != want || want == "" {
		t.Errorf("GetMe answered for account %q, want the caller %q", got, want)
	}
	if me.Msg.GetAccount().GetRole() != accessv1.Role_ROLE_PATIENT || me.Msg.GetPatient().GetCpf() != "529.982.247-25" {
		t.Errorf("GetMe = %v, want the patient's own profile", me.Msg)
	}

	t.Run("no token", func(t *testing.T) {
		_, err := s.client.GetMe(ctx, withToken(&identityv1.GetMeRequest{}, ""))
		testkit.WantReason(t, err, authn.ReasonTokenMissing)
	})
	t.Run("bad token", func(t *testing.T) {
		_, err := s.client.GetMe(ctx, withToken(&identityv1.GetMeRequest{}, access[:len(access)-4]+"AAAA"))
		testkit.WantReason(t, err, authn.ReasonTokenInvalid)
	})
	t.Run("patient on an admin method", func(t *testing.T) {
		_, err := s.client.RotateSigningKey(ctx, withToken(&identityv1.RotateSigningKeyRequest{}, access))
		testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
	})
	t.Run("service token on a user method", func(t *testing.T) {
		token, _, err := testkit.ServiceKeys().MintServiceToken("payments", "identity", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.client.GetMe(ctx, withToken(&identityv1.GetMeRequest{}, token))
		testkit.WantReason(t, err, authn.ReasonTokenInvalid)
	})
}

func TestJWKSFromIdentity_DecodesThePublishedKeys(t *testing.T) {
	s := startIdentity(t)
	ctx := context.Background()
	// A retired key is published too, for as long as its tokens may live.
	retired, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(ctx, `INSERT INTO signing_keys (kid, public_key, private_key_sealed, retired_at)
		VALUES ('retired-key', $1, '\x00', now())`, []byte(retired)); err != nil {
		t.Fatal(err)
	}

	got, err := authn.JWKSFromIdentity(s.client)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.svc.KeySource()(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got) != len(want) {
		t.Fatalf("JWKS gave %d keys, the database publishes %d; want 2", len(got), len(want))
	}
	for i := range want {
		if got[i].KID != want[i].KID || !reflect.DeepEqual(got[i].Key, want[i].Key) {
			t.Errorf("key %d = %s %x, want %s %x", i, got[i].KID, got[i].Key, want[i].KID, want[i].Key)
		}
	}
	if got[1].KID != "retired-key" || !retired.Equal(got[1].Key) {
		t.Errorf("retired key decoded as %s %x, want retired-key %x", got[1].KID, got[1].Key, retired)
	}
}

func TestJWKSFromIdentity_RefusesAKeyWithABadX(t *testing.T) {
	s := startIdentity(t)
	ctx := context.Background()
	if _, err := s.db.Exec(ctx, `INSERT INTO signing_keys (kid, public_key, private_key_sealed, retired_at)
		VALUES ('short-key', $1, '\x00', now())`, make([]byte, ed25519.PublicKeySize-1)); err != nil {
		t.Fatal(err)
	}

	keys, err := authn.JWKSFromIdentity(s.client)(ctx)
	if err == nil {
		t.Fatalf("decoded %d keys from a JWKS with a 31-byte key, want an error", len(keys))
	}
	if !strings.Contains(err.Error(), `"short-key"`) || !strings.Contains(err.Error(), "bad x") {
		t.Errorf("error %q does not name the bad key", err)
	}

	// A verifier over such a set refuses to guess: the keys are unavailable.
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	tok, _, err := authn.Sign(authn.SigningKey{KID: "unknown", Private: stranger},
		authn.Principal{UserID: "u1", Role: accessv1.Role_ROLE_PATIENT}, time.Now(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, err = authn.NewVerifier(authn.JWKSFromIdentity(s.client)).Verify(ctx, tok)
	if !errs.Has(err, authn.ReasonKeysUnavailable) {
		t.Fatalf("got %v %q (%v), want %v", errs.Code(err), errs.ReasonOf(err), err, authn.ReasonKeysUnavailable)
	}
}

// startKeys serves the keys service (every method internal, for identity, records and
// scheduling) and returns its URL.
func startKeys(t *testing.T) string {
	t.Helper()
	driver, err := keys.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return testkit.Serve(t, testkit.ServiceAuth("keys"), func(s *server.Server) {
		s.Handle(keys.New(driver).Handler(s.HandlerOptions()...))
	})
}

func TestServiceCaller_ProvesTheCallerToInternalMethods(t *testing.T) {
	url := startKeys(t)
	tests := []struct {
		name   string
		caller connect.Interceptor // nil: no service token
		reason errs.Reason         // zero: the call succeeds
	}{
		{"a listed caller", testkit.Caller("records"), errs.Reason{}},
		{"a caller not listed", testkit.Caller("payments"), authn.ReasonCallerNotAllowed},
		{"another audience", audience("records", "blobs"), authn.ReasonServiceTokenInvalid},
		{"no token", nil, authn.ReasonTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent atomic.Value // the Authorization header the client put on the wire
			sent.Store("")
			record := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
				return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
					sent.Store(req.Header().Get("Authorization"))
					return next(ctx, req)
				}
			})
			var interceptors []connect.Interceptor
			if tt.caller != nil {
				interceptors = append(interceptors, tt.caller)
			}
			interceptors = append(interceptors, record) // runs after the caller's
			client := keysv1connect.NewKeysServiceClient(testkit.HTTPClient(t), url,
				connect.WithGRPC(), connect.WithInterceptors(interceptors...))

			resp, err := client.GenerateDataKey(context.Background(), connect.NewRequest(&keysv1.GenerateDataKeyRequest{}))
			if got := sent.Load().(string); (tt.caller != nil) != strings.HasPrefix(got, "Bearer ey") {
				t.Errorf("Authorization sent = %q", got)
			}
			if tt.reason == (errs.Reason{}) {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(resp.Msg.GetPlaintext()); n != 32 {
					t.Errorf("data key has %d bytes, want 32", n)
				}
				return
			}
			testkit.WantReason(t, err, tt.reason)
		})
	}
}

// audience is a client interceptor sending caller's token for the service aud,
// whatever service the call goes to.
func audience(caller, aud string) connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			token, _, err := testkit.ServiceKeys().MintServiceToken(caller, aud, time.Now())
			if err != nil {
				return nil, err
			}
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	})
}
