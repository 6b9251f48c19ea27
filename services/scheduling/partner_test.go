package scheduling

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
)

// partnerFixture is the scheduling fixture with a clinics service, and a scheduling
// service that asks it.
type partnerFixture struct {
	*fixture
	clinics clinicsv1connect.ClinicsServiceClient
	sched   schedulingv1connect.SchedulingServiceClient
	admin   string
}

func newPartnerFixture(t *testing.T) *partnerFixture {
	f := newFixture(t)
	svc, err := clinics.New(clinics.Deps{DB: pgtest.Pool(t, clinics.Schema.Name, clinics.Schema), Logger: testkit.Logger(t),
		Envelope: envelope.New(testkit.Keys(t, "clinics"), envelope.Defaults)}, clinics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	clinicsURL := testkit.Serve(t, f.users.Interceptor("clinics"), func(s *server.Server) { s.Handle(svc.Handler(s.HandlerOptions()...)) })
	deps := f.deps
	deps.Clinics = clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("scheduling")))
	sched, err := New(deps, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.Serve(t, f.users.Interceptor("scheduling"), func(s *server.Server) { s.Handle(sched.Handler(s.HandlerOptions()...)) })
	_, admin := f.users.Sign(accessv1.Role_ROLE_ADMIN, "")
	return &partnerFixture{fixture: f, admin: admin,
		clinics: clinicsv1connect.NewClinicsServiceClient(testkit.HTTPClient(t), clinicsURL),
		sched:   schedulingv1connect.NewSchedulingServiceClient(testkit.HTTPClient(t), url)}
}

func (f *partnerFixture) clinic(cnpj string) string {
	f.t.Helper()
	resp, err := f.clinics.CreateClinic(context.Background(), testkit.Authed(&clinicsv1.CreateClinicRequest{
		Cnpj: cnpj, Name: "Clínica", Email: "contato@clinica.com.br", Phone: "+551133334444"}, f.admin))
	if err != nil {
		f.t.Fatal(err)
	}
	return resp.Msg.GetClinic().GetClinicId()
}

func (f *partnerFixture) availability(token, doctorID string) (*schedulingv1.GetDoctorAvailabilityResponse, error) {
	resp, err := f.sched.GetDoctorAvailability(context.Background(), testkit.Authed(&schedulingv1.GetDoctorAvailabilityRequest{DoctorId: doctorID}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// A clinic reads the availability of its affiliated doctors only: not before the
// doctor accepts, not another clinic, not after the doctor ends it (once the few
// seconds of the cache have passed), and only with agenda.read.
func TestPartner_AClinicReadsTheAvailabilityOfItsAffiliatedDoctorsOnly(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	d := f.listedDoctor()
	f.mustSet(d, mondayMornings())
	sol, lua := f.clinic("11.222.333/0001-81"), f.clinic("11.444.777/0001-61")
	_, solAgenda := f.users.SignPartner(sol, "agenda.read")
	_, luaAgenda := f.users.SignPartner(lua, "agenda.read")
	_, solDirectory := f.users.SignPartner(sol, "directory.read")

	if _, err := f.clinics.InviteDoctor(ctx, testkit.Authed(&clinicsv1.InviteDoctorRequest{ClinicId: sol, DoctorId: d.id}, f.admin)); err != nil {
		t.Fatal(err)
	}
	_, err := f.availability(solAgenda, d.id)
	testkit.WantReason(t, err, ReasonNotAffiliated)

	if _, err := f.clinics.AcceptAffiliation(ctx, testkit.Authed(&clinicsv1.AcceptAffiliationRequest{ClinicId: sol}, d.token)); err != nil {
		t.Fatal(err)
	}
	got, err := f.availability(solAgenda, d.id)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.GetAvailability(); a.GetSlotMinutes() != 50 || len(a.GetWeekly()) != 1 || a.GetWeekly()[0].GetStartTime() != "09:00" {
		t.Errorf("the clinic read %v, want the doctor's Monday mornings", a)
	}
	_, err = f.availability(luaAgenda, d.id)
	testkit.WantReason(t, err, ReasonNotAffiliated)
	_, err = f.availability(solDirectory, d.id)
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
	// The doctor's own RPC is not the clinic's.
	_, err = f.sched.GetAvailability(ctx, testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, solAgenda))
	testkit.WantReason(t, err, authn.ReasonPartnerNotAllowed)

	if _, err := f.clinics.EndAffiliation(ctx, testkit.Authed(&clinicsv1.EndAffiliationRequest{ClinicId: sol}, d.token)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(DefaultConfig().DoctorCacheTTL + time.Second)
	_, err = f.availability(solAgenda, d.id)
	testkit.WantReason(t, err, ReasonNotAffiliated)
}

// A clinic with agenda.write sets the availability of its affiliated doctors, which
// the doctor then sees as their own; any other doctor is refused, and agenda.read
// does not write.
func TestPartner_AClinicSetsTheAvailabilityOfItsAffiliatedDoctorsOnly(t *testing.T) {
	f := newPartnerFixture(t)
	ctx := context.Background()
	d, other := f.listedDoctor(), f.listedDoctor()
	sol := f.clinic("11.222.333/0001-81")
	_, write := f.users.SignPartner(sol, "agenda.write")
	_, read := f.users.SignPartner(sol, "agenda.read")
	if _, err := f.clinics.InviteDoctor(ctx, testkit.Authed(&clinicsv1.InviteDoctorRequest{ClinicId: sol, DoctorId: d.id}, f.admin)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.clinics.AcceptAffiliation(ctx, testkit.Authed(&clinicsv1.AcceptAffiliationRequest{ClinicId: sol}, d.token)); err != nil {
		t.Fatal(err)
	}
	set := func(token, doctorID string) (*schedulingv1.SetDoctorAvailabilityResponse, error) {
		resp, err := f.sched.SetDoctorAvailability(ctx, testkit.Authed(&schedulingv1.SetDoctorAvailabilityRequest{
			DoctorId: doctorID, Availability: mondayMornings()}, token))
		if err != nil {
			return nil, err
		}
		return resp.Msg, nil
	}
	out, err := set(write, d.id)
	if err != nil {
		t.Fatal(err)
	}
	if out.GetSlotsCreated() == 0 || out.GetTimeZone() != "America/Sao_Paulo" {
		t.Errorf("set for the doctor: %v, want slots created in the doctor's zone", out)
	}
	mine, err := f.sched.GetAvailability(ctx, testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, d.token))
	if err != nil || mine.Msg.GetAvailability().GetSlotMinutes() != 50 {
		t.Errorf("the doctor's own availability after the clinic set it: %v, %v", mine, err)
	}
	_, err = set(write, other.id)
	testkit.WantReason(t, err, ReasonNotAffiliated)
	if got, err := f.sched.GetAvailability(ctx, testkit.Authed(&schedulingv1.GetAvailabilityRequest{}, other.token)); err != nil ||
		len(got.Msg.GetAvailability().GetWeekly()) != 0 {
		t.Errorf("a non-affiliated doctor's availability changed: %v, %v", got, err)
	}
	_, err = set(read, d.id)
	testkit.WantReason(t, err, authn.ReasonScopeMissing)
}
