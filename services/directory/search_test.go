package directory

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// world is a set of listed doctors around São Paulo, known by name.
type world struct {
	*fixture
	id   map[string]string // name → doctor id
	name map[string]string // doctor id → name
}

func newWorld(f *fixture) *world {
	return &world{fixture: f, id: map[string]string{}, name: map[string]string{}}
}

func (w *world) add(name string, p *directoryv1.LatLng, priceCents int64, codes ...string) string {
	id := w.seed(name, p, priceCents, codes...)
	w.id[name], w.name[id] = id, name
	return id
}

// names returns the names of a page's doctors, in order.
func (w *world) names(resp *directoryv1.SearchDoctorsResponse) []string {
	var out []string
	for _, id := range ids(resp) {
		out = append(out, w.name[id])
	}
	return out
}

// filterWorld has a doctor for each filter to catch, and one to miss.
func filterWorld(t *testing.T) *world {
	w := newWorld(newFixture(t))
	w.rate(w.add("Dra. Ana Souza", saoPaulo, 30000, "cardiologia"), 9, 2) // 4.5
	w.rate(w.add("Dr. Bruno Lima", campinas, 20000, "pediatria"), 5, 1)   // 5.0, 83.7 km
	w.rate(w.add("Dra. Carla Dias", rio, 45000, "cardiologia", "pediatria"), 6, 2)
	w.add("Dr. Diego 100% Saúde", north(saoPaulo, 10), 15000, "clinica_medica")
	w.rate(w.add("Dra. Eva_Melo", santos, 25000, "cardiologia"), 4, 1)                      // 4.0, 54.9 km
	w.rate(w.add("Dr. Evaxmelo Ramos", north(saoPaulo, 24.9), 30000, "dermatologia"), 8, 2) // 4.0
	w.rate(w.add("Dr. Gil 1000 Saúde", north(saoPaulo, 25.1), 18000, "cardiologia"), 14, 3) // 4.67
	// Unlisted (no price) but close to, named like and rated like the others: it must
	// never show.
	hidden := w.newDoctor()
	in := input("Dra. Ana Oculta", saoPaulo, 0, "cardiologia", "pediatria")
	w.mustUpsert(hidden.token, in)
	w.rate(hidden.id, 10, 2)
	return w
}

func TestSearchDoctors_EachFilterAloneAndCombined(t *testing.T) {
	t.Parallel()
	w := filterWorld(t)
	all := []string{"Dr. Bruno Lima", "Dr. Diego 100% Saúde", "Dr. Evaxmelo Ramos", "Dr. Gil 1000 Saúde", "Dra. Ana Souza", "Dra. Carla Dias", "Dra. Eva_Melo"}
	tests := []struct {
		name string
		req  *directoryv1.SearchDoctorsRequest
		want []string // sorted
	}{
		{"no filter lists every complete profile", &directoryv1.SearchDoctorsRequest{}, all},
		{"specialty", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia"},
			[]string{"Dr. Gil 1000 Saúde", "Dra. Ana Souza", "Dra. Carla Dias", "Dra. Eva_Melo"}},
		{"second specialty of a doctor", &directoryv1.SearchDoctorsRequest{Specialty: "pediatria"},
			[]string{"Dr. Bruno Lima", "Dra. Carla Dias"}},
		{"specialty nobody practises", &directoryv1.SearchDoctorsRequest{Specialty: "urologia"}, nil},
		{"point and 25 km keeps 24.9 km, drops 25.1 km", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(25)},
			[]string{"Dr. Diego 100% Saúde", "Dr. Evaxmelo Ramos", "Dra. Ana Souza"}},
		{"point and 100 km", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(100)},
			[]string{"Dr. Bruno Lima", "Dr. Diego 100% Saúde", "Dr. Evaxmelo Ramos", "Dr. Gil 1000 Saúde", "Dra. Ana Souza", "Dra. Eva_Melo"}},
		{"point without a distance has no limit", &directoryv1.SearchDoctorsRequest{Point: saoPaulo}, all},
		{"min rating 4.5", &directoryv1.SearchDoctorsRequest{MinRating: 4.5},
			[]string{"Dr. Bruno Lima", "Dr. Gil 1000 Saúde", "Dra. Ana Souza"}},
		{"min rating 4 is inclusive", &directoryv1.SearchDoctorsRequest{MinRating: 4},
			[]string{"Dr. Bruno Lima", "Dr. Evaxmelo Ramos", "Dr. Gil 1000 Saúde", "Dra. Ana Souza", "Dra. Eva_Melo"}},
		{"max price is inclusive", &directoryv1.SearchDoctorsRequest{MaxPriceCents: 20000},
			[]string{"Dr. Bruno Lima", "Dr. Diego 100% Saúde", "Dr. Gil 1000 Saúde"}},
		{"name, any case", &directoryv1.SearchDoctorsRequest{Name: "ANA souza"}, []string{"Dra. Ana Souza"}},
		{"name part, spaces trimmed", &directoryv1.SearchDoctorsRequest{Name: "  lima "}, []string{"Dr. Bruno Lima"}},
		{"name with % matches a literal %", &directoryv1.SearchDoctorsRequest{Name: "100%"}, []string{"Dr. Diego 100% Saúde"}},
		{"name of only %", &directoryv1.SearchDoctorsRequest{Name: "%"}, []string{"Dr. Diego 100% Saúde"}},
		{"name with _ matches a literal _", &directoryv1.SearchDoctorsRequest{Name: "a_m"}, []string{"Dra. Eva_Melo"}},
		{"name ending in a backslash is no escape", &directoryv1.SearchDoctorsRequest{Name: `Melo\`}, nil},
		{"specialty, radius, rating and price together", &directoryv1.SearchDoctorsRequest{
			Specialty: "cardiologia", Point: saoPaulo, MaxDistanceKm: proto.Float64(100), MinRating: 4, MaxPriceCents: 30000,
		}, []string{"Dr. Gil 1000 Saúde", "Dra. Ana Souza", "Dra. Eva_Melo"}},
		{"every filter together", &directoryv1.SearchDoctorsRequest{
			Specialty: "cardiologia", Point: saoPaulo, MaxDistanceKm: proto.Float64(100), MinRating: 4, MaxPriceCents: 30000, Name: "eva",
		}, []string{"Dra. Eva_Melo"}},
		{"specialty and radius", &directoryv1.SearchDoctorsRequest{Specialty: "pediatria", Point: saoPaulo, MaxDistanceKm: proto.Float64(100)},
			[]string{"Dr. Bruno Lima"}},
		{"rating and price", &directoryv1.SearchDoctorsRequest{MinRating: 4.5, MaxPriceCents: 20000},
			[]string{"Dr. Bruno Lima", "Dr. Gil 1000 Saúde"}},
		{"filters nobody meets", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", MaxPriceCents: 10000}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := w.mustSearch(tt.req)
			got := w.names(resp)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if resp.GetNextPageToken() != "" {
				t.Errorf("one page holds every result, yet next_page_token = %q", resp.GetNextPageToken())
			}
		})
	}
}

func TestSearchDoctors_BadInputIsRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 3 {
		f.seed(fmt.Sprintf("Dr. Página %d", i), north(saoPaulo, float64(i)), 20000, "cardiologia")
	}
	first := f.mustSearch(&directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, PageSize: 1})
	token := first.GetNextPageToken()
	if token == "" {
		t.Fatal("no next_page_token on a first page of 1 out of 3")
	}
	// forged keeps the token's filter fingerprint but names something that is not an id.
	var c map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c["i"] = "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"
	raw, _ = json.Marshal(c)
	forged := base64.RawURLEncoding.EncodeToString(raw)

	sameSearch := func(token string) *directoryv1.SearchDoctorsRequest {
		return &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, PageSize: 1, PageToken: token}
	}
	tests := []struct {
		name   string
		req    *directoryv1.SearchDoctorsRequest
		reason errs.Reason
		field  string
	}{
		{"latitude above 90", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{Latitude: new(91.0), Longitude: new(-46.6)}},
			server.ReasonValidationFailed, "point.latitude"},
		{"latitude below -90", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{Latitude: new(-90.01), Longitude: new(-46.6)}},
			server.ReasonValidationFailed, "point.latitude"},
		{"longitude below -180", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{Latitude: new(-23.5), Longitude: new(-180.5)}},
			server.ReasonValidationFailed, "point.longitude"},
		// A coordinate alone is not a point (it would read the other as 0).
		{"latitude without longitude", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{Latitude: new(-23.5)}},
			server.ReasonValidationFailed, "point.longitude"},
		{"longitude without latitude", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{Longitude: new(-46.6)}},
			server.ReasonValidationFailed, "point.latitude"},
		{"empty point", &directoryv1.SearchDoctorsRequest{Point: &directoryv1.LatLng{}},
			server.ReasonValidationFailed, "point.latitude"},
		{"distance over 1000 km", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(1000.1)},
			server.ReasonValidationFailed, "max_distance_km"},
		// A radius, when given, is more than 0 (unset is "no limit").
		{"negative distance", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(-1)},
			server.ReasonValidationFailed, "max_distance_km"},
		{"zero distance", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(0)},
			server.ReasonValidationFailed, "max_distance_km"},
		{"distance without a point", &directoryv1.SearchDoctorsRequest{MaxDistanceKm: proto.Float64(25)},
			ReasonSearchInvalid, "max_distance_km"},
		{"distance sort without a point", &directoryv1.SearchDoctorsRequest{Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE},
			ReasonSearchInvalid, "sort"},
		{"sort not in the enum", &directoryv1.SearchDoctorsRequest{Sort: directoryv1.SortOrder(9)},
			server.ReasonValidationFailed, "sort"},
		{"unknown specialty code", &directoryv1.SearchDoctorsRequest{Specialty: "astrologia"},
			ReasonSearchInvalid, "specialty"},
		{"malformed specialty code", &directoryv1.SearchDoctorsRequest{Specialty: "Cardiologia"},
			server.ReasonValidationFailed, "specialty"},
		{"rating above 5", &directoryv1.SearchDoctorsRequest{MinRating: 5.5},
			server.ReasonValidationFailed, "min_rating"},
		{"negative price", &directoryv1.SearchDoctorsRequest{MaxPriceCents: -1},
			server.ReasonValidationFailed, "max_price_cents"},
		{"page over 100", &directoryv1.SearchDoctorsRequest{PageSize: 101},
			server.ReasonValidationFailed, "page_size"},
		{"page token not base64", sameSearch("not a token!"), pagetoken.ReasonInvalid, "page_token"},
		{"page token not JSON", sameSearch(base64.RawURLEncoding.EncodeToString([]byte("{broken"))), pagetoken.ReasonInvalid, "page_token"},
		{"page token without an id", sameSearch(base64.RawURLEncoding.EncodeToString([]byte(`{"f":"x"}`))), pagetoken.ReasonInvalid, "page_token"},
		{"page token naming no doctor id", sameSearch(forged), pagetoken.ReasonInvalid, "page_token"},
		{"page token of another specialty", &directoryv1.SearchDoctorsRequest{Specialty: "pediatria", Point: saoPaulo, PageSize: 1, PageToken: token},
			pagetoken.ReasonInvalid, "page_token"},
		{"page token of another point", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: rio, PageSize: 1, PageToken: token},
			pagetoken.ReasonInvalid, "page_token"},
		{"page token of another order", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, PageSize: 1, PageToken: token,
			Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, pagetoken.ReasonInvalid, "page_token"},
		{"page token with an added filter", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, PageSize: 1, PageToken: token,
			MaxPriceCents: 50000}, pagetoken.ReasonInvalid, "page_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.search(tt.req)
			testkit.WantReason(t, err, tt.reason)
			if got := violatedFields(t, err); !slices.Contains(got, tt.field) {
				t.Errorf("fields %v, want %s among them", got, tt.field)
			}
		})
	}

	// The same search may change its page size between pages: the size is no filter.
	next := f.mustSearch(&directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, PageSize: 5, PageToken: token})
	if got := append(ids(first), ids(next)...); len(got) != 3 || slices.Contains(ids(next), ids(first)[0]) {
		t.Errorf("first page %v then the rest %v: want 3 doctors, each once", ids(first), ids(next))
	}
}

// sphereKm is the great-circle distance on earthdistance's sphere, computed here
// independently of PostgreSQL.
func sphereKm(a, b *directoryv1.LatLng) float64 {
	const r = 6378.168
	rad := math.Pi / 180
	dLat, dLng := (b.GetLatitude()-a.GetLatitude())*rad, (b.GetLongitude()-a.GetLongitude())*rad
	h := math.Pow(math.Sin(dLat/2), 2) + math.Cos(a.GetLatitude()*rad)*math.Cos(b.GetLatitude()*rad)*math.Pow(math.Sin(dLng/2), 2)
	return 2 * r * math.Asin(math.Sqrt(h))
}

func TestSearchDoctors_DistancesMatchKnownCityPairs(t *testing.T) {
	t.Parallel()
	w := filterWorld(t)
	resp := w.mustSearch(&directoryv1.SearchDoctorsRequest{Point: saoPaulo})
	got := map[string]float64{}
	for _, r := range resp.GetResults() {
		d := r.GetDistanceKm()
		got[w.name[r.GetProfile().GetDoctorId()]] = d
		if math.Abs(d*10-math.Round(d*10)) > 1e-9 {
			t.Errorf("%s: distance %v is not rounded to 0.1 km", w.name[r.GetProfile().GetDoctorId()], d)
		}
		want := sphereKm(saoPaulo, r.GetProfile().GetLocation().GetPoint())
		if math.Abs(d-want) > 0.05+1e-9 {
			t.Errorf("%s: distance %v km, great-circle distance %.3f km", w.name[r.GetProfile().GetDoctorId()], d, want)
		}
	}
	tests := []struct {
		name     string
		doctor   string
		min, max float64
	}{
		{"same point", "Dra. Ana Souza", 0, 0},
		{"10 km north", "Dr. Diego 100% Saúde", 10, 10},
		{"just inside 25 km", "Dr. Evaxmelo Ramos", 24.9, 24.9},
		{"just outside 25 km", "Dr. Gil 1000 Saúde", 25.1, 25.1},
		{"Santos", "Dra. Eva_Melo", 52, 58},
		{"Campinas, about 84 km", "Dr. Bruno Lima", 81, 87},
		// The issue says 357–361 km; the WGS 84 geodesic is 361.3 km and earthdistance's
		// sphere gives 361.2, so the band is taken as 357–362.
		{"Rio de Janeiro, about 360 km", "Dra. Carla Dias", 357, 362},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := got[tt.doctor]
			if !ok {
				t.Fatalf("%s not found from São Paulo", tt.doctor)
			}
			if d < tt.min-1e-9 || d > tt.max+1e-9 {
				t.Errorf("%s: %v km, want %v–%v", tt.doctor, d, tt.min, tt.max)
			}
		})
	}

	// The same pair measured the other way round, from Campinas.
	back := w.mustSearch(&directoryv1.SearchDoctorsRequest{Point: campinas, Name: "Ana Souza"})
	if len(back.GetResults()) != 1 || back.GetResults()[0].GetDistanceKm() != got["Dr. Bruno Lima"] {
		t.Errorf("Campinas → São Paulo: %v, want %v km", back.GetResults(), got["Dr. Bruno Lima"])
	}
	// Without a point there is no distance.
	for _, r := range w.mustSearch(&directoryv1.SearchDoctorsRequest{}).GetResults() {
		if r.GetDistanceKm() != 0 {
			t.Errorf("%s: distance %v without a point", w.name[r.GetProfile().GetDoctorId()], r.GetDistanceKm())
		}
	}
}

// sortWorld has ties on every sort key.
func sortWorld(t *testing.T) *world {
	w := newWorld(newFixture(t))
	w.rate(w.add("P1", saoPaulo, 20000, "cardiologia"), 8, 2)             // 4.0 ×2
	w.rate(w.add("P2", saoPaulo, 20000, "cardiologia"), 8, 2)             // same point, price and rating as P1
	w.rate(w.add("P3", north(saoPaulo, 5), 15000, "cardiologia"), 12, 3)  // 4.0 ×3
	w.rate(w.add("P4", north(saoPaulo, 50), 30000, "cardiologia"), 5, 1)  // 5.0 ×1
	w.add("P5", north(saoPaulo, 20), 20000, "cardiologia")                // unrated
	w.add("P6", north(saoPaulo, 5), 10000, "cardiologia")                 // same point as P3, unrated
	w.rate(w.add("P7", north(saoPaulo, 35), 12000, "cardiologia"), 9, 2)  // 4.5 ×2
	w.rate(w.add("P8", north(saoPaulo, 35), 12000, "cardiologia"), 9, 2)  // same as P7 in every key
	w.rate(w.add("P9", north(saoPaulo, 80), 50000, "cardiologia"), 14, 3) // 4.67
	w.rate(w.add("P10", north(saoPaulo, 1), 25000, "pediatria"), 2, 1)    // 2.0
	return w
}

// byIDWithin orders each group of tied names by doctor id (ascending, or descending
// when desc) and joins the groups.
func (w *world) byIDWithin(desc bool, groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		g = slices.Clone(g)
		slices.SortFunc(g, func(a, b string) int {
			if desc {
				return cmp.Compare(w.id[b], w.id[a])
			}
			return cmp.Compare(w.id[a], w.id[b])
		})
		out = append(out, g...)
	}
	return out
}

func TestSearchDoctors_SortOrdersBreakTiesByID(t *testing.T) {
	t.Parallel()
	w := sortWorld(t)
	byDistance := w.byIDWithin(false, []string{"P1", "P2"}, []string{"P10"}, []string{"P3", "P6"}, []string{"P5"},
		[]string{"P7", "P8"}, []string{"P4"}, []string{"P9"})
	byRating := w.byIDWithin(true, []string{"P4"}, []string{"P9"}, []string{"P7", "P8"}, []string{"P3"}, []string{"P1", "P2"},
		[]string{"P10"}, []string{"P5", "P6"})
	byPrice := w.byIDWithin(false, []string{"P6"}, []string{"P7", "P8"}, []string{"P3"}, []string{"P1", "P2", "P5"},
		[]string{"P10"}, []string{"P4"}, []string{"P9"})
	tests := []struct {
		name string
		req  *directoryv1.SearchDoctorsRequest
		want []string
	}{
		{"distance ascending is the default with a point", &directoryv1.SearchDoctorsRequest{Point: saoPaulo}, byDistance},
		{"distance ascending", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE}, byDistance},
		{"rating descending is the default without a point", &directoryv1.SearchDoctorsRequest{}, byRating},
		{"rating descending with a point", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, Sort: directoryv1.SortOrder_SORT_ORDER_RATING}, byRating},
		{"price ascending", &directoryv1.SearchDoctorsRequest{Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, byPrice},
		{"price ascending with a point", &directoryv1.SearchDoctorsRequest{Point: saoPaulo, Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, byPrice},
		{"a filter keeps the order", &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE},
			slices.DeleteFunc(slices.Clone(byPrice), func(n string) bool { return n == "P10" })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the same answer every time
				resp := w.mustSearch(tt.req)
				if got := w.names(resp); !slices.Equal(got, tt.want) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
				withPoint := tt.req.GetPoint() != nil
				for _, r := range resp.GetResults() {
					want := 0.0
					if withPoint {
						want = math.Round(sphereKm(saoPaulo, r.GetProfile().GetLocation().GetPoint())*10) / 10
					}
					if math.Abs(r.GetDistanceKm()-want) > 0.1+1e-9 {
						t.Errorf("%s: distance %v, want %v", w.name[r.GetProfile().GetDoctorId()], r.GetDistanceKm(), want)
					}
				}
			}
		})
	}
}

func TestSearchDoctors_WalkingPagesOf3ReturnsEveryDoctorOnceInOrder(t *testing.T) {
	t.Parallel()
	w := sortWorld(t)
	hidden := w.newDoctor()
	w.mustUpsert(hidden.token, input("Oculto", saoPaulo, 0, "cardiologia"))
	tests := []struct {
		name string
		req  func() *directoryv1.SearchDoctorsRequest
	}{
		{"distance", func() *directoryv1.SearchDoctorsRequest { return &directoryv1.SearchDoctorsRequest{Point: saoPaulo} }},
		{"rating", func() *directoryv1.SearchDoctorsRequest { return &directoryv1.SearchDoctorsRequest{} }},
		{"price", func() *directoryv1.SearchDoctorsRequest {
			return &directoryv1.SearchDoctorsRequest{Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}
		}},
		{"price with a point and a radius", func() *directoryv1.SearchDoctorsRequest {
			return &directoryv1.SearchDoctorsRequest{Point: saoPaulo, MaxDistanceKm: proto.Float64(60), Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}
		}},
		{"rating of one specialty", func() *directoryv1.SearchDoctorsRequest {
			return &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			one := tt.req()
			one.PageSize = 100
			want := ids(w.mustSearch(one))
			if len(want) < 7 {
				t.Fatalf("only %d results: the walk would prove little", len(want))
			}

			paged := tt.req()
			paged.PageSize = 3
			var got []string
			pages := 0
			for {
				resp := w.mustSearch(paged)
				pages++
				if n := len(resp.GetResults()); n != 3 && resp.GetNextPageToken() != "" || n > 3 || n == 0 {
					t.Fatalf("page %d holds %d results with next token %q", pages, n, resp.GetNextPageToken())
				}
				got = append(got, ids(resp)...)
				if resp.GetNextPageToken() == "" {
					break
				}
				paged.PageToken = resp.GetNextPageToken()
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages gave %v, one page gives %v", w.namesOf(got), w.namesOf(want))
			}
			if wantPages := (len(want) + 2) / 3; pages != wantPages {
				t.Errorf("%d pages for %d results, want %d", pages, len(want), wantPages)
			}
			if slices.Contains(got, hidden.id) {
				t.Error("an unlisted doctor showed up")
			}
		})
	}
}

func (w *world) namesOf(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = cmp.Or(w.name[id], id)
	}
	return out
}

// TestSearchDoctors_PagesHaveNoDuplicatesOrGapsWhileDataChanges walks distance and
// price pages while doctors are added past the cursor and other doctors change in ways
// that do not move them in the order (rating, name, bio, a profile rewrite). Keyset
// pages promise exactly that: what was seen plus what follows is the final list, each
// doctor once. (A doctor added before the cursor is, by design, not shown by a walk
// already past it.)
func TestSearchDoctors_PagesHaveNoDuplicatesOrGapsWhileDataChanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  func() *directoryv1.SearchDoctorsRequest
	}{
		{"distance", func() *directoryv1.SearchDoctorsRequest {
			return &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo, MaxDistanceKm: proto.Float64(500)}
		}},
		{"price", func() *directoryv1.SearchDoctorsRequest {
			return &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(newFixture(t))
			// Doctor k is 10·k km north and costs R$ 100 + 10·k: both orders are k's.
			tokens := map[string]string{}
			place := func(k float64) (*directoryv1.LatLng, int64) {
				return north(saoPaulo, 10*k), 10000 + int64(1000*k)
			}
			addDoctor := func(name string, k float64) {
				d := w.newDoctor()
				p, price := place(k)
				w.mustUpsert(d.token, input(name, p, price, "cardiologia"))
				w.id[name], w.name[d.id], tokens[name] = d.id, name, d.token
			}
			rewrite := func(name string, k float64, newName string) {
				p, price := place(k)
				in := input(newName, p, price, "cardiologia", "clinica_medica")
				in.Bio = "Perfil reescrito."
				w.mustUpsert(tokens[name], in)
			}
			for k := range 9 {
				addDoctor(fmt.Sprintf("D%d", k), float64(k))
			}

			req := tt.req()
			req.PageSize = 3
			page := w.mustSearch(req)
			seen := ids(page)
			if got := w.names(page); !slices.Equal(got, []string{"D0", "D1", "D2"}) {
				t.Fatalf("first page %v", got)
			}

			// Between pages 1 and 2: new doctors past the cursor, changes elsewhere.
			addDoctor("N8.5", 8.5)
			addDoctor("N2.5", 2.5) // just past the cursor (D2)
			w.rate(w.id["D1"], 5, 1)
			w.rate(w.id["D6"], 3, 1)
			rewrite("D0", 0, "D0 renamed")
			rewrite("D7", 7, "D7 renamed")

			req.PageToken = page.GetNextPageToken()
			page = w.mustSearch(req)
			seen = append(seen, ids(page)...)

			// Between pages 2 and 3: more of the same, and a doctor leaves the results
			// by dropping the specialty (it must simply stop appearing).
			addDoctor("N12", 12)
			w.rate(w.id["D2"], 1, 1)
			w.rate(w.id["D8"], 10, 2)
			rewrite("D1", 1, "D1 renamed")
			p, price := place(6)
			w.mustUpsert(tokens["D6"], input("D6", p, price, "pediatria"))

			req.PageToken = page.GetNextPageToken()
			rest := w.walk(req)
			walked := append(slices.Clone(seen), rest...)

			final := tt.req()
			final.PageSize = 100
			want := ids(w.mustSearch(final))
			// D6 was seen on no page and left the results: the final list is the target.
			if !slices.Equal(walked, want) {
				t.Errorf("seen %v + rest %v\nwant %v", w.namesOf(seen), w.namesOf(rest), w.namesOf(want))
			}
			counts := map[string]int{}
			for _, id := range walked {
				if counts[id]++; counts[id] > 1 {
					t.Errorf("%s returned twice", w.name[id])
				}
			}
			for _, n := range []string{"N2.5", "N8.5", "N12"} {
				if counts[w.id[n]] != 1 {
					t.Errorf("%s, added past the cursor, was returned %d times", n, counts[w.id[n]])
				}
			}
		})
	}
}

// TestSearchDoctors_RatingPagesReturnUnchangedDoctorsOnce states what rating pages
// guarantee. The cursor holds the last row's (rating average, review count, id), so a
// doctor whose rating does not change during the walk is returned exactly once and in
// order. A doctor whose rating changes is placed by its new rating when the next page is
// read: a seen doctor whose rating falls below the cursor is returned again, and an
// unseen doctor whose rating rises above it is not returned at all. Reviews arrive one
// at a time after consultations, so this is rare and harmless for browsing; a client
// that must not show a doctor twice drops ids it has already shown.
func TestSearchDoctors_RatingPagesReturnUnchangedDoctorsOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(newFixture(t))
	for k := range 9 { // Dk has four reviews averaging 5.0 − 0.5·k
		id := w.add(fmt.Sprintf("D%d", k), north(saoPaulo, float64(k)), 20000, "cardiologia")
		w.rate(id, 2*(10-k), 4)
	}
	req := &directoryv1.SearchDoctorsRequest{PageSize: 3}
	page := w.mustSearch(req)
	seen := w.names(page)
	if !slices.Equal(seen, []string{"D0", "D1", "D2"}) {
		t.Fatalf("first page %v", seen)
	}
	w.rate(w.id["D1"], 0, 0)  // seen, falls below the cursor: shown again at the end
	w.rate(w.id["D6"], 40, 8) // unseen, rises from 2.0 to 5.0, above the cursor: skipped
	w.rate(w.id["D4"], 13, 4) // unseen, moves from 3.0 to 3.25 but stays past the cursor
	req.PageToken = page.GetNextPageToken()
	rest := w.namesOf(w.walk(req))
	// D1 comes again (it fell below the cursor); D6 never comes (it rose above it).
	want := []string{"D3", "D4", "D5", "D7", "D8", "D1"}
	if !slices.Equal(rest, want) {
		t.Errorf("after the first page: %v, want %v", rest, want)
	}
}

// A search page's profiles are read row after row into messages allocated a page at a
// time: each must be the doctor's own, whole, as GetDoctor returns it (one row read
// alone, checked against what was written by TestDoctorStore_UpsertThenGetReturnsWhatWasWritten),
// on every shape of the query (the copy's index walk by distance or by price, the
// doctors table).
func TestSearchDoctors_EachResultIsTheDoctorsWholeProfile(t *testing.T) {
	t.Parallel()
	w := filterWorld(t)
	for _, req := range []*directoryv1.SearchDoctorsRequest{
		{},
		{Specialty: "cardiologia", Point: saoPaulo, MaxDistanceKm: proto.Float64(1000), Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE},
		{Specialty: "pediatria", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE},
		{Point: saoPaulo, PageSize: 2},
	} {
		resp := w.mustSearch(req)
		if len(resp.GetResults()) == 0 {
			t.Fatalf("%v: no results", req)
		}
		for _, r := range resp.GetResults() {
			want, err := w.getDoctor(r.GetProfile().GetDoctorId())
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(r.GetProfile(), want) {
				t.Errorf("%v: result %s\n got %v\nwant %v", req, w.name[want.GetDoctorId()], r.GetProfile(), want)
			}
		}
	}
	// Carla practises two specialties, in the order she wrote them.
	for _, r := range w.mustSearch(&directoryv1.SearchDoctorsRequest{Specialty: "pediatria"}).GetResults() {
		if w.name[r.GetProfile().GetDoctorId()] != "Dra. Carla Dias" {
			continue
		}
		var codes []string
		for _, s := range r.GetProfile().GetSpecialties() {
			codes = append(codes, s.GetCode())
		}
		if !slices.Equal(codes, []string{"cardiologia", "pediatria"}) {
			t.Errorf("Carla's specialties %q, want [cardiologia pediatria]", codes)
		}
	}
}
