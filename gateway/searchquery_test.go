package gateway

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// The search's own query parser must leave every search request, and every error,
// exactly as the default parser does: the same bytes of the message, the same message
// of the error.
func TestQueryParser_SameAsTheDefault(t *testing.T) {
	noFilter := &utilities.DoubleArray{Encoding: map[string]int{}}
	check := func(t *testing.T, query string) {
		t.Helper()
		values, err := url.ParseQuery(query)
		if err != nil {
			t.Fatalf("%q: %v", query, err)
		}
		var got, want directoryv1.SearchDoctorsRequest
		gotErr := (&queryParser{}).Parse(&got, values, noFilter)
		wantErr := (&runtime.DefaultQueryParser{}).Parse(&want, values, noFilter)
		// With several bad keys, the default parser's error names the first it meets in
		// the map's random order: any of them will do.
		for i := 0; fmt.Sprint(gotErr) != fmt.Sprint(wantErr); i++ {
			if i == 100 {
				t.Fatalf("%q: error %v, the default parser's %v", query, gotErr, wantErr)
			}
			want.Reset()
			wantErr = (&runtime.DefaultQueryParser{}).Parse(&want, values, noFilter)
		}
		if wantErr != nil {
			return
		}
		g, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&got)
		w, _ := proto.MarshalOptions{Deterministic: true}.Marshal(&want)
		if !bytes.Equal(g, w) || !proto.Equal(&got, &want) {
			t.Fatalf("%q: got %v, the default parser made %v", query, &got, &want)
		}
	}
	for _, q := range []string{
		"",
		"specialty=cardiologia&point.latitude=-23.5505&point.longitude=-46.6333&maxDistanceKm=25&minRating=4&sort=SORT_ORDER_DISTANCE",
		"specialty=&name=&pageToken=&minRating=0&maxPriceCents=0&pageSize=0&sort=SORT_ORDER_UNSPECIFIED",
		"max_distance_km=0&min_rating=-0&max_price_cents=-5&page_size=-1&page_token=abc&name=Ana%20Souza",
		"maxDistanceKm=-0", "point.latitude=1", "point.longitude=-0", "point.latitude=1e-320", "minRating=+4.5", "minRating=.5",
		"minRating=4.", "minRating=1e308", "minRating=1e309", "minRating=-1e309", "minRating=NaN", "minRating=nan",
		"minRating=Infinity", "minRating=-Infinity", "minRating=inf", "minRating=+Inf", "minRating=0x1p-2", "minRating=1_0",
		"minRating=", "minRating= 4", "minRating=4 ", "minRating=four", "maxDistanceKm=abc",
		"maxPriceCents=9223372036854775807", "maxPriceCents=9223372036854775808", "maxPriceCents=+7", "maxPriceCents=07",
		"maxPriceCents=1.0", "maxPriceCents=0x10", "pageSize=2147483647", "pageSize=2147483648", "pageSize=-2147483649",
		"sort=1", "sort=2", "sort=99", "sort=-1", "sort=SORT_ORDER_PRICE", "sort=sort_order_price", "sort=", "sort=DISTANCE",
		"minRating=4&min_rating=4", "maxDistanceKm=1&max_distance_km=2", "pageSize=1&page_size=1", "pageToken=a&page_token=b",
		"maxPriceCents=1&max_price_cents=1", "minRating=4&minRating=5", "specialty=a&specialty=b", "name=a&name=a",
		"point.latitude=1&point.latitude=2", "point=1", "point.altitude=3", "point.latitude=1&point.longitude=2&point.latitude=3",
		"unknown=1", "specialty=cardiologia&unknown=1", "Specialty=x", "SPECIALTY=x", "page-size=1",
		"name=%00", "name=%FF", "specialty=%E2%80%A8", "point[latitude]=1", "specialty[x]=1",
	} {
		check(t, q)
	}
	// Random queries from the keys and values above, up to five keys each.
	keys := []string{"specialty", "point.latitude", "point.longitude", "maxDistanceKm", "max_distance_km", "minRating", "min_rating",
		"maxPriceCents", "max_price_cents", "name", "sort", "pageSize", "page_size", "pageToken", "page_token", "point", "x"}
	vals := []string{"", "0", "-0", "1", "-1", "4.5", "1e3", "NaN", "Infinity", "1e999", "0x1", "1_0", "abc", "SORT_ORDER_RATING",
		"SORT_ORDER_DISTANCE", "2", "9223372036854775808", "2147483648", "a b", "%"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		q := url.Values{}
		for range 1 + rng.IntN(5) {
			q.Add(keys[rng.IntN(len(keys))], vals[rng.IntN(len(vals))])
		}
		check(t, q.Encode())
	}
}

// Another request type goes to the default parser as it is.
func TestQueryParser_OtherRequestsAreTheDefaultParsers(t *testing.T) {
	values := url.Values{"pageSize": {"5"}, "pageToken": {"t"}}
	filter := &utilities.DoubleArray{Encoding: map[string]int{}}
	var got, want directoryv1.ListDoctorReviewsRequest
	if err := (&queryParser{}).Parse(&got, values, filter); err != nil {
		t.Fatal(err)
	}
	if err := (&runtime.DefaultQueryParser{}).Parse(&want, values, filter); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&got, &want) || got.GetPageSize() != 5 || got.GetPageToken() != "t" {
		t.Errorf("got %v, want %v", &got, &want)
	}
}

func BenchmarkQueryParser_Search(b *testing.B) {
	values, _ := url.ParseQuery("specialty=cardiologia&point.latitude=-23.5505&point.longitude=-46.6333&maxDistanceKm=25&minRating=4&sort=SORT_ORDER_DISTANCE")
	filter := &utilities.DoubleArray{Encoding: map[string]int{}}
	for _, p := range []struct {
		name string
		p    runtime.QueryParameterParser
	}{{"default", &runtime.DefaultQueryParser{}}, {"edge", &queryParser{}}} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var m directoryv1.SearchDoctorsRequest
				if err := p.p.Parse(&m, values, filter); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
