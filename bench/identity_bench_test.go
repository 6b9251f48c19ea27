package bench

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/crypto/argon2"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/identity"
)

// identityStack is the identity service with production settings (argon2id at its
// default cost) on the production server stack, and a client.
func identityStack(b *testing.B) identityv1connect.IdentityServiceClient {
	b.Helper()
	cfg := identity.DefaultConfig()
	// Benchmarks log in thousands of times from one address and account.
	cfg.Throttle.AccountFree, cfg.Throttle.AccountLockoutAfter = 1<<30, 1<<30
	cfg.Throttle.AddressFree, cfg.Throttle.AddressLockoutAfter = 1<<30, 1<<30
	cfg.Register.PerAddress = 1 << 30
	db := pgtest.Pool(b, identity.Schema.Name, identity.Schema)
	svc, err := identity.New(context.Background(), identity.Deps{DB: db, Envelope: envelope.New(testkit.Keys(b, "identity"), envelope.Defaults)}, cfg)
	if err != nil {
		b.Fatal(err)
	}
	url := testkit.Serve(b, authn.NewInterceptor(authn.NewVerifier(svc.KeySource()), testkit.ServiceVerifier("identity")), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	c := identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(b), url, connect.WithGRPC())
	_, err = c.RegisterPatient(context.Background(), connect.NewRequest(benchPatient("bench@example.com", "529.982.247-25")))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkLogin measures a Login RPC end to end: throttle check, account lookup,
// argon2id verification (19 MiB, t=2, p=1), session and refresh token insert, audit
// row, Ed25519 signing. Sub-benchmarks compare the three answers a caller can get, whose
// costs should be alike so timing does not reveal whether an account exists.
func BenchmarkLogin(b *testing.B) {
	c := identityStack(b)
	cases := []struct {
		name    string
		req     *identityv1.LoginRequest
		wantErr bool
	}{
		{"ok", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "bench@example.com"}, Password: "correct horse battery"}, false},
		{"wrong-password", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "bench@example.com"}, Password: "wrong password"}, true},
		{"unknown-account", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "nobody@example.com"}, Password: "wrong password"}, true},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				_, err := c.Login(context.Background(), connect.NewRequest(tc.req))
				if (err != nil) != tc.wantErr {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
	b.Run("ok-parallel", func(b *testing.B) {
		var failures atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.Login(context.Background(), connect.NewRequest(cases[0].req)); err != nil {
					failures.Add(1)
				}
			}
		})
		if n := failures.Load(); n > 0 {
			b.Fatalf("%d logins failed", n)
		}
	})
}

// BenchmarkRegister measures a RegisterPatient RPC for a new account and for details
// that are taken, whose costs should be alike (the argon2id hash and the sealing are
// done either way) so timing does not reveal whether an e-mail or a CPF is registered;
// each sub-benchmark's ns/op is the comparison.
func BenchmarkRegister(b *testing.B) {
	c := identityStack(b) // bench@example.com, 529.982.247-25
	var n atomic.Int64
	fresh := func() (string, string) {
		i := n.Add(1)
		return fmt.Sprintf("bench%d@example.com", i), testkit.CPF(int(i) + 1000)
	}
	cases := []struct {
		name string
		req  func() *identityv1.RegisterPatientRequest
	}{
		{"new", func() *identityv1.RegisterPatientRequest { return benchPatient(fresh()) }},
		{"taken-email", func() *identityv1.RegisterPatientRequest {
			_, cpf := fresh()
			return benchPatient("bench@example.com", cpf)
		}},
		{"taken-cpf", func() *identityv1.RegisterPatientRequest {
			email, _ := fresh()
			return benchPatient(email, "529.982.247-25")
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := c.RegisterPatient(context.Background(), connect.NewRequest(tc.req())); err != nil {
					b.Fatalf("register: %v", err)
				}
			}
		})
	}
}

func benchPatient(email, cpf string) *identityv1.RegisterPatientRequest {
	return &identityv1.RegisterPatientRequest{Name: "Bench Patient", Email: email, Cpf: cpf, Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12"}
}

// benchProfiles are the two token profiles: the default, and API Gateway's.
var benchProfiles = []authn.TokenProfile{
	authn.DefaultTokenProfile,
	{Alg: authn.AlgRS256, Issuer: "https://api.example.com", Audience: "healthcore-api"},
}

// benchKey makes a signing key of the profile's algorithm and its public half.
func benchKey(b *testing.B, tp authn.TokenProfile) (authn.SigningKey, authn.PublicKey) {
	b.Helper()
	if tp.Alg == authn.AlgRS256 {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			b.Fatal(err)
		}
		return authn.SigningKey{KID: "k1", Private: priv}, authn.PublicKey{KID: "k1", Key: &priv.PublicKey}
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return authn.SigningKey{KID: "k1", Private: priv}, authn.PublicKey{KID: "k1", Key: pub}
}

var benchPrincipal = authn.Principal{UserID: "0190a2b4-0000-7000-8000-000000000001", Role: accessv1.Role_ROLE_DOCTOR, CRM: "123456/SP", SessionID: "s"}

// BenchmarkVerifyToken measures what every authenticated RPC of every service pays:
// parsing and verifying an access token against the cached JWKS, under each profile.
func BenchmarkVerifyToken(b *testing.B) {
	for _, tp := range benchProfiles {
		b.Run(tp.Alg, func(b *testing.B) {
			key, pub := benchKey(b, tp)
			v := authn.NewVerifier(func(context.Context) ([]authn.PublicKey, error) { return []authn.PublicKey{pub}, nil }).WithProfile(tp)
			tok, _, err := tp.Sign(key, benchPrincipal, time.Now(), 15*time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if _, err := v.Verify(context.Background(), tok); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("parallel", func(b *testing.B) {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := v.Verify(context.Background(), tok); err != nil {
							panic(fmt.Sprint(err))
						}
					}
				})
			})
		})
	}
}

// BenchmarkSignToken measures what identity pays per login and refresh to sign the
// access token, under each profile.
func BenchmarkSignToken(b *testing.B) {
	for _, tp := range benchProfiles {
		b.Run(tp.Alg, func(b *testing.B) {
			key, _ := benchKey(b, tp)
			for b.Loop() {
				if _, _, err := tp.Sign(key, benchPrincipal, time.Now(), 15*time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetMe measures an authenticated RPC end to end through the interceptor
// chain: token verification plus one account read and decryption of the sealed fields
// with a cached data key, and the audit row.
func BenchmarkGetMe(b *testing.B) {
	c := identityStack(b)
	resp, err := c.Login(context.Background(), connect.NewRequest(&identityv1.LoginRequest{
		Login: &identityv1.LoginRequest_Email{Email: "bench@example.com"}, Password: "correct horse battery"}))
	if err != nil {
		b.Fatal(err)
	}
	token := "Bearer " + resp.Msg.GetTokens().GetAccessToken()
	for b.Loop() {
		req := connect.NewRequest(&identityv1.GetMeRequest{})
		req.Header().Set("Authorization", token)
		me, err := c.GetMe(context.Background(), req)
		if err != nil || me.Msg.GetPatient().GetCpf() == "" {
			b.Fatalf("GetMe: %v", err)
		}
	}
}

// BenchmarkArgon2id is the password hash alone at the production parameters: the
// floor under every login.
func BenchmarkArgon2id(b *testing.B) {
	p := identity.DefaultArgon2
	salt := make([]byte, 16)
	for b.Loop() {
		argon2.IDKey([]byte("correct horse battery"), salt, p.Iterations, p.MemoryKiB, p.Parallelism, 32)
	}
}
