package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// The JSON conventions the README promises a frontend, as the edge's own marshaler
// applies them (answers of every route pass through it).
func TestJSONConventions(t *testing.T) {
	g, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/v1/doctors", nil)
	req.Header.Set("Content-Type", "application/json")
	in, out := runtime.MarshalerForRequest(g.mux, req)

	decode := func(body string, m proto.Message) {
		t.Helper()
		if err := in.NewDecoder(strings.NewReader(body)).Decode(m); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
	}
	encode := func(m proto.Message) string {
		t.Helper()
		b, err := out.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	t.Run("int64: a number or a string in, a string out", func(t *testing.T) {
		for _, body := range []string{`{"maxPriceCents": 25000}`, `{"maxPriceCents": "25000"}`} {
			var m directoryv1.SearchDoctorsRequest
			decode(body, &m)
			if m.GetMaxPriceCents() != 25000 {
				t.Errorf("%s: maxPriceCents %d, want 25000", body, m.GetMaxPriceCents())
			}
		}
		got := encode(&directoryv1.Money{AmountCents: 25000})
		if !strings.Contains(got, `"amountCents":"25000"`) {
			t.Errorf("answer %s, want amountCents as the string \"25000\"", got)
		}
	})

	t.Run("enums: names out, names or numbers in", func(t *testing.T) {
		got := encode(&directoryv1.SearchDoctorsRequest{Sort: directoryv1.SortOrder_SORT_ORDER_PRICE})
		if !strings.Contains(got, `"sort":"SORT_ORDER_PRICE"`) {
			t.Errorf("answer %s, want the enum's name", got)
		}
		for _, body := range []string{`{"sort": "SORT_ORDER_PRICE"}`, `{"sort": 3}`} {
			var m directoryv1.SearchDoctorsRequest
			decode(body, &m)
			if m.GetSort() != directoryv1.SortOrder_SORT_ORDER_PRICE {
				t.Errorf("%s: sort %v", body, m.GetSort())
			}
		}
	})

	t.Run("empty lists and zero values are emitted, unset messages are not", func(t *testing.T) {
		got := encode(&directoryv1.ListSpecialtiesResponse{})
		if got != `{"specialties":[]}` {
			t.Errorf("empty list answered %s, want {\"specialties\":[]}", got)
		}
		got = encode(&directoryv1.Profile{DoctorId: "d"})
		for _, want := range []string{`"languages":[]`, `"specialties":[]`, `"bio":""`, `"consultationMinutes":0`} {
			if !strings.Contains(got, want) {
				t.Errorf("profile %s lacks %s", got, want)
			}
		}
		if strings.Contains(got, `"price"`) {
			t.Errorf("profile %s has the unset message price", got)
		}
		// An optional field keeps its presence: unset, it is left out.
		if got := encode(&directoryv1.SearchDoctorsRequest{}); strings.Contains(got, "maxDistanceKm") {
			t.Errorf("unset optional field emitted: %s", got)
		}
	})
}
