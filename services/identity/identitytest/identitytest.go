// Package identitytest starts a real identity service (with keys and blobs services of
// its own) for other packages' tests, and makes doctors in any verification status
// through identity's own use cases: registration, the doctor's evidence and the
// operator's decision.
package identitytest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/notify"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/blobs"
	"healthcore/services/identity"
)

// Argon2 keeps password hashing fast in tests; production parameters are measured in
// bench/.
var Argon2 = identity.Argon2Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1, MaxConcurrent: 4}

// Identity is a running identity service.
type Identity struct {
	t  testing.TB
	db *pgxpool.Pool
	// Service is the service itself, for its key and revocation sources.
	Service *identity.Service
	// URL is where it serves.
	URL string
	// Client calls it with no credential (public RPCs, or with a bearer token).
	Client identityv1connect.IdentityServiceClient
	users  *testkit.Users
	admin  string // an operator's access token (with a second factor)
	seq    atomic.Int64
}

// Options tune Start.
type Options struct {
	// Users, when set, signs tokens identity accepts besides its own (the test's
	// patients and doctors, as every other service of the test accepts them).
	Users *testkit.Users
	// Deps adjusts identity's dependencies (clients of directory, scheduling,
	// notifications) before it is built.
	Deps func(*identity.Deps)
	// Config adjusts its settings.
	Config func(*identity.Config)
}

// Start builds identity on db (search_path = identity, migrated) and serves it until
// the test ends. Its jobs are not worked: tests that need them call Run.
func Start(t testing.TB, db *pgxpool.Pool, o Options) *Identity {
	t.Helper()
	ctx := context.Background()
	cfg := identity.DefaultConfig()
	cfg.Argon2 = Argon2
	cfg.Register.PerAddress = 1_000_000
	if o.Config != nil {
		o.Config(&cfg)
	}
	keys := testkit.Keys(t, "identity")
	deps := identity.Deps{DB: db, Envelope: envelope.New(keys, envelope.Defaults), Keys: keys, Blobs: Blobs(t, "identity"), Logger: testkit.Logger(t)}
	if o.Deps != nil {
		o.Deps(&deps)
	}
	svc, err := identity.New(ctx, deps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	users := o.Users
	if users == nil {
		users = testkit.NewUsers(t)
	}
	own, theirs := svc.KeySource(), users.KeySource()
	both := func(ctx context.Context) ([]authn.PublicKey, error) {
		a, err := own(ctx)
		if err != nil {
			return nil, err
		}
		b, err := theirs(ctx)
		return append(a, b...), err
	}
	verifier := authn.NewVerifier(both).WithProfile(cfg.Tokens).CheckRevocations(svc.RevocationSource(), authn.DefaultRevocationPolicy)
	url := testkit.Serve(t, authn.NewInterceptor(verifier, testkit.ServiceVerifier("identity")), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	id := &Identity{t: t, db: db, Service: svc, URL: url, users: users,
		Client: identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(t), url)}
	adminID, err := identity.CreateAdmin(ctx, db, cfg, "Operadora de Testes", "operadora@healthcore.test", "Staple-Operator-Horse-42", deps.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	id.admin = users.SignPrincipal(authn.Principal{UserID: adminID, Role: accessv1.Role_ROLE_ADMIN, EmailVerified: true, AMR: []string{"pwd", "otp"}})
	return id
}

// Blobs starts a blobs service with its local driver in a temporary folder and returns
// a client that calls it as caller (identity or records).
func Blobs(t testing.TB, caller string) blobsv1connect.BlobsServiceClient {
	t.Helper()
	driver, err := blobs.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.Serve(t, testkit.ServiceAuth("blobs"), func(s *server.Server) {
		s.Handle(blobs.New(driver).Handler(s.HandlerOptions()...))
	})
	return blobsv1connect.NewBlobsServiceClient(testkit.HTTPClient(t), url, connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller)))
}

// As returns a client that calls identity as the service caller (one its internal
// RPCs list, e.g. scheduling for GetDoctorStatus).
func (id *Identity) As(caller string) identityv1connect.IdentityServiceClient {
	return identityv1connect.NewIdentityServiceClient(testkit.HTTPClient(id.t), id.URL, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller(caller)))
}

// AdminToken is an operator's access token, with the second factor the operator RPCs
// require.
func (id *Identity) AdminToken() string { return id.admin }

// Card is the smallest PNG: a CRM card identity accepts.
var Card = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// Doctor registers a doctor with a new CRM in SP, submits the evidence, and returns
// its id and CRM ("123456/SP"): PENDING_VERIFICATION, with evidence.
func (id *Identity) Doctor() (doctorID, crm string) {
	id.t.Helper()
	number := fmt.Sprint(700000 + id.seq.Add(1))
	return id.DoctorWithCRM(number, "SP"), number + "/SP"
}

// DoctorWithCRM registers a doctor with the CRM and submits the evidence; it returns
// the doctor's id (PENDING_VERIFICATION).
func (id *Identity) DoctorWithCRM(number, uf string) string {
	id.t.Helper()
	ctx := context.Background()
	n := id.seq.Add(1)
	crm := &identityv1.Crm{Number: number, Uf: uf}
	if _, err := id.Client.RegisterDoctor(ctx, connect.NewRequest(&identityv1.RegisterDoctorRequest{
		Name: "Dra. Ana Souza", Crm: crm,
		Email: fmt.Sprintf("medica%d-%s@clinica.test", n, number), Password: "Staple-Doctor-Horse-42"})); err != nil {
		id.t.Fatalf("register doctor %s/%s: %v", number, uf, err)
	}
	// Registration answers alike whoever registers: the new account is the recipient of
	// the verification link it queued last (a login by CRM could name an older
	// competing claim of the same CRM).
	doctorID := id.newestLinkRecipient()
	token := id.users.SignPrincipal(authn.Principal{UserID: doctorID, Role: accessv1.Role_ROLE_DOCTOR, CRM: number + "/" + uf,
		EmailVerified: true, AMR: []string{"pwd", "otp"}})
	if _, err := id.Client.SubmitVerification(ctx, testkit.Authed(&identityv1.SubmitVerificationRequest{
		Crm: &identityv1.Crm{Number: number, Uf: uf}, Card: Card,
		Specialties: []*identityv1.ClaimedSpecialty{{Code: "cardiologia", Rqe: "4567"}}}, token)); err != nil {
		id.t.Fatalf("submit evidence of %s/%s: %v", number, uf, err)
	}
	return doctorID
}

// VerifiedDoctor returns a new doctor an operator verified, and its CRM.
func (id *Identity) VerifiedDoctor() (doctorID, crm string) {
	id.t.Helper()
	doctorID, crm = id.Doctor()
	id.Approve(doctorID)
	return doctorID, crm
}

// Approve verifies a pending doctor as the operator.
func (id *Identity) Approve(doctorID string) *identityv1.ApproveDoctorResponse {
	id.t.Helper()
	resp, err := id.Client.ApproveDoctor(context.Background(), testkit.Authed(&identityv1.ApproveDoctorRequest{DoctorId: doctorID}, id.admin))
	if err != nil {
		id.t.Fatalf("approve doctor %s: %v", doctorID, err)
	}
	return resp.Msg
}

// Suspend suspends a verified doctor as the operator.
func (id *Identity) Suspend(doctorID, reason string) {
	id.t.Helper()
	if _, err := id.Client.SuspendDoctor(context.Background(), testkit.Authed(&identityv1.SuspendDoctorRequest{
		DoctorId: doctorID, Reason: reason}, id.admin)); err != nil {
		id.t.Fatalf("suspend doctor %s: %v", doctorID, err)
	}
}

// Patient registers a patient named name, with a new e-mail and CPF, and returns its
// id. The account exists in identity (GetFirstNames, GetContact find it); tokens for
// it are signed by the test's Users (SignPrincipal with this id).
func (id *Identity) Patient(name string) string {
	id.t.Helper()
	n := id.seq.Add(1)
	if _, err := id.Client.RegisterPatient(context.Background(), connect.NewRequest(&identityv1.RegisterPatientRequest{
		Name: name, Email: fmt.Sprintf("paciente%d@exemplo.test", n), Cpf: testkit.CPF(int(9000 + n)),
		Password: "Staple-Patient-Horse-42", Phone: "+5511987654321", BirthDate: "1990-05-17"})); err != nil {
		id.t.Fatalf("register patient %s: %v", name, err)
	}
	return id.newestLinkRecipient()
}

// Run works identity's jobs (the verdicts' publication, notices) until the test ends.
func (id *Identity) Run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = id.Service.Run(ctx)
	}()
	id.t.Cleanup(func() {
		cancel()
		<-done
	})
}

// newestLinkRecipient returns the account of the e-mail verification link queued last.
func (id *Identity) newestLinkRecipient() string {
	id.t.Helper()
	queued, err := notify.Queued(context.Background(), id.db, "identity.notify")
	if err != nil {
		id.t.Fatal(err)
	}
	for i := len(queued) - 1; i >= 0; i-- {
		if queued[i].GetEvent() == notificationsv1.Event_EVENT_EMAIL_VERIFICATION {
			return queued[i].GetRecipientId()
		}
	}
	id.t.Fatal("no e-mail verification link queued")
	return ""
}
