package directory

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/platform/testkit"
)

// as is a client of the fixture's directory calling as the service caller.
func (f *fixture) as(caller string) directoryv1connect.DirectoryServiceClient {
	return directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(f.t), f.url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller(caller)))
}

// verdict sends identity's verdict on a doctor, changed at at.
func (f *fixture) verdict(id string, listed bool, at time.Time) {
	f.t.Helper()
	if _, err := f.as("identity").SetDoctorListing(context.Background(), connect.NewRequest(&directoryv1.SetDoctorListingRequest{
		DoctorId: id, Listed: listed, ChangeTime: timestamppb.New(at),
	})); err != nil {
		f.t.Fatalf("set listing of %s to %v: %v", id, listed, err)
	}
}

// shown reports whether every public way to find a doctor finds it — search by name,
// GetDoctor, the review listing — or none does; a mix fails the test.
func (f *fixture) shown(id, name string) bool {
	f.t.Helper()
	found := slices.Contains(ids(f.mustSearch(&directoryv1.SearchDoctorsRequest{Name: name})), id)
	_, getErr := f.getDoctor(id)
	_, reviewsErr := f.client.ListDoctorReviews(context.Background(), connect.NewRequest(&directoryv1.ListDoctorReviewsRequest{DoctorId: id}))
	if !found {
		testkit.WantReason(f.t, getErr, ReasonDoctorNotFound)
		testkit.WantReason(f.t, reviewsErr, ReasonDoctorNotFound)
		return false
	}
	if getErr != nil || reviewsErr != nil {
		f.t.Fatalf("found by search, but GetDoctor: %v, ListDoctorReviews: %v", getErr, reviewsErr)
	}
	return true
}

// practice is what scheduling reads of the doctor.
func (f *fixture) practice(id string) *directoryv1.GetPracticeSettingsResponse {
	f.t.Helper()
	resp, err := f.as("scheduling").GetPracticeSettings(context.Background(),
		connect.NewRequest(&directoryv1.GetPracticeSettingsRequest{DoctorId: id}))
	if err != nil {
		f.t.Fatalf("practice settings: %v", err)
	}
	return resp.Msg
}

func TestSetDoctorListing_UnverifiedDoctorKeepsADraftHiddenUntilVerified(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.unverifiedDoctor()
	up := f.mustUpsert(d.token, input("Dra. Pendente Verificação", saoPaulo, 30000, "cardiologia"))
	if up.GetProfile().GetListed() || !slices.Equal(up.GetMissing(), []string{"verification"}) {
		t.Fatalf("complete profile of an unverified doctor: listed %v, missing %v; want unlisted, missing [verification]",
			up.GetProfile().GetListed(), up.GetMissing())
	}
	mine, err := f.client.GetMyProfile(context.Background(), testkit.Authed(&directoryv1.GetMyProfileRequest{}, d.token))
	if err != nil || mine.Msg.GetProfile().GetDisplayName() != "Dra. Pendente Verificação" ||
		!slices.Equal(mine.Msg.GetMissing(), []string{"verification"}) {
		t.Fatalf("the doctor's own draft: %v, %v", mine, err)
	}
	if f.shown(d.id, "Pendente") {
		t.Fatal("an unverified doctor is found")
	}
	// Scheduling still reads the practice, to build the agenda of a doctor preparing to
	// practise; it refuses bookings of an unlisted one.
	if p := f.practice(d.id); p.GetListed() || p.GetTimeZone() != "America/Sao_Paulo" || p.GetPrice().GetAmountCents() != 30000 {
		t.Errorf("practice settings of an unverified doctor: %v", p)
	}

	verifiedAt := time.Now()
	f.verdict(d.id, true, verifiedAt)
	if !f.shown(d.id, "Pendente") {
		t.Fatal("a verified doctor with a complete profile is not found")
	}
	if p := f.practice(d.id); !p.GetListed() {
		t.Errorf("practice settings of a listed doctor: %v", p)
	}
	mine, err = f.client.GetMyProfile(context.Background(), testkit.Authed(&directoryv1.GetMyProfileRequest{}, d.token))
	if err != nil || !mine.Msg.GetProfile().GetListed() || len(mine.Msg.GetMissing()) != 0 {
		t.Fatalf("own profile once verified: %v, %v", mine, err)
	}

	// Suspended: hidden again, the draft still the doctor's.
	f.verdict(d.id, false, verifiedAt.Add(time.Minute))
	if f.shown(d.id, "Pendente") {
		t.Fatal("a suspended doctor is found")
	}
	if _, err := f.upsert(d.token, input("Dra. Pendente Verificação", saoPaulo, 35000, "cardiologia")); err != nil {
		t.Fatalf("a suspended doctor edits the draft: %v", err)
	}
	if f.shown(d.id, "Pendente") {
		t.Fatal("editing the profile listed a suspended doctor")
	}
}

func TestSetDoctorListing_AnOlderVerdictThanTheLastAppliedChangesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.unverifiedDoctor()
	f.mustUpsert(d.token, input("Dr. Ordem Dos Vereditos", saoPaulo, 30000, "cardiologia"))
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	steps := []struct {
		listed bool
		at     time.Time
		want   bool
	}{
		{true, t0.Add(2 * time.Minute), true},   // verified
		{false, t0.Add(time.Minute), true},      // an older "pending" arriving late
		{true, t0.Add(2 * time.Minute), true},   // the same verdict retried
		{false, t0.Add(3 * time.Minute), false}, // suspended
		{true, t0.Add(2 * time.Minute), false},  // the verification retried after the suspension
		{false, t0.Add(3 * time.Minute), false}, // the suspension retried
	}
	for i, s := range steps {
		f.verdict(d.id, s.listed, s.at)
		if got := f.shown(d.id, "Ordem"); got != s.want {
			t.Fatalf("step %d (listed %v at %s): shown %v, want %v", i, s.listed, s.at.Format(time.TimeOnly), got, s.want)
		}
	}
}

// A doctor verified before writing a profile is listed once the profile is complete;
// one rejected before writing it is not.
func TestSetDoctorListing_AVerdictBeforeTheProfileIsKeptForIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	verified, rejected := f.unverifiedDoctor(), f.unverifiedDoctor()
	at := time.Now()
	f.verdict(verified.id, true, at)
	f.verdict(rejected.id, true, at)
	f.verdict(rejected.id, false, at.Add(time.Second))

	incomplete := input("Dra. Antes Do Perfil", saoPaulo, 0, "cardiologia")
	if up := f.mustUpsert(verified.token, incomplete); up.GetProfile().GetListed() || !slices.Equal(up.GetMissing(), []string{"price"}) {
		t.Fatalf("incomplete profile of a verified doctor: listed %v, missing %v", up.GetProfile().GetListed(), up.GetMissing())
	}
	if up := f.mustUpsert(verified.token, input("Dra. Antes Do Perfil", saoPaulo, 30000, "cardiologia")); !up.GetProfile().GetListed() {
		t.Fatalf("complete profile of a verified doctor: missing %v", up.GetMissing())
	}
	if !f.shown(verified.id, "Antes Do Perfil") {
		t.Error("the verified doctor is not found")
	}
	f.mustUpsert(rejected.token, input("Dr. Rejeitado Antes", saoPaulo, 30000, "cardiologia"))
	if f.shown(rejected.id, "Rejeitado") {
		t.Error("the rejected doctor is found")
	}
}

// A verdict racing with the doctor's first profile is never lost: whichever commits
// first, the profile ends up listed.
func TestSetDoctorListing_RacingTheFirstProfileIsNotLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const doctors = 8
	list := make([]doctor, doctors)
	for i := range list {
		list[i] = f.unverifiedDoctor()
	}
	var wg sync.WaitGroup
	errc := make(chan error, 2*doctors)
	for _, d := range list {
		wg.Go(func() {
			_, err := f.upsert(d.token, input("Dra. Corrida", saoPaulo, 30000, "cardiologia"))
			errc <- err
		})
		wg.Go(func() {
			_, err := f.as("identity").SetDoctorListing(context.Background(), connect.NewRequest(&directoryv1.SetDoctorListingRequest{
				DoctorId: d.id, Listed: true, ChangeTime: timestamppb.Now(),
			}))
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	found := f.walk(&directoryv1.SearchDoctorsRequest{Name: "Corrida", PageSize: 3})
	for _, d := range list {
		if !slices.Contains(found, d.id) {
			t.Errorf("doctor %s verified while writing the first profile is not listed", d.id)
		}
	}
}

// Only identity sets a listing.
func TestSetDoctorListing_OnlyIdentityMayCall(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	d := f.unverifiedDoctor()
	f.mustUpsert(d.token, input("Dr. Autoverificado", saoPaulo, 30000, "cardiologia"))
	req := &directoryv1.SetDoctorListingRequest{DoctorId: d.id, Listed: true, ChangeTime: timestamppb.Now()}
	if _, err := f.as("scheduling").SetDoctorListing(context.Background(), connect.NewRequest(req)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("scheduling: %v, want PermissionDenied", err)
	}
	if _, err := f.client.SetDoctorListing(context.Background(), testkit.Authed(req, d.token)); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Errorf("the doctor: %v, want PermissionDenied", err)
	}
	if f.shown(d.id, "Autoverificado") {
		t.Error("a doctor listed without identity")
	}
}
