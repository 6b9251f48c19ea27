package identity

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// fixture is an identity service on the production server stack, backed by a fresh
// database and a real keys service.
type fixture struct {
	t      *testing.T
	svc    *Service
	db     *pgxpool.Pool
	client identityv1connect.IdentityServiceClient // Connect protocol
	grpc   identityv1connect.IdentityServiceClient // gRPC protocol
	clock  *testkit.Clock
	url    string
	env    *envelope.Envelope
}

// testArgon2 keeps tests fast; production parameters are measured in bench/.
var testArgon2 = Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}

func newFixture(t *testing.T, tweak func(*Config)) *fixture {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Argon2 = testArgon2
	// Tests register many accounts from loopback; the registration limit's own test
	// sets it back.
	cfg.Register.PerAddress = 1_000_000
	if tweak != nil {
		tweak(&cfg)
	}
	clk := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	db := pgtest.Pool(t, Schema.Name, Schema)
	env := envelope.New(testkit.Keys(t, "identity"), envelope.Defaults)
	svc, err := New(context.Background(), Deps{DB: db, Envelope: env, Logger: testkit.Logger(t), Now: clk.Now}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	verifier := authn.NewVerifier(svc.KeySource()).WithProfile(cfg.Tokens).CheckRevocations(svc.RevocationSource(), authn.DefaultRevocationPolicy)
	verifier.Now = clk.Now
	url := testkit.Serve(t, authn.NewInterceptor(verifier, testkit.ServiceVerifier("identity")), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	return &fixture{
		t: t, svc: svc, db: db, clock: clk, url: url, env: env,
		client: identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), url),
		grpc:   identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC()),
	}
}

func patientReq(email, cpf string) *identityv1.RegisterPatientRequest {
	return &identityv1.RegisterPatientRequest{
		Name: "Maria da Silva", Email: email, Cpf: cpf, Password: "correct horse battery",
		Phone: "+5511987654321", BirthDate: "1985-04-12",
	}
}

func doctorReq(number, uf, email string) *identityv1.RegisterDoctorRequest {
	return &identityv1.RegisterDoctorRequest{
		Name: "Dr. João Pereira", Crm: &identityv1.Crm{Number: number, Uf: uf}, Email: email, Password: "doctor password 1",
	}
}

// registerPatient registers a patient and returns the account created, read from the
// database: the answer names none.
func (f *fixture) registerPatient(email, cpf string) *identityv1.Account {
	f.t.Helper()
	if _, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(patientReq(email, cpf))); err != nil {
		f.t.Fatalf("register patient: %v", err)
	}
	return f.stored("patient", email)
}

func (f *fixture) registerDoctor(number, uf string) *identityv1.Account {
	f.t.Helper()
	email := "doc" + number + "@clinica.com.br"
	if _, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctorReq(number, uf, email))); err != nil {
		f.t.Fatalf("register doctor: %v", err)
	}
	return f.stored("doctor", email)
}

// stored returns the account of role with email, which must exist.
func (f *fixture) stored(role, email string) *identityv1.Account {
	f.t.Helper()
	a, ok, err := f.svc.accounts.findByRoleEmail(context.Background(), f.db, role, normalizeEmail(email))
	if err != nil || !ok {
		f.t.Fatalf("account %s %s: found %v, %v", role, email, ok, err)
	}
	return a.proto()
}

func (f *fixture) login(req *identityv1.LoginRequest) (*identityv1.LoginResponse, error) {
	resp, err := f.client.Login(context.Background(), connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustLogin(req *identityv1.LoginRequest) *identityv1.TokenPair {
	f.t.Helper()
	resp, err := f.login(req)
	if err != nil {
		f.t.Fatalf("login: %v", err)
	}
	return resp.GetTokens()
}

func emailLogin(email, password string) *identityv1.LoginRequest {
	return &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: email}, Password: password}
}

func (f *fixture) me(access string) (*identityv1.GetMeResponse, error) {
	req := connect.NewRequest(&identityv1.GetMeRequest{})
	req.Header().Set("Authorization", "Bearer "+access)
	resp, err := f.client.GetMe(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}
