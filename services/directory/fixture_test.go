package directory

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// Points used across the tests, as (latitude, longitude).
var (
	saoPaulo = &directoryv1.LatLng{Latitude: new(-23.5505), Longitude: new(-46.6333)}
	campinas = &directoryv1.LatLng{Latitude: new(-22.9099), Longitude: new(-47.0626)}
	rio      = &directoryv1.LatLng{Latitude: new(-22.9068), Longitude: new(-43.1729)}
	santos   = &directoryv1.LatLng{Latitude: new(-23.9608), Longitude: new(-46.3336)}
)

// kmPerDegreeLat is the length of one degree of latitude on earthdistance's sphere
// (earth() = 6,378,168 m), so a point moved north by d/kmPerDegreeLat degrees is d km
// away from where it started.
const kmPerDegreeLat = 6378.168 * 3.141592653589793 / 180

// north returns the point d km due north of p.
func north(p *directoryv1.LatLng, km float64) *directoryv1.LatLng {
	return &directoryv1.LatLng{Latitude: new(p.GetLatitude() + km/kmPerDegreeLat), Longitude: new(p.GetLongitude())}
}

// fixture is a directory service on the production server stack, backed by a fresh
// database. Tokens are signed with a key generated here, which the service's verifier
// trusts: the same check the service makes on tokens signed by identity.
type fixture struct {
	t      *testing.T
	svc    *Service
	db     *pgxpool.Pool
	client directoryv1connect.DirectoryServiceClient
	users  *testkit.Users
	crm    int    // last CRM number handed out
	url    string // the directory server
	// replica is a second directory on the same database answering from its search
	// index: search checks every successful answer against its answer.
	replica *Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, pgtest.Pool(t, Schema.Name, Schema), testkit.NewUsers(t), nil, testkit.Listen(t))
}

// newFixtureOn builds the directory on db, serving on ln, calling scheduling (or nil).
func newFixtureOn(t *testing.T, db *pgxpool.Pool, users *testkit.Users, scheduling schedulingv1connect.SchedulingServiceClient, ln net.Listener) *fixture {
	t.Helper()
	svc, err := New(context.Background(), Deps{DB: db, Logger: testkit.Logger(t), Scheduling: scheduling})
	if err != nil {
		t.Fatal(err)
	}
	url := testkit.ServeOn(t, ln, users.Interceptor("directory"), func(s *server.Server) {
		s.Handle(svc.Handler(s.HandlerOptions()...))
	})
	return &fixture{
		t: t, svc: svc, db: db, users: users, crm: 100000, url: url,
		client: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), url),
	}
}

// sign returns an access token for a new account with the given role and CRM.
func (f *fixture) sign(role accessv1.Role, crm string) (id, token string) {
	return f.users.Sign(role, crm)
}

// doctor is a doctor's account as the directory sees it: an id and an access token.
type doctor struct{ id, token string }

// newDoctor returns a doctor with a CRM no other doctor of the fixture holds, verified
// by identity before writing a profile: its complete profile is listed at once.
func (f *fixture) newDoctor() doctor {
	d := f.unverifiedDoctor()
	testkit.ListDoctor(f.t, f.url, d.id)
	return d
}

// unverifiedDoctor is newDoctor before identity verified it (pending verification):
// its profile is a draft, never listed.
func (f *fixture) unverifiedDoctor() doctor {
	f.crm++
	id, token := f.sign(accessv1.Role_ROLE_DOCTOR, fmt.Sprintf("%d/SP", f.crm))
	return doctor{id, token}
}

func (f *fixture) upsert(token string, in *directoryv1.ProfileInput) (*directoryv1.UpsertMyProfileResponse, error) {
	resp, err := f.client.UpsertMyProfile(context.Background(), testkit.Authed(&directoryv1.UpsertMyProfileRequest{Profile: in}, token))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (f *fixture) mustUpsert(token string, in *directoryv1.ProfileInput) *directoryv1.UpsertMyProfileResponse {
	f.t.Helper()
	resp, err := f.upsert(token, in)
	if err != nil {
		f.t.Fatalf("upsert %q: %v", in.GetDisplayName(), err)
	}
	return resp
}

// input is a complete profile: one specialty per code, a price and a location at p.
func input(name string, p *directoryv1.LatLng, priceCents int64, codes ...string) *directoryv1.ProfileInput {
	in := &directoryv1.ProfileInput{
		DisplayName: name,
		PriceCents:  priceCents,
		Location: &directoryv1.Location{
			Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: new(p.GetLatitude()), Longitude: new(p.GetLongitude())},
		},
		TimeZone: "America/Sao_Paulo",
	}
	for _, c := range codes {
		in.Specialties = append(in.Specialties, &directoryv1.SpecialtyPractice{Code: c})
	}
	return in
}

// seed lists a new doctor with a complete profile and returns the doctor's id.
func (f *fixture) seed(name string, p *directoryv1.LatLng, priceCents int64, codes ...string) string {
	f.t.Helper()
	d := f.newDoctor()
	resp := f.mustUpsert(d.token, input(name, p, priceCents, codes...))
	if !resp.GetProfile().GetListed() || len(resp.GetMissing()) > 0 {
		f.t.Fatalf("seed %q: not listed, missing %v", name, resp.GetMissing())
	}
	return d.id
}

// rate sets a doctor's reviews directly: the review flow is not part of this service yet.
func (f *fixture) rate(id string, sum, count int) {
	f.t.Helper()
	if _, err := f.db.Exec(context.Background(), `UPDATE doctors SET rating_sum = $2, rating_count = $3 WHERE doctor_id = $1`, id, sum, count); err != nil {
		f.t.Fatal(err)
	}
}

// search asks the directory (whose searches run the query) and checks that a replica
// answering from its search index, brought up to the database first, gives the same
// answer: every search of these tests compares the two.
func (f *fixture) search(r *directoryv1.SearchDoctorsRequest) (*directoryv1.SearchDoctorsResponse, error) {
	f.t.Helper()
	ctx := context.Background()
	resp, err := f.client.SearchDoctors(ctx, connect.NewRequest(r))
	if err != nil {
		return nil, err
	}
	if f.replica == nil {
		if f.replica, err = New(ctx, Deps{DB: f.db, Logger: testkit.Logger(f.t), SearchIndexEvery: time.Hour}); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.replica.index.refresh(ctx); err != nil {
		f.t.Fatal(err)
	}
	indexed, err := f.replica.searchDoctors(ctx, r)
	if err != nil {
		f.t.Fatalf("search %v from the index: %v (the query answered)", r, err)
	}
	if !sameAnswer(f.t, indexed, resp.Msg) {
		f.t.Fatalf("search %v:\nfrom the index %v\nfrom the query %v", r, decoded(f.t, indexed), resp.Msg)
	}
	return resp.Msg, nil
}

func (f *fixture) mustSearch(r *directoryv1.SearchDoctorsRequest) *directoryv1.SearchDoctorsResponse {
	f.t.Helper()
	resp, err := f.search(r)
	if err != nil {
		f.t.Fatalf("search %v: %v", r, err)
	}
	return resp
}

// ids returns the doctor ids of a page, in order.
func ids(resp *directoryv1.SearchDoctorsResponse) []string {
	out := make([]string, len(resp.GetResults()))
	for i, r := range resp.GetResults() {
		out[i] = r.GetProfile().GetDoctorId()
	}
	return out
}

// walk fetches every page of a search and returns the ids in order; it fails the test
// on an error, an oversized page or a loop.
func (f *fixture) walk(r *directoryv1.SearchDoctorsRequest) []string {
	f.t.Helper()
	var all []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			f.t.Fatal("more than 100 pages: the page token does not advance")
		}
		resp := f.mustSearch(r)
		if r.GetPageSize() > 0 && len(resp.GetResults()) > int(r.GetPageSize()) {
			f.t.Fatalf("page of %d results, page_size %d", len(resp.GetResults()), r.GetPageSize())
		}
		all = append(all, ids(resp)...)
		if resp.GetNextPageToken() == "" {
			return all
		}
		r.PageToken = resp.GetNextPageToken()
	}
}

func (f *fixture) getDoctor(id string) (*directoryv1.Profile, error) {
	resp, err := f.client.GetDoctor(context.Background(), connect.NewRequest(&directoryv1.GetDoctorRequest{DoctorId: id}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetProfile(), nil
}

// fieldViolations returns the BadRequest field violations an error carries, if any.
func fieldViolations(err error) []*errdetails.BadRequest_FieldViolation {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return nil
	}
	var out []*errdetails.BadRequest_FieldViolation
	for _, d := range ce.Details() {
		if v, derr := d.Value(); derr == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				out = append(out, br.GetFieldViolations()...)
			}
		}
	}
	return out
}

// violatedFieldsOrNil returns the sorted field paths an error names; nil for none.
func violatedFieldsOrNil(err error) []string {
	var fields []string
	for _, fv := range fieldViolations(err) {
		fields = append(fields, fv.GetField())
	}
	slices.Sort(fields)
	return fields
}

// violatedFields returns the sorted field paths an error names, and checks each
// violation says what is wrong.
func violatedFields(t *testing.T, err error) []string {
	t.Helper()
	for _, fv := range fieldViolations(err) {
		if fv.GetDescription() == "" {
			t.Errorf("violation on %s has no description", fv.GetField())
		}
	}
	return violatedFieldsOrNil(err)
}
