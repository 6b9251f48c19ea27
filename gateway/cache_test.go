package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"healthcore/gateway"
	accessv1 "healthcore/gen/healthcore/access/v1"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/directory"
)

// countedDirectory starts the real directory service (fresh database) behind an
// interceptor that counts the calls reaching it, and lists one doctor with a complete
// profile. It returns the upstream, the count, a client and the doctor's id and token.
type countedDirectory struct {
	up     gateway.Upstream
	calls  atomic.Int64
	client directoryv1connect.DirectoryServiceClient
	doctor string
	token  string
	users  *testkit.Users
}

func directoryUpstream(t *testing.T) *countedDirectory {
	t.Helper()
	d := &countedDirectory{users: testkit.NewUsers(t)}
	db := pgtest.Pool(t, directory.Schema.Name, directory.Schema)
	svc, err := directory.New(context.Background(), directory.Deps{DB: db, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	count := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if !req.Spec().IsClient {
				d.calls.Add(1)
			}
			return next(ctx, req)
		}
	})
	base := testkit.Serve(t, d.users.Interceptor("directory"), func(s *server.Server) {
		s.Handle(svc.Handler(append(s.HandlerOptions(), connect.WithInterceptors(count))...))
	})
	d.up = gateway.Upstream{
		Service:  directoryv1connect.DirectoryServiceName,
		Addr:     strings.TrimPrefix(base, "http://"),
		Register: directoryv1.RegisterDirectoryServiceHandler,
	}
	d.client = directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), base)
	d.doctor, d.token = d.users.Sign(accessv1.Role_ROLE_DOCTOR, "123456/SP")
	testkit.ListDoctor(t, base, d.doctor)
	d.setBio(t, "Cardiologista.")
	d.calls.Store(0)
	return d
}

// setBio writes the doctor's complete profile with bio.
func (d *countedDirectory) setBio(t *testing.T, bio string) {
	t.Helper()
	lat, lng := -23.5505, -46.6333
	_, err := d.client.UpsertMyProfile(context.Background(), testkit.Authed(&directoryv1.UpsertMyProfileRequest{Profile: &directoryv1.ProfileInput{
		DisplayName: "Dra. Ana Souza", Bio: bio, PriceCents: 25000, TimeZone: "America/Sao_Paulo",
		Specialties: []*directoryv1.SpecialtyPractice{{Code: "cardiologia"}},
		Location: &directoryv1.Location{Address: "Av. Paulista, 1000", City: "São Paulo", Uf: "SP",
			Point: &directoryv1.LatLng{Latitude: &lat, Longitude: &lng}},
	}}, d.token))
	if err != nil {
		t.Fatal(err)
	}
}

// clock is the gateway's cache clock, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func get(t *testing.T, u string, kv ...string) reply {
	t.Helper()
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return do(t, http.MethodGet, u, nil, h)
}

func TestGateway_PublicReadsCarryAnETagAndAreRevalidatedWithoutTheService(t *testing.T) {
	t.Parallel()
	d := directoryUpstream(t)
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{d.up}})
	clk := &clock{t: time.Now()}
	gateway.SetClock(e.gw, clk.now)
	profile := e.url + "/v1/doctors/" + d.doctor
	search := e.url + "/v1/doctors?specialty=cardiologia&point.latitude=-23.55&point.longitude=-46.63&maxDistanceKm=25"

	tests := []struct {
		name, url, cacheControl, want string
	}{
		{"specialties", e.url + "/v1/specialties", "public, max-age=3600", "cardiologia"},
		{"a doctor's profile", profile, "public, max-age=60", d.doctor},
		{"search", search, "public, max-age=30", d.doctor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := get(t, tt.url)
			if first.status != http.StatusOK {
				t.Fatalf("status %d: %s", first.status, first.body)
			}
			if !strings.Contains(string(first.body), tt.want) {
				t.Fatalf("body %s lacks %q", first.body, tt.want)
			}
			etag := first.header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 10 {
				t.Fatalf("ETag %q, want a strong entity tag", etag)
			}
			if got := first.header.Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("Cache-Control %q, want %q", got, tt.cacheControl)
			}
			if got := first.header.Values("Vary"); len(got) != 1 || got[0] != "Origin" {
				t.Errorf("Vary %q, want Origin", got)
			}
			// The same content, asked again (with a token, which changes nothing), has
			// the same ETag.
			again := get(t, tt.url, "Authorization", "Bearer "+d.token)
			if again.header.Get("ETag") != etag || string(again.body) != string(first.body) {
				t.Errorf("second answer: ETag %q body %s, want %q and the same body", again.header.Get("ETag"), again.body, etag)
			}
			// Within max-age, a matching If-None-Match is answered 304 by the edge alone.
			before := d.calls.Load()
			nm := get(t, tt.url, "If-None-Match", `W/"other", `+etag, "Origin", origin, "TE", "trailers")
			if nm.status != http.StatusNotModified || len(nm.body) != 0 {
				t.Fatalf("If-None-Match: status %d body %q, want 304 without body", nm.status, nm.body)
			}
			if n := d.calls.Load() - before; n != 0 {
				t.Errorf("the 304 called the service %d times, want none", n)
			}
			if nm.header.Get("ETag") != etag || nm.header.Get("Cache-Control") != tt.cacheControl {
				t.Errorf("304 ETag %q Cache-Control %q, want %q and %q", nm.header.Get("ETag"), nm.header.Get("Cache-Control"), etag, tt.cacheControl)
			}
			if nm.header.Get("Access-Control-Allow-Origin") != origin || nm.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("304 lacks the CORS or security headers: %v", nm.header)
			}
			// A different tag gets the whole answer, from the service (also to a client
			// that takes trailers, which grpc-gateway answers chunked).
			before = d.calls.Load()
			if r := get(t, tt.url, "If-None-Match", `"not-it"`, "TE", "trailers"); r.status != http.StatusOK || r.header.Get("ETag") != etag ||
				string(r.body) != string(first.body) {
				t.Errorf("other tag: status %d ETag %q body %s, want 200 %q and the same body", r.status, r.header.Get("ETag"), r.body, etag)
			}
			if n := d.calls.Load() - before; n != 1 {
				t.Errorf("a non-matching tag called the service %d times, want 1", n)
			}
		})
	}

	t.Run("a stale version is revalidated with the service", func(t *testing.T) {
		first := get(t, profile)
		etag := first.header.Get("ETag")
		clk.advance(61 * time.Second)
		before := d.calls.Load()
		r := get(t, profile, "If-None-Match", etag)
		if r.status != http.StatusNotModified || r.header.Get("ETag") != etag {
			t.Fatalf("stale, unchanged: status %d ETag %q, want 304 %q", r.status, r.header.Get("ETag"), etag)
		}
		if n := d.calls.Load() - before; n != 1 {
			t.Errorf("revalidation called the service %d times, want 1", n)
		}
		// The profile changes: once the version the edge knew is stale, the new
		// answer comes with a new ETag.
		d.setBio(t, "Cardiologista e ecocardiografista.")
		if r := get(t, profile, "If-None-Match", etag); r.status != http.StatusNotModified {
			t.Errorf("still fresh: status %d, want 304 (the edge answers from the version it knows)", r.status)
		}
		clk.advance(61 * time.Second)
		r = get(t, profile, "If-None-Match", etag)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), "ecocardiografista") {
			t.Fatalf("changed: status %d body %s, want 200 with the new bio", r.status, r.body)
		}
		if got := r.header.Get("ETag"); got == etag || got == "" {
			t.Errorf("changed content kept ETag %q", got)
		}
		// A client asking for revalidation reaches the service even while fresh.
		before = d.calls.Load()
		if r2 := get(t, profile, "If-None-Match", r.header.Get("ETag"), "Cache-Control", "no-cache"); r2.status != http.StatusNotModified {
			t.Errorf("no-cache: status %d, want 304", r2.status)
		}
		if n := d.calls.Load() - before; n != 1 {
			t.Errorf("no-cache called the service %d times, want 1", n)
		}
	})

	t.Run("errors, private routes and other methods are never cacheable", func(t *testing.T) {
		for _, r := range []reply{
			get(t, e.url+"/v1/doctors/0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b"), // 404
			get(t, e.url+"/v1/doctors?specilty=x"),                           // 400
			get(t, e.url+"/v1/doctors/me/profile", "Authorization", "Bearer "+d.token),
			do(t, http.MethodPut, e.url+"/v1/doctors/me/profile", strings.NewReader(`{}`), http.Header{"Authorization": {"Bearer " + d.token}}),
		} {
			if r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("status %d: ETag %q Cache-Control %q, want none and no-store", r.status, r.header.Get("ETag"), r.header.Get("Cache-Control"))
			}
		}
		// The private profile's answer to If-None-Match is never 304 from the edge.
		mine := get(t, e.url+"/v1/doctors/me/profile", "Authorization", "Bearer "+d.token, "If-None-Match", "*")
		if mine.status != http.StatusOK {
			t.Errorf("private route with If-None-Match: status %d, want 200", mine.status)
		}
	})

	t.Run("a query asked in another order shares the version", func(t *testing.T) {
		q := url.Values{"specialty": {"cardiologia"}, "point.latitude": {"-23.55"}, "point.longitude": {"-46.63"}, "maxDistanceKm": {"25"}}
		first := get(t, e.url+"/v1/doctors?"+q.Encode())
		before := d.calls.Load()
		r := get(t, e.url+"/v1/doctors?maxDistanceKm=25&point.longitude=-46.63&point.latitude=-23.55&specialty=cardiologia",
			"If-None-Match", first.header.Get("ETag"))
		if r.status != http.StatusNotModified || d.calls.Load() != before {
			t.Errorf("reordered query: status %d, %d service calls, want 304 and none", r.status, d.calls.Load()-before)
		}
	})
}

// Slots change as soon as someone books: their answers are kept seconds only.
func TestGateway_SlotsAreCachedSecondsOnly(t *testing.T) {
	maxAge, ok := gateway.PublicReads["healthcore.scheduling.v1.SchedulingService.ListAvailableSlots"]
	if !ok || maxAge <= 0 || maxAge > 10*time.Second {
		t.Errorf("slots max-age %v (listed %v), want a few seconds", maxAge, ok)
	}
}

// With a byte budget the edge is a shared cache: within max-age a public read is
// answered from the kept copy, whatever the client sends, without the service.
func TestGateway_KeptAnswersAreServedWhileFreshWithoutTheService(t *testing.T) {
	t.Parallel()
	d := directoryUpstream(t)
	reg := prometheus.NewRegistry()
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{d.up}, CacheBytes: 1 << 20, Registerer: reg})
	clk := &clock{t: time.Now()}
	gateway.SetClock(e.gw, clk.now)
	profile := e.url + "/v1/doctors/" + d.doctor

	first := get(t, profile, "Origin", origin)
	if first.status != http.StatusOK || !strings.Contains(string(first.body), "Cardiologista.") {
		t.Fatalf("first: status %d body %s", first.status, first.body)
	}
	if first.header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("first answer lacks CORS for %s: %v", origin, first.header)
	}
	d.setBio(t, "Cardiologista e ecocardiografista.")
	before := d.calls.Load()
	clk.advance(2 * time.Second)
	// Another client, no Origin, a token and a tag that is not current: the kept
	// answer, with the outer layers' headers of this request, not of the first.
	r := get(t, profile, "Authorization", "Bearer "+d.token, "If-None-Match", `"not-it"`)
	if n := d.calls.Load() - before; n != 0 {
		t.Errorf("a fresh kept answer called the service %d times, want none", n)
	}
	if r.status != http.StatusOK || string(r.body) != string(first.body) {
		t.Fatalf("kept: status %d body %s, want 200 and the first body (the edit shows after max-age)", r.status, r.body)
	}
	for k, want := range map[string]string{
		"ETag": first.header.Get("ETag"), "Cache-Control": "public, max-age=60", "Age": "2",
		"Content-Type": first.header.Get("Content-Type"), "Content-Length": strconv.Itoa(len(first.body)),
		"X-Content-Type-Options": "nosniff", "Access-Control-Allow-Origin": "",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("kept answer's %s = %q, want %q", k, got, want)
		}
	}
	if got := r.header.Values("Vary"); len(got) != 1 || got[0] != "Origin" {
		t.Errorf("Vary %q, want Origin once", got)
	}
	if r.header.Get("X-Request-Id") == "" || r.header.Get("X-Request-Id") == first.header.Get("X-Request-Id") {
		t.Errorf("kept answer's request id %q (first %q), want this request's own", r.header.Get("X-Request-Id"), first.header.Get("X-Request-Id"))
	}
	// Its tag still gets 304 from the edge.
	if nm := get(t, profile, "If-None-Match", first.header.Get("ETag")); nm.status != http.StatusNotModified || d.calls.Load() != before {
		t.Errorf("If-None-Match: status %d, %d calls, want 304 and none", nm.status, d.calls.Load()-before)
	}
	// no-cache goes to the service, and what it answers is kept from then on.
	fresh := get(t, profile, "Cache-Control", "no-cache")
	if !strings.Contains(string(fresh.body), "ecocardiografista") || d.calls.Load()-before != 1 {
		t.Fatalf("no-cache: body %s after %d calls, want the new bio from one call", fresh.body, d.calls.Load()-before)
	}
	if again := get(t, profile); string(again.body) != string(fresh.body) || d.calls.Load()-before != 1 {
		t.Errorf("after no-cache: body %s, %d calls; want the new answer, kept", again.body, d.calls.Load()-before)
	}
	// Past max-age, the service answers again.
	clk.advance(61 * time.Second)
	if r := get(t, profile); r.status != http.StatusOK || d.calls.Load()-before != 2 {
		t.Errorf("stale: status %d, %d calls, want 200 from a second call", r.status, d.calls.Load()-before)
	}
	// Private routes and errors are never kept.
	for range 2 {
		get(t, e.url+"/v1/doctors/me/profile", "Authorization", "Bearer "+d.token)
		get(t, e.url+"/v1/doctors/0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b")
	}
	if n := d.calls.Load() - before; n != 6 {
		t.Errorf("two private reads and two 404s made %d calls in all, want 2 + 4", n)
	}
	// The metric tells the answers apart: the first, no-cache, stale and two 404s
	// from the service; two kept; one 304.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_gateway_cache_answers_total Public reads answered at the edge, by how: not_modified (304 from a known version), kept (a kept answer) or service (the service answered).
# TYPE healthcore_gateway_cache_answers_total counter
healthcore_gateway_cache_answers_total{result="kept"} 2
healthcore_gateway_cache_answers_total{result="not_modified"} 1
healthcore_gateway_cache_answers_total{result="service"} 5
`), "healthcore_gateway_cache_answers_total"); err != nil {
		t.Error(err)
	}
}

// The budget bounds the kept answers: an answer over a share of it is not kept, and
// older ones make way for newer ones.
func TestGateway_KeptAnswersStayWithinTheBudget(t *testing.T) {
	t.Parallel()
	d := directoryUpstream(t)
	// Searches around points far from the one doctor: each URL its own answer, all of
	// the same size (no results).
	search := func(i int) string {
		return fmt.Sprintf("/v1/doctors?specialty=cardiologia&point.latitude=%d&point.longitude=10&maxDistanceKm=1", i)
	}
	empty := get(t, serve(t, gateway.Options{Upstreams: []gateway.Upstream{d.up}}).url+search(0))
	if empty.status != http.StatusOK || strings.Contains(string(empty.body), d.doctor) {
		t.Fatalf("status %d body %s, want an empty page", empty.status, empty.body)
	}
	size := int64(len(empty.body))
	calls := func(e *edge, is ...int) int64 {
		t.Helper()
		before := d.calls.Load()
		for _, i := range is {
			if r := get(t, e.url+search(i)); r.status != http.StatusOK {
				t.Fatalf("%s: status %d", search(i), r.status)
			}
		}
		return d.calls.Load() - before
	}
	// A budget whose share is under one answer keeps none; 0 keeps none.
	for _, budget := range []int64{size*gateway.CacheBodyShare - 1, 0} {
		e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{d.up}, CacheBytes: budget})
		if n := calls(e, 1, 1); n != 2 {
			t.Errorf("budget %d: %d calls for two reads of one URL, want 2 (nothing kept)", budget, n)
		}
	}
	// Room for exactly CacheBodyShare answers of this size: one more pushes out the
	// oldest, and the rest stay.
	e := serve(t, gateway.Options{Upstreams: []gateway.Upstream{d.up}, CacheBytes: size * gateway.CacheBodyShare})
	var all []int
	for i := 1; i <= gateway.CacheBodyShare; i++ {
		all = append(all, i)
	}
	if n := calls(e, all...); n != int64(len(all)) {
		t.Fatalf("first reads: %d calls, want %d", n, len(all))
	}
	if n := calls(e, all...); n != 0 {
		t.Errorf("%d answers within the budget, read again: %d calls, want none", len(all), n)
	}
	if n := calls(e, 60, all[len(all)-1], 60); n != 1 {
		t.Errorf("one more answer: %d calls, want 1 (it is kept, the newest stay)", n)
	}
	if n := calls(e, all[0]); n != 1 {
		t.Errorf("the oldest answer: %d calls, want 1 (pushed out)", n)
	}
}
