package gateway_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"healthcore/gateway"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/platform/server"
)

// downUpstreams registers every REST service at an address nothing listens on: a
// request the edge itself lets through answers 503, one it refuses answers 400.
func downUpstreams(t *testing.T) []gateway.Upstream {
	t.Helper()
	return restUpstreams(closedAddr(t))
}

// restUpstreams registers every REST service at addr.
func restUpstreams(addr string) []gateway.Upstream {
	ups := []gateway.Upstream{
		{Service: "healthcore.directory.v1.DirectoryService", Register: directoryv1.RegisterDirectoryServiceHandler},
		{Service: "healthcore.identity.v1.IdentityService", Register: identityv1.RegisterIdentityServiceHandler},
		{Service: "healthcore.payments.v1.PaymentsService", Register: paymentsv1.RegisterPaymentsServiceHandler},
		{Service: "healthcore.records.v1.RecordsService", Register: recordsv1.RegisterRecordsServiceHandler},
		{Service: "healthcore.scheduling.v1.SchedulingService", Register: schedulingv1.RegisterSchedulingServiceHandler},
		{Service: "healthcore.telehealth.v1.TelehealthService", Register: telehealthv1.RegisterTelehealthServiceHandler},
	}
	for i := range ups {
		ups[i].Addr = addr
	}
	return ups
}

// restRoutes lists method and a concrete path (each variable a UUID) of every REST
// route of the upstreams.
func restRoutes(t testing.TB, ups []gateway.Upstream) [][2]string {
	t.Helper()
	vars := regexp.MustCompile(`\{[^}]*\}`)
	var out [][2]string
	for _, u := range ups {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(u.Service))
		if err != nil {
			t.Fatal(err)
		}
		ms := d.(protoreflect.ServiceDescriptor).Methods()
		for i := 0; i < ms.Len(); i++ {
			rule, _ := proto.GetExtension(ms.Get(i).Options(), annotations.E_Http).(*annotations.HttpRule)
			method, path := gateway.HTTPRule(rule)
			if method == "" || rule.GetCustom() != nil {
				continue
			}
			out = append(out, [2]string{method, vars.ReplaceAllString(path, "0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b")})
		}
	}
	if len(out) < 30 {
		t.Fatalf("found %d REST routes; the walk is broken", len(out))
	}
	return out
}

func TestGateway_EveryRouteRefusesAnUnknownQueryParameter(t *testing.T) {
	t.Parallel()
	ups := downUpstreams(t)
	e := serve(t, gateway.Options{Upstreams: ups})
	for _, rt := range restRoutes(t, ups) {
		var body *strings.Reader
		h := http.Header{}
		if rt[0] != http.MethodGet && rt[0] != http.MethodDelete {
			body = strings.NewReader(`{}`)
			h.Set("Content-Type", "application/json")
		} else {
			body = strings.NewReader("")
		}
		r := do(t, rt[0], e.url+rt[1]+"?specilty=cardiologia&page_size=1", body, h)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s %s?specilty=…: status %d, want 400: %s", rt[0], rt[1], r.status, r.body)
			continue
		}
		got := parseError(t, r)
		if got.reason != server.ReasonValidationFailed.Name() || !slices.Contains(got.fields, "specilty") || !strings.Contains(got.message, "specilty") {
			t.Errorf("%s %s?specilty=…: %s, want VALIDATION_FAILED naming specilty", rt[0], rt[1], r.body)
		}
	}
}

func TestGateway_QueryParametersNamingRequestFieldsPass(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{Upstreams: downUpstreams(t)})
	tests := []struct {
		path   string
		status int
		fields []string // refused parameters
	}{
		// JSON and proto names, nested fields, repeated and optional ones.
		{"/v1/doctors?specialty=cardiologia&point.latitude=-23.5&point.longitude=-46.6&maxDistanceKm=25&min_rating=4&pageSize=5&sort=SORT_ORDER_RATING", 503, nil},
		{"/v1/doctors?specialty=cardiologia&specilty=cardiologia&point.altitude=3", 400, []string{"point.altitude", "specilty"}},
		{"/v1/doctors?point=1", 400, nil}, // not a value: the parser's own refusal
		{"/v1/doctors/0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b/reviews?pageSize=3", 503, nil},
		// A field the path sets cannot come from the query too.
		{"/v1/doctors/0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b/reviews?doctorId=0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6c", 400, []string{"doctorId"}},
		{"/v1/doctors/0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b/reviews?pageSize.x=3", 400, []string{"pageSize.x"}},
	}
	for _, tt := range tests {
		r := do(t, http.MethodGet, e.url+tt.path, strings.NewReader(""), nil)
		if r.status != tt.status {
			t.Errorf("GET %s: status %d, want %d: %s", tt.path, r.status, tt.status, r.body)
			continue
		}
		if tt.fields != nil {
			if got := parseError(t, r); got.reason != server.ReasonValidationFailed.Name() || !slices.Equal(got.fields, tt.fields) {
				t.Errorf("GET %s: %s, want VALIDATION_FAILED naming %q", tt.path, r.body, tt.fields)
			}
		}
	}
}

func TestGateway_RecordFileRoutesRefuseUnknownQueryParameters(t *testing.T) {
	t.Parallel()
	e := serve(t, gateway.Options{Upstreams: downUpstreams(t)})
	const id = "0b9e1a4c-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
	tests := []struct {
		method, path string
		status       int
		fields       []string
	}{
		{http.MethodPost, "/v1/records/documents:upload?titel=Eco&kind=EXAM", 400, []string{"titel"}},
		{http.MethodPost, "/v1/records/documents:upload?title=Eco&kind=EXAM&exam_date=2024-03-01&groupId=" + id, 503, nil},
		{http.MethodGet, "/v1/records/documents/" + id + ":download?inline=1", 400, []string{"inline"}},
		{http.MethodGet, "/v1/records/documents/" + id + ":download", 503, nil},
	}
	for _, tt := range tests {
		r := do(t, tt.method, e.url+tt.path, strings.NewReader("%PDF-1.7\n"), http.Header{"Content-Type": {"application/pdf"}})
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d: %s", tt.method, tt.path, r.status, tt.status, r.body)
			continue
		}
		if tt.fields != nil {
			if got := parseError(t, r); got.reason != server.ReasonValidationFailed.Name() || !slices.Equal(got.fields, tt.fields) {
				t.Errorf("%s %s: %s, want VALIDATION_FAILED naming %q", tt.method, tt.path, r.body, tt.fields)
			}
		}
	}
}
