package directory

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/testkit"
)

// newReplica is a second directory on f's database with a search index, read once.
func newReplica(t *testing.T, f *fixture, now func() time.Time) *Service {
	t.Helper()
	s, err := New(context.Background(), Deps{DB: f.db, Logger: testkit.Logger(t), Now: now, SearchIndexEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.index.refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// indexedPrice is the price the replica's index holds for a doctor, or -1 if it holds
// none.
func indexedPrice(s *Service, id string) int64 {
	d := s.index.state.Load().lookup(id)
	if d == nil {
		return -1
	}
	return d.price
}

// decoded is resp as a client reads it: the index's results are their encoding until
// decoded.
func decoded(t *testing.T, resp *directoryv1.SearchDoctorsResponse) *directoryv1.SearchDoctorsResponse {
	t.Helper()
	b, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	out := &directoryv1.SearchDoctorsResponse{}
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameAnswer tells whether two answers encode to the same bytes (field by field in
// number order: the encoding the gateway receives).
func sameAnswer(t *testing.T, a, b *directoryv1.SearchDoctorsResponse) bool {
	t.Helper()
	ab, err := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := proto.MarshalOptions{Deterministic: true}.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ab) == string(bb)
}

// A transaction that began writing before another and commits after it is not lost:
// the read after the later one's commit does not move the horizon past the earlier,
// still running, transaction.
func TestSearchIndex_SeesAWriteThatCommitsAfterALaterOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	first, second := f.seed("Dra. Primeira", saoPaulo, 20000, "cardiologia"), f.seed("Dr. Segundo", saoPaulo, 20000, "cardiologia")
	s := newReplica(t, f, nil)

	early, err := f.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = early.Rollback(ctx) }()
	if _, err := early.Exec(ctx, `UPDATE doctors SET price_cents = 11100 WHERE doctor_id = $1`, first); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `UPDATE doctors SET price_cents = 22200 WHERE doctor_id = $1`, second); err != nil {
		t.Fatal(err)
	}
	if err := s.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := [2]int64{indexedPrice(s, first), indexedPrice(s, second)}; got != [2]int64{20000, 22200} {
		t.Fatalf("after the later commit: prices %v, want [20000 22200]", got)
	}
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := [2]int64{indexedPrice(s, first), indexedPrice(s, second)}; got != [2]int64{11100, 22200} {
		t.Fatalf("after the earlier transaction's commit: prices %v, want [11100 22200]", got)
	}
	// A deleted doctor leaves the index too.
	if _, err := f.db.Exec(ctx, `DELETE FROM doctors WHERE doctor_id = $1`, second); err != nil {
		t.Fatal(err)
	}
	if err := s.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := indexedPrice(s, second); got != -1 {
		t.Fatalf("a deleted doctor is still indexed, at %d", got)
	}
}

// A replica's own writes show in its next search at once; another replica's show
// once its reader has run; an index older than staleAfter gives way to the query.
func TestSearchIndex_WritesShowAtOnceHereAndSoonElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ana := f.seed("Dra. Ana", saoPaulo, 20000, "cardiologia")
	bia := f.seed("Dra. Bia", north(saoPaulo, 2), 30000, "cardiologia")
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	here := newReplica(t, f, now)
	elsewhere, err := New(ctx, Deps{DB: f.db, Logger: testkit.Logger(t), SearchIndexEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = elsewhere.Run(runCtx) })
	defer wg.Wait()
	defer stop()

	search := func(s *Service) []string {
		t.Helper()
		resp, err := s.searchDoctors(ctx, &directoryv1.SearchDoctorsRequest{Specialty: "cardiologia", Point: saoPaulo,
			MaxDistanceKm: proto.Float64(25), Sort: directoryv1.SortOrder_SORT_ORDER_DISTANCE})
		if err != nil {
			t.Fatal(err)
		}
		return ids(decoded(t, resp))
	}
	eventually := func(what string, s *Service, want []string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for got := search(s); !slices.Equal(got, want); got = search(s) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("before any change, elsewhere", elsewhere, []string{ana, bia})

	// Suspended through this replica: gone from its very next search.
	if _, err := here.setListing(ctx, ana, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := search(here); !slices.Equal(got, []string{bia}) {
		t.Fatalf("right after the suspension, here: %v, want only Bia", got)
	}
	eventually("after the suspension, elsewhere", elsewhere, []string{bia})

	// A write this replica does not make (another replica's) is not in its index until
	// it reads: the index answers with what it read.
	if _, err := f.db.Exec(ctx, `UPDATE doctors SET latitude = latitude + 1 WHERE doctor_id = $1`, bia); err != nil {
		t.Fatal(err)
	}
	if got := search(here); !slices.Equal(got, []string{bia}) {
		t.Fatalf("before reading the move: %v, want Bia still (from the index)", got)
	}
	eventually("after the move, elsewhere", elsewhere, nil)
	// Past staleAfter without a read, the query answers: it sees the move.
	clock.Add(int64(staleAfter + time.Second))
	if got := search(here); len(got) != 0 {
		t.Fatalf("with a stale index: %v, want none (the query's answer)", got)
	}
	if _, ok := here.index.page(searchFilter{specialty: "cardiologia"}, nil, 1); ok {
		t.Fatal("a stale index answered")
	}
	if err := here.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, ok := here.index.page(searchFilter{specialty: "cardiologia", sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, nil, 5); !ok || len(got) != 1 || got[0].entry.id.String() != bia {
		t.Fatalf("after a read: %v %v, want Bia from the index", ok, got)
	}
}

// Searches running while the index takes in changes each see one version: a whole,
// sorted page of the specialty, never a half-applied change (run with -race, this also
// checks that readers and the reader of changes never touch the same memory unguarded).
func TestSearchIndex_SearchesDuringChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	var docs []string
	for i := range 12 {
		docs = append(docs, f.seed("Dr. Concorrente", north(saoPaulo, float64(i)), int64(10000+i*1000), "cardiologia", "pediatria"))
	}
	s := newReplica(t, f, nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				resp, err := s.searchDoctors(ctx, &directoryv1.SearchDoctorsRequest{Specialty: "pediatria", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE, PageSize: 50})
				if err != nil {
					errc <- err
					return
				}
				resp = decoded(t, resp)
				prices := make([]int64, 0, len(resp.GetResults()))
				for _, r := range resp.GetResults() {
					if r.GetProfile().GetSpecialties()[0].GetName() != "Cardiologia" {
						t.Errorf("a result's specialties %v", r.GetProfile().GetSpecialties())
					}
					prices = append(prices, r.GetProfile().GetPrice().GetAmountCents())
				}
				if len(prices) != len(docs) || !slices.IsSorted(prices) {
					t.Errorf("a page of %d prices %v, want all %d sorted", len(prices), prices, len(docs))
				}
			}
		})
	}
	for i := range 40 {
		if _, err := f.db.Exec(ctx, `UPDATE doctors SET price_cents = $2 WHERE doctor_id = $1`, docs[i%len(docs)], 5000+(i*7919)%40000); err != nil {
			t.Fatal(err)
		}
		if err := s.index.refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	want, err := f.search(&directoryv1.SearchDoctorsRequest{Specialty: "pediatria", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE, PageSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.searchDoctors(ctx, &directoryv1.SearchDoctorsRequest{Specialty: "pediatria", Sort: directoryv1.SortOrder_SORT_ORDER_PRICE, PageSize: 50})
	if err != nil || !sameAnswer(t, got, want) {
		t.Fatalf("after the changes: %v %v, want the query's %v", err, got, want)
	}
}

// A doctor unlisted, or leaving a specialty, leaves every list of the index it was in —
// each of its specialties', not only the first's — and a doctor joining one enters it.
func TestSearchIndex_ChangesReachEverySpecialtysList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	ana := f.seed("Dra. Ana Três", north(saoPaulo, 1), 20000, "cardiologia", "pediatria", "dermatologia")
	bia := f.seed("Dra. Bia Uma", north(saoPaulo, 2), 21000, "cardiologia")
	s := newReplica(t, f, nil)
	in := func(code string) []string {
		t.Helper()
		got, ok := s.index.page(searchFilter{specialty: code, sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, nil, 10)
		if !ok {
			t.Fatalf("the index did not answer %q", code)
		}
		var out []string
		for _, g := range got {
			out = append(out, g.entry.id.String())
		}
		return out
	}
	want := func(what string, lists map[string][]string) {
		t.Helper()
		for code, ids := range lists {
			if got := in(code); !slices.Equal(got, ids) {
				t.Errorf("%s: %q holds %v, want %v", what, code, got, ids)
			}
		}
	}
	want("loaded", map[string][]string{"cardiologia": {ana, bia}, "pediatria": {ana}, "dermatologia": {ana}, "": {ana, bia}})

	// Bia takes up pediatria and Ana leaves it: both lists change, and no other.
	if _, err := f.db.Exec(ctx, `DELETE FROM doctor_specialties WHERE doctor_id = $1 AND specialty_code = 'pediatria'`, ana); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(ctx, `INSERT INTO doctor_specialties (doctor_id, specialty_code, position) VALUES ($1, 'pediatria', 1)`, bia); err != nil {
		t.Fatal(err)
	}
	if err := s.index.refresh(ctx); err != nil {
		t.Fatal(err)
	}
	want("moved", map[string][]string{"cardiologia": {ana, bia}, "pediatria": {bia}, "dermatologia": {ana}, "": {ana, bia}})

	if _, err := s.setListing(ctx, ana, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	want("Ana unlisted", map[string][]string{"cardiologia": {bia}, "pediatria": {bia}, "dermatologia": nil, "": {bia}})
}
