package clinics_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
)

type fixture struct {
	t      *testing.T
	db     *pgxpool.Pool
	users  *testkit.Users
	client clinicsv1connect.ClinicsServiceClient
	url    string
	admin  string // an operator with a second factor
}

func newFixture(t *testing.T) *fixture {
	db := pgtest.Pool(t, clinics.Schema.Name, clinics.Schema)
	users := testkit.NewUsers(t)
	svc, err := clinics.New(clinics.Deps{DB: db, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.Serve(t, users.Interceptor("clinics"), func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	_, admin := users.Sign(accessv1.Role_ROLE_ADMIN, "")
	return &fixture{t: t, db: db, users: users, url: url, admin: admin,
		client: clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), url)}
}

// as returns a client calling as the service caller.
func (f *fixture) as(caller string) clinicsv1connect.ClinicsServiceClient {
	return clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(f.t), f.url, connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller)))
}

// clinic registers a clinic with the n-th test CNPJ.
func (f *fixture) clinic(cnpj string) string {
	f.t.Helper()
	resp, err := f.client.CreateClinic(context.Background(), testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: cnpj, Name: "Clínica Sol", Email: "Contato@ClinicaSol.com.br", Phone: "+551133334444"}, f.admin))
	if err != nil {
		f.t.Fatalf("create clinic: %v", err)
	}
	return resp.Msg.GetClinic().GetClinicId()
}

func (f *fixture) invite(clinicID, doctorID string) *clinicsv1.Affiliation {
	f.t.Helper()
	resp, err := f.client.InviteDoctor(context.Background(), testkit.Authed(&clinicsv1.InviteDoctorRequest{ClinicId: clinicID, DoctorId: doctorID}, f.admin))
	if err != nil {
		f.t.Fatalf("invite: %v", err)
	}
	return resp.Msg.GetAffiliation()
}

func (f *fixture) accept(token, clinicID string) (*clinicsv1.Affiliation, error) {
	resp, err := f.client.AcceptAffiliation(context.Background(), testkit.Authed(&clinicsv1.AcceptAffiliationRequest{ClinicId: clinicID}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetAffiliation(), nil
}

func (f *fixture) check(clinicID, doctorID string) (affiliated, delegated bool) {
	f.t.Helper()
	resp, err := f.as("scheduling").CheckAffiliation(context.Background(), connect.NewRequest(&clinicsv1.CheckAffiliationRequest{ClinicId: clinicID, DoctorId: doctorID}))
	if err != nil {
		f.t.Fatalf("check affiliation: %v", err)
	}
	return resp.Msg.GetAffiliated(), resp.Msg.GetAnswersDelegated()
}

// history lists the affiliation's actions with their actors' roles.
func (f *fixture) history(clinicID, doctorID string) []string {
	f.t.Helper()
	rows, err := f.db.Query(context.Background(), `SELECT action || ' by ' || actor_role FROM affiliation_history
		WHERE clinic_id = $1 AND doctor_id = $2 ORDER BY id`, clinicID, doctorID)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

const (
	cnpjSol  = "11.222.333/0001-81"
	cnpjLua  = "11.444.777/0001-61"
	cnpjMar  = "33000167000101"
	wrongDVs = "11.222.333/0001-82"
)

func TestClinics_CreateChecksTheCNPJAndRefusesOneRegistered(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resp, err := f.client.CreateClinic(ctx, testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: cnpjSol, Name: " Clínica Sol ", Email: "Contato@ClinicaSol.com.br", Phone: "+551133334444"}, f.admin))
	if err != nil {
		t.Fatal(err)
	}
	c := resp.Msg.GetClinic()
	if c.GetCnpj() != "11222333000181" || c.GetName() != "Clínica Sol" || c.GetEmail() != "contato@clinicasol.com.br" {
		t.Errorf("clinic = %v, want the CNPJ's digits, the name trimmed, the e-mail lower-cased", c)
	}
	_, err = f.client.CreateClinic(ctx, testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: "11222333000181", Name: "Outra", Email: "a@b.com.br", Phone: "+551133334444"}, f.admin))
	testkit.WantReason(t, err, clinics.ReasonClinicExists)
	_, err = f.client.CreateClinic(ctx, testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: wrongDVs, Name: "Outra", Email: "a@b.com.br", Phone: "+551133334444"}, f.admin))
	testkit.WantReason(t, err, clinics.ReasonCNPJInvalid)

	// Operators with a second factor only.
	pwdOnly := f.users.SignPrincipal(authn.Principal{UserID: uuid.NewString(), Role: accessv1.Role_ROLE_ADMIN, AMR: []string{"pwd"}})
	_, err = f.client.CreateClinic(ctx, testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: cnpjLua, Name: "Lua", Email: "a@b.com.br", Phone: "+551133334444"}, pwdOnly))
	testkit.WantReason(t, err, authn.ReasonMFARequired)
	_, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	_, err = f.client.GetClinic(ctx, testkit.Authed(&clinicsv1.GetClinicRequest{ClinicId: c.GetClinicId()}, doctor))
	testkit.WantReason(t, err, authn.ReasonRoleNotAllowed)
	_, err = f.client.GetClinic(ctx, testkit.Authed(&clinicsv1.GetClinicRequest{ClinicId: uuid.NewString()}, f.admin))
	testkit.WantReason(t, err, clinics.ReasonClinicNotFound)
}

// Invite, accept, delegate, end, invite again, decline: each step where it applies,
// each audited with its actor, and CheckAffiliation answering as it stands.
func TestClinics_TheAffiliationLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sol := f.clinic(cnpjSol)
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")

	_, err := f.accept(doctor, sol)
	testkit.WantReason(t, err, clinics.ReasonAffiliationNotFound)
	if a := f.invite(sol, doctorID); a.GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_INVITED || a.GetClinicName() != "Clínica Sol" {
		t.Fatalf("invited: %v", a)
	}
	if ok, _ := f.check(sol, doctorID); ok {
		t.Error("an invitation not accepted counts as affiliated")
	}
	// Delegation needs an active affiliation.
	_, err = f.client.SetDelegation(ctx, testkit.Authed(&clinicsv1.SetDelegationRequest{ClinicId: sol, AnswersDelegated: true}, doctor))
	testkit.WantReason(t, err, clinics.ReasonAffiliationState)

	a, err := f.accept(doctor, sol)
	if err != nil || a.GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_ACTIVE {
		t.Fatalf("accept: %v, %v", a, err)
	}
	if ok, delegated := f.check(sol, doctorID); !ok || delegated {
		t.Errorf("after accepting: affiliated %v, delegated %v; want affiliated only", ok, delegated)
	}
	// Inviting an active doctor again changes nothing.
	if a := f.invite(sol, doctorID); a.GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_ACTIVE {
		t.Errorf("inviting an affiliated doctor again: %v", a.GetState())
	}
	if _, err := f.client.SetDelegation(ctx, testkit.Authed(&clinicsv1.SetDelegationRequest{ClinicId: sol, AnswersDelegated: true}, doctor)); err != nil {
		t.Fatal(err)
	}
	if ok, delegated := f.check(sol, doctorID); !ok || !delegated {
		t.Errorf("after delegating: affiliated %v, delegated %v", ok, delegated)
	}
	if _, err := f.client.SetDelegation(ctx, testkit.Authed(&clinicsv1.SetDelegationRequest{ClinicId: sol, AnswersDelegated: false}, doctor)); err != nil {
		t.Fatal(err)
	}
	if _, delegated := f.check(sol, doctorID); delegated {
		t.Error("a revoked delegation still counts")
	}
	if _, err := f.client.SetDelegation(ctx, testkit.Authed(&clinicsv1.SetDelegationRequest{ClinicId: sol, AnswersDelegated: true}, doctor)); err != nil {
		t.Fatal(err)
	}
	// Ending ends the delegation with it.
	end, err := f.client.EndAffiliation(ctx, testkit.Authed(&clinicsv1.EndAffiliationRequest{ClinicId: sol}, doctor))
	if err != nil || end.Msg.GetAffiliation().GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_ENDED || end.Msg.GetAffiliation().GetAnswersDelegated() {
		t.Fatalf("end: %v, %v", end, err)
	}
	if ok, delegated := f.check(sol, doctorID); ok || delegated {
		t.Errorf("after ending: affiliated %v, delegated %v", ok, delegated)
	}
	_, err = f.accept(doctor, sol)
	testkit.WantReason(t, err, clinics.ReasonAffiliationState)

	// Invited again, the doctor declines; a declined invitation cannot be accepted.
	if a := f.invite(sol, doctorID); a.GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_INVITED {
		t.Fatalf("invited again: %v", a.GetState())
	}
	dec, err := f.client.DeclineAffiliation(ctx, testkit.Authed(&clinicsv1.DeclineAffiliationRequest{ClinicId: sol}, doctor))
	if err != nil || dec.Msg.GetAffiliation().GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_DECLINED {
		t.Fatalf("decline: %v, %v", dec, err)
	}
	_, err = f.accept(doctor, sol)
	testkit.WantReason(t, err, clinics.ReasonAffiliationState)
	_, err = f.client.EndAffiliation(ctx, testkit.Authed(&clinicsv1.EndAffiliationRequest{ClinicId: sol}, doctor))
	testkit.WantReason(t, err, clinics.ReasonAffiliationState)

	want := []string{"invite by admin", "accept by doctor", "delegate by doctor", "revoke_delegation by doctor", "delegate by doctor",
		"end by doctor", "invite by admin", "decline by doctor"}
	if got := f.history(sol, doctorID); !slices.Equal(got, want) {
		t.Errorf("history = %q, want %q", got, want)
	}
	// Another doctor has no invitation of this clinic.
	_, other := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "2/SP")
	_, err = f.accept(other, sol)
	testkit.WantReason(t, err, clinics.ReasonAffiliationNotFound)
}

func TestClinics_ADoctorBelongsToSeveralClinics(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sol, lua, mar := f.clinic(cnpjSol), f.clinic(cnpjLua), f.clinic(cnpjMar)
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	for _, c := range []string{sol, lua, mar} {
		f.invite(c, doctorID)
	}
	for _, c := range []string{sol, lua} {
		if _, err := f.accept(doctor, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.client.EndAffiliation(ctx, testkit.Authed(&clinicsv1.EndAffiliationRequest{ClinicId: sol}, doctor)); err != nil {
		t.Fatal(err)
	}
	mine, err := f.client.ListMyAffiliations(ctx, testkit.Authed(&clinicsv1.ListMyAffiliationsRequest{}, doctor))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]clinicsv1.AffiliationState{}
	for _, a := range mine.Msg.GetAffiliations() {
		states[a.GetClinicId()] = a.GetState()
	}
	if len(states) != 3 || states[sol] != clinicsv1.AffiliationState_AFFILIATION_STATE_ENDED ||
		states[lua] != clinicsv1.AffiliationState_AFFILIATION_STATE_ACTIVE || states[mar] != clinicsv1.AffiliationState_AFFILIATION_STATE_INVITED {
		t.Errorf("the doctor's affiliations = %v", states)
	}
	for c, want := range map[string]bool{sol: false, lua: true, mar: false} {
		if ok, _ := f.check(c, doctorID); ok != want {
			t.Errorf("CheckAffiliation(%s) = %v, want %v", c, ok, want)
		}
	}
	got, err := f.client.GetClinic(ctx, testkit.Authed(&clinicsv1.GetClinicRequest{ClinicId: lua}, f.admin))
	if err != nil || len(got.Msg.GetAffiliations()) != 1 || got.Msg.GetAffiliations()[0].GetDoctorId() != doctorID {
		t.Errorf("the clinic's affiliations: %v, %v", got, err)
	}
}

// Eight accepts of one invitation at once: all answer ACTIVE, and one is recorded.
func TestClinics_ConcurrentAcceptsAreOne(t *testing.T) {
	f := newFixture(t)
	sol := f.clinic(cnpjSol)
	doctorID, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	f.invite(sol, doctorID)
	var wg sync.WaitGroup
	errsSeen := make([]error, 8)
	for i := range errsSeen {
		wg.Go(func() {
			a, err := f.accept(doctor, sol)
			if err == nil && a.GetState() != clinicsv1.AffiliationState_AFFILIATION_STATE_ACTIVE {
				t.Errorf("a concurrent accept answered %v", a.GetState())
			}
			errsSeen[i] = err
		})
	}
	wg.Wait()
	for _, err := range errsSeen {
		if err != nil {
			t.Errorf("a concurrent accept: %v", err)
		}
	}
	if got := f.history(sol, doctorID); !slices.Equal(got, []string{"invite by admin", "accept by doctor"}) {
		t.Errorf("history = %q, want one invite and one accept", got)
	}
}

// CheckAffiliation is scheduling's alone.
func TestClinics_CheckAffiliationIsInternal(t *testing.T) {
	f := newFixture(t)
	sol := f.clinic(cnpjSol)
	req := &clinicsv1.CheckAffiliationRequest{ClinicId: sol, DoctorId: uuid.NewString()}
	_, err := f.as("records").CheckAffiliation(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
	_, doctor := f.users.Sign(accessv1.Role_ROLE_DOCTOR, "1/SP")
	_, err = f.client.CheckAffiliation(context.Background(), testkit.Authed(req, doctor))
	testkit.WantReason(t, err, authn.ReasonServiceOnly)
}

// CheckClinic is identity's alone: whether a clinic exists, with its name.
func TestClinics_CheckClinicIsIdentitys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sol := f.clinic(cnpjSol)
	for id, want := range map[string]*clinicsv1.CheckClinicResponse{
		sol:              {Exists: true, Name: "Clínica Sol"},
		uuid.NewString(): {},
	} {
		got, err := f.as("identity").CheckClinic(ctx, connect.NewRequest(&clinicsv1.CheckClinicRequest{ClinicId: id}))
		if err != nil {
			t.Fatal(err)
		}
		if got.Msg.GetExists() != want.GetExists() || got.Msg.GetName() != want.GetName() {
			t.Errorf("CheckClinic(%s) = %v, want %v", id, got.Msg, want)
		}
	}
	_, err := f.as("scheduling").CheckClinic(ctx, connect.NewRequest(&clinicsv1.CheckClinicRequest{ClinicId: sol}))
	testkit.WantReason(t, err, authn.ReasonCallerNotAllowed)
}
