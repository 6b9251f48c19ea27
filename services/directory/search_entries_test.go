package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/platform/testkit"
)

// checkEntriesInSync fails the test unless search_entries holds exactly one row per
// specialty of each listed doctor, with that doctor's current point, rating and price
// and every field of the profile a search answers with.
func checkEntriesInSync(t *testing.T, db pg.Querier, when string) {
	t.Helper()
	var stale, missing int
	err := db.QueryRow(context.Background(), `
		WITH want AS (
			SELECT s.specialty_code, d.doctor_id, d.earth::text AS earth, d.rating_avg, d.rating_count, d.price_cents,
				d.crm_number, d.crm_uf, d.display_name, d.photo_url, d.bio, d.consultation_minutes, d.languages,
				d.address, d.city, d.uf, d.latitude, d.longitude, d.time_zone, d.updated_at,
				ARRAY(SELECT x.specialty_code || ':' || x.rqe FROM doctor_specialties x
					WHERE x.doctor_id = d.doctor_id ORDER BY x.position) AS specialties
			FROM doctors d JOIN doctor_specialties s ON s.doctor_id = d.doctor_id WHERE d.listed),
		have AS (
			SELECT specialty_code, doctor_id, earth::text AS earth, rating_avg, rating_count, price_cents,
				crm_number, crm_uf, display_name, photo_url, bio, consultation_minutes, languages,
				address, city, uf, latitude, longitude, time_zone, updated_at, specialties
			FROM search_entries)
		SELECT (SELECT count(*) FROM (SELECT * FROM have EXCEPT ALL SELECT * FROM want) x),
		       (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM have) x)`).Scan(&stale, &missing)
	if err != nil {
		t.Fatal(err)
	}
	if stale != 0 || missing != 0 {
		t.Fatalf("%s: search_entries has %d stale rows and misses %d", when, stale, missing)
	}
}

func TestSearchEntries_FollowEveryWriterOfADoctor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	sync := func(when string) { t.Helper(); checkEntriesInSync(t, f.db, when) }
	search := func(code string, p *directoryv1.LatLng, more func(*directoryv1.SearchDoctorsRequest)) []string {
		t.Helper()
		r := &directoryv1.SearchDoctorsRequest{Specialty: code, Point: p, MaxDistanceKm: proto.Float64(25)}
		if more != nil {
			more(r)
		}
		return f.walk(r)
	}

	ana := f.newDoctor()
	f.mustUpsert(ana.token, input("Dra. Ana", north(saoPaulo, 1), 30000, "cardiologia", "pediatria"))
	bia := f.newDoctor()
	f.mustUpsert(bia.token, input("Dra. Bia", north(saoPaulo, 3), 20000, "cardiologia"))
	draft := f.unverifiedDoctor() // complete, not verified: never in the copy
	f.mustUpsert(draft.token, input("Dr. Rascunho", north(saoPaulo, 2), 10000, "cardiologia"))
	sync("after the profiles")
	if got, want := search("cardiologia", saoPaulo, nil), []string{ana.id, bia.id}; !slices.Equal(got, want) {
		t.Fatalf("cardiologists near São Paulo: %v, want %v", got, want)
	}

	// Verified later: listed, in the copy.
	testkit.ListDoctor(t, f.url, draft.id)
	sync("after the verdict")
	if got, want := search("cardiologia", saoPaulo, nil), []string{ana.id, draft.id, bia.id}; !slices.Equal(got, want) {
		t.Fatalf("after the verdict: %v, want %v", got, want)
	}

	// Unlisted by identity (suspended): gone from every specialty.
	if _, err := f.svc.setListing(ctx, ana.id, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	sync("after the unlisting")
	if got := search("pediatria", saoPaulo, nil); len(got) != 0 {
		t.Fatalf("an unlisted pediatrician is found: %v", got)
	}
	if _, err := f.svc.setListing(ctx, ana.id, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	sync("after listing again")

	// A specialty removed from the profile: gone from that specialty only.
	f.mustUpsert(ana.token, input("Dra. Ana", north(saoPaulo, 1), 30000, "cardiologia"))
	sync("after removing a specialty")
	if got := search("pediatria", saoPaulo, nil); len(got) != 0 {
		t.Fatalf("pediatrics after Ana left it: %v", got)
	}
	// A specialty added.
	f.mustUpsert(bia.token, input("Dra. Bia", north(saoPaulo, 3), 20000, "cardiologia", "dermatologia"))
	sync("after adding a specialty")
	if got := search("dermatologia", saoPaulo, nil); !slices.Equal(got, []string{bia.id}) {
		t.Fatalf("dermatology after Bia joined it: %v", got)
	}

	// Moved to Rio: out of São Paulo's radius, in Rio's.
	f.mustUpsert(bia.token, input("Dra. Bia", rio, 20000, "cardiologia", "dermatologia"))
	sync("after the move")
	if got := search("cardiologia", saoPaulo, nil); slices.Contains(got, bia.id) {
		t.Fatalf("Bia moved to Rio and is still near São Paulo: %v", got)
	}
	if got := search("dermatologia", rio, nil); !slices.Equal(got, []string{bia.id}) {
		t.Fatalf("dermatologists near Rio: %v", got)
	}

	// The price changed: the price filter and order follow.
	f.mustUpsert(ana.token, input("Dra. Ana", north(saoPaulo, 1), 5000, "cardiologia"))
	sync("after the price change")
	cheap := search("cardiologia", saoPaulo, func(r *directoryv1.SearchDoctorsRequest) {
		r.MaxPriceCents, r.Sort = 9000, directoryv1.SortOrder_SORT_ORDER_PRICE
	})
	if !slices.Equal(cheap, []string{ana.id}) {
		t.Fatalf("cardiologists up to R$ 90: %v", cheap)
	}

	// Reviews re-rate: the rating filter and order follow.
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		for _, stars := range []int32{5, 5, 4} {
			if _, _, err := f.svc.reviews.rate(ctx, tx, draft.id, stars); err != nil {
				return err
			}
		}
		_, _, err := f.svc.reviews.rate(ctx, tx, ana.id, 2)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sync("after the reviews")
	byRating := search("cardiologia", saoPaulo, func(r *directoryv1.SearchDoctorsRequest) {
		r.MinRating, r.Sort = 4, directoryv1.SortOrder_SORT_ORDER_RATING
	})
	if !slices.Equal(byRating, []string{draft.id}) {
		t.Fatalf("cardiologists rated 4 or more: %v", byRating)
	}

	// A rolled-back write leaves the copy as it was.
	err = pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE doctors SET complete = false WHERE doctor_id = $1`, draft.id); err != nil {
			return err
		}
		return fmt.Errorf("roll back")
	})
	if err == nil {
		t.Fatal("the transaction should have failed")
	}
	sync("after a rollback")
	if got := search("cardiologia", saoPaulo, nil); !slices.Contains(got, draft.id) {
		t.Fatalf("a rolled-back unlisting took effect: %v", got)
	}
}

// TestSearchEntries_SameResultsAsTheSourceTables compares every page of a few hundred
// random searches with the same search computed by brute force over doctors and
// doctor_specialties (no copy, no LIMIT, no index walk), after random changes to the
// doctors through the stores and the tables.
func TestSearchEntries_SameResultsAsTheSourceTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.Pool(t, Schema.Name, Schema)
	s, err := New(ctx, Deps{DB: db, Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	seedMany(t, s, 600)
	rng := rand.New(rand.NewPCG(19, 4))
	// A second replica answers from its search index: loaded now, before the changes,
	// and brought up to them by reading what changed, as it does in production.
	si, err := New(ctx, Deps{DB: db, Logger: testkit.Logger(t), SearchIndexEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := si.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}

	var ids []string
	rows, err := db.Query(ctx, `SELECT doctor_id::text FROM doctors ORDER BY crm_number`)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	// Changes by every kind of writer: reviews, verdicts, moves, price and specialty
	// edits; some doctors get several. Halfway, the replica reads them and starts its
	// arrays anew without the replaced entries (as it does once they are many), so the
	// rest is read into a compacted index.
	for i := range 300 {
		if i == 150 {
			if err := si.index.refresh(ctx); err != nil {
				t.Fatal(err)
			}
			st := si.index.state.Load()
			c := st.compacted()
			if len(c.entries) != len(st.doctors) || len(st.entries) <= len(st.doctors) || len(c.bytes) >= len(st.bytes) {
				t.Fatalf("compacted %d entries (%d bytes) of %d listed doctors into %d (%d bytes)",
					len(st.entries), len(st.bytes), len(st.doctors), len(c.entries), len(c.bytes))
			}
			si.index.state.Store(c)
		}
		id := ids[rng.IntN(len(ids))]
		var err error
		switch rng.IntN(6) {
		case 0:
			err = pg.InTx(ctx, db, func(tx pgx.Tx) error { _, _, err := s.reviews.rate(ctx, tx, id, int32(1+rng.IntN(5))); return err })
		case 1:
			_, err = s.setListing(ctx, id, rng.IntN(2) == 0, time.Now())
		case 2:
			_, err = db.Exec(ctx, `UPDATE doctors SET latitude = latitude + $2, longitude = longitude - $2 WHERE doctor_id = $1`, id,
				(rng.Float64()-0.5)*0.4)
		case 3:
			_, err = db.Exec(ctx, `UPDATE doctors SET price_cents = $2 WHERE doctor_id = $1`, id, 5000+rng.IntN(40)*1000)
		case 4:
			// A listed doctor keeps one specialty at least: a profile without one is not
			// complete (upsertProfile), and search finds doctors by their specialties.
			_, err = db.Exec(ctx, `DELETE FROM doctor_specialties WHERE doctor_id = $1 AND position = 0
				AND (SELECT count(*) FROM doctor_specialties WHERE doctor_id = $1) > 1`, id)
		case 5:
			_, err = db.Exec(ctx, `INSERT INTO doctor_specialties (doctor_id, specialty_code, position) VALUES ($1, 'cardiologia', 5)
				ON CONFLICT DO NOTHING`, id)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	checkEntriesInSync(t, db, "after the changes")
	if err := si.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}

	specs := []string{"cardiologia", "pediatria", "dermatologia", "acupuntura", "urologia", "clinica_medica", ""}
	cities := []*directoryv1.LatLng{saoPaulo, rio, campinas, santos,
		{Latitude: new(-25.4284), Longitude: new(-49.2733)}, {Latitude: new(-3.7319), Longitude: new(-38.5267)}}
	sorts := []directoryv1.SortOrder{directoryv1.SortOrder_SORT_ORDER_DISTANCE, directoryv1.SortOrder_SORT_ORDER_RATING,
		directoryv1.SortOrder_SORT_ORDER_PRICE}
	nonEmpty := 0
	for n := range 300 {
		r := &directoryv1.SearchDoctorsRequest{Specialty: specs[rng.IntN(len(specs))], Sort: sorts[rng.IntN(len(sorts))],
			PageSize: int32(1 + rng.IntN(8))}
		if rng.IntN(5) > 0 || r.Sort == directoryv1.SortOrder_SORT_ORDER_DISTANCE {
			c := cities[rng.IntN(len(cities))]
			r.Point = &directoryv1.LatLng{Latitude: new(c.GetLatitude() + (rng.Float64()-0.5)*0.2),
				Longitude: new(c.GetLongitude() + (rng.Float64()-0.5)*0.2)}
			if km := []float64{0, 5, 15, 40}[rng.IntN(4)]; km > 0 {
				r.MaxDistanceKm = proto.Float64(km)
			}
		}
		r.MinRating = []float64{0, 0, 3, 4.5}[rng.IntN(4)]
		r.MaxPriceCents = []int64{0, 0, 20000, 35000}[rng.IntN(4)]
		r.Name = []string{"", "", "", "semente 1"}[rng.IntN(4)]

		if q, _, err := si.plan(r); err != nil {
			t.Fatal(err)
		} else if _, ok := si.index.page(q.filter, nil, 1); ok != (r.Name == "") {
			t.Fatalf("search %d %v: the index answers: %t", n, r, ok)
		}
		var got []string
		for pages := 0; ; pages++ {
			if pages > 700 {
				t.Fatalf("search %d: the page token does not advance", n)
			}
			resp, err := s.searchDoctors(ctx, r)
			if err != nil {
				t.Fatalf("search %d %v: %v", n, r, err)
			}
			// The index's page is the query's, byte for byte: the same doctors, fields,
			// distances and next page token.
			fromIndex, err := si.searchDoctors(ctx, r)
			if err != nil {
				t.Fatalf("search %d %v from the index: %v", n, r, err)
			}
			if !sameAnswer(t, fromIndex, resp) {
				t.Fatalf("search %d %v page %d:\nindex %v\nquery %v", n, r, pages, decoded(t, fromIndex), resp)
			}
			for _, res := range resp.GetResults() {
				got = append(got, res.GetProfile().GetDoctorId())
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			r.PageToken = resp.GetNextPageToken()
		}
		r.PageToken = ""
		want := bruteForce(t, db, r)
		if !slices.Equal(got, want) {
			t.Fatalf("search %d %v:\n got %d %v\nwant %d %v", n, r, len(got), got, len(want), want)
		}
		if len(want) > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 100 {
		t.Fatalf("only %d of 300 searches found anyone: the comparison proves little", nonEmpty)
	}
}

// bruteForce answers r straight from the source tables: every listed doctor tested one
// by one, ordered whole.
func bruteForce(t *testing.T, db pg.Beginner, r *directoryv1.SearchDoctorsRequest) []string {
	t.Helper()
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := "d.listed"
	point := ""
	if p := r.GetPoint(); p != nil && (r.MaxDistanceKm != nil || r.GetSort() == directoryv1.SortOrder_SORT_ORDER_DISTANCE) {
		point = fmt.Sprintf("ll_to_earth(%s::float8, %s::float8)", arg(p.GetLatitude()), arg(p.GetLongitude()))
		if r.MaxDistanceKm != nil {
			where += fmt.Sprintf(" AND earth_distance(d.earth, %s) <= %s", point, arg(r.GetMaxDistanceKm()*1000)+"::float8")
		}
	}
	if r.GetSpecialty() != "" {
		where += " AND d.doctor_id IN (SELECT doctor_id FROM doctor_specialties WHERE specialty_code = " + arg(r.GetSpecialty()) + "::text)"
	}
	if r.GetMinRating() > 0 {
		where += " AND d.rating_avg >= " + arg(r.GetMinRating())
	}
	if r.GetMaxPriceCents() > 0 {
		where += " AND d.price_cents <= " + arg(r.GetMaxPriceCents())
	}
	if r.GetName() != "" {
		where += " AND strpos(lower(d.display_name), lower(" + arg(r.GetName()) + "::text)) > 0"
	}
	order := "d.rating_avg DESC, d.rating_count DESC, d.doctor_id DESC"
	switch r.GetSort() {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		order = fmt.Sprintf("d.earth <-> %s, d.doctor_id", point)
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		order = "d.price_cents, d.doctor_id"
	}
	var out []string
	err := pg.InTx(context.Background(), db, func(tx pgx.Tx) error {
		// No index: every row is read and tested.
		if _, err := tx.Exec(context.Background(), `SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
			return err
		}
		rows, err := tx.Query(context.Background(), "SELECT d.doctor_id::text FROM doctors d WHERE "+where+" ORDER BY "+order, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Concurrent writes of one doctor — reviews racing a profile edit and verdicts — leave
// the copy equal to the source tables: each rebuild reads what the one before committed.
func TestSearchEntries_ConcurrentWritersOfOneDoctor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	d := f.newDoctor()
	f.mustUpsert(d.token, input("Dra. Disputada", saoPaulo, 20000, "cardiologia", "pediatria"))
	var wg sync.WaitGroup
	errc := make(chan error, 40)
	for i := range 30 {
		wg.Go(func() {
			switch i % 3 {
			case 0:
				errc <- pg.InTx(ctx, f.db, func(tx pgx.Tx) error { _, _, err := f.svc.reviews.rate(ctx, tx, d.id, int32(1+i%5)); return err })
			case 1:
				codes := [][]string{{"cardiologia"}, {"pediatria", "dermatologia"}, {"cardiologia", "urologia"}}[(i/3)%3]
				_, err := f.upsert(d.token, input("Dra. Disputada", north(saoPaulo, float64(i)), int64(10000+i*100), codes...))
				errc <- err
			default:
				_, err := f.svc.setListing(ctx, d.id, i%2 == 0, time.Now())
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkEntriesInSync(t, f.db, "after the concurrent writes")
	var reviews int
	if err := f.db.QueryRow(ctx, `SELECT rating_count FROM doctors WHERE doctor_id = $1`, d.id).Scan(&reviews); err != nil || reviews != 10 {
		t.Fatalf("rating_count %d (%v), want 10", reviews, err)
	}
}

// A search by specialty answers from search_entries alone, so every field it returns is
// the copy's: after each change of a doctor's profile, price, specialties or rating,
// each shape of that search (by distance, price, rating, name) must return the profile
// GetDoctor reads from the doctors table, with the new value in it.
func TestSearchEntries_ResultsCarryTheProfileAsItIsNow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ana := f.newDoctor()
	other := f.newDoctor() // a second cardiologist: Ana's changes must not reach her row
	f.mustUpsert(other.token, input("Dra. Outra", north(saoPaulo, 2), 25000, "cardiologia"))
	in := input("Dra. Ana", north(saoPaulo, 1), 30000, "cardiologia", "pediatria")
	f.mustUpsert(ana.token, in)

	// check runs every shape of the search of each of Ana's specialties, and compares
	// her result with GetDoctor's profile; has tells the new value is there.
	check := func(when string, has func(*directoryv1.Profile) bool) {
		t.Helper()
		checkEntriesInSync(t, f.db, when)
		want, err := f.getDoctor(ana.id)
		if err != nil {
			t.Fatal(err)
		}
		if !has(want) {
			t.Fatalf("%s: GetDoctor does not show the change: %v", when, want)
		}
		for _, sp := range want.GetSpecialties() {
			for _, r := range []*directoryv1.SearchDoctorsRequest{
				{Specialty: sp.GetCode(), Point: saoPaulo, MaxDistanceKm: proto.Float64(25)},
				{Specialty: sp.GetCode(), Sort: directoryv1.SortOrder_SORT_ORDER_PRICE},
				{Specialty: sp.GetCode(), Sort: directoryv1.SortOrder_SORT_ORDER_RATING},
				{Specialty: sp.GetCode(), Name: want.GetDisplayName()},
			} {
				var got *directoryv1.Profile
				for _, res := range f.mustSearch(r).GetResults() {
					if res.GetProfile().GetDoctorId() == ana.id {
						got = res.GetProfile()
					}
				}
				if got == nil {
					t.Fatalf("%s: %v does not find Ana", when, r)
				}
				if !proto.Equal(got, want) {
					t.Fatalf("%s: %v returns a stale profile\n got %v\nwant %v", when, r, got, want)
				}
			}
		}
	}
	check("first profile", func(p *directoryv1.Profile) bool { return p.GetDisplayName() == "Dra. Ana" })

	in.DisplayName, in.Bio, in.PhotoUrl = "Dra. Ana Lima", "Cardiologista infantil.", "https://example.com/ana.jpg"
	in.Languages, in.ConsultationMinutes = []string{"pt", "en"}, 30
	f.mustUpsert(ana.token, in)
	check("new name, bio, photo, languages, length", func(p *directoryv1.Profile) bool {
		return p.GetDisplayName() == "Dra. Ana Lima" && p.GetBio() == "Cardiologista infantil." &&
			slices.Equal(p.GetLanguages(), []string{"pt", "en"}) && p.GetConsultationMinutes() == 30
	})

	in.PriceCents = 45000
	f.mustUpsert(ana.token, in)
	check("new price", func(p *directoryv1.Profile) bool { return p.GetPrice().GetAmountCents() == 45000 })

	in.Location.Address, in.Location.City = "Rua Augusta, 500", "São Paulo (Consolação)"
	in.Location.Point = north(saoPaulo, 4)
	in.TimeZone = "America/Bahia"
	f.mustUpsert(ana.token, in)
	check("new address and time zone", func(p *directoryv1.Profile) bool {
		return p.GetLocation().GetAddress() == "Rua Augusta, 500" && p.GetTimeZone() == "America/Bahia"
	})

	// Specialties in another order, one with an RQE: every row of the doctor carries them.
	in.Specialties = []*directoryv1.SpecialtyPractice{{Code: "pediatria", Rqe: "12345"}, {Code: "cardiologia"}}
	f.mustUpsert(ana.token, in)
	check("specialties reordered with an RQE", func(p *directoryv1.Profile) bool {
		s := p.GetSpecialties()
		return len(s) == 2 && s[0].GetCode() == "pediatria" && s[0].GetRqe() == "12345"
	})

	// A review re-rates her, outside the profile's writer.
	err := pg.InTx(ctx, f.db, func(tx pgx.Tx) error {
		_, _, err := f.svc.reviews.rate(ctx, tx, ana.id, 3)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	check("a review", func(p *directoryv1.Profile) bool { return p.GetRatingCount() == 1 && p.GetRatingAverage() == 3 })

	// The other doctor's row is hers still.
	for _, res := range f.mustSearch(&directoryv1.SearchDoctorsRequest{Specialty: "cardiologia"}).GetResults() {
		if p := res.GetProfile(); p.GetDoctorId() == other.id && p.GetDisplayName() != "Dra. Outra" {
			t.Fatalf("the other cardiologist's result changed: %v", p)
		}
	}
}
