package directory

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// searchIndex answers SearchDoctors from memory: every listed doctor's search entry,
// read from search_entries and kept in three orders per specialty (rating, price, and
// place). It gives the answers the query of store_search.go gives — the same filters,
// orders, ties and cursors, and distances computed with cube's and earthdistance's
// formulas from the same points — without a round trip to PostgreSQL, whose query was
// more than half of a search's CPU.
//
// Each replica keeps its own copy and follows the table: every few seconds (and after
// each of its own writes, so a doctor sees their own change at once) it reads the
// entries of the doctors written since its last read (search_changes). An answer is at
// most that old plus the time of a write's commit; search answers already carry a 30 s
// max-age at the edge. A copy older than staleAfter (the database unreachable) is not
// used: the query answers instead, or fails as it would have.
//
// A search by name is left to the query: ILIKE follows the database's collation.
type searchIndex struct {
	db    *pgxpool.Pool
	store indexStore
	name  func(*directoryv1.Profile) // names a profile's specialties
	log   *slog.Logger
	now   func() time.Time

	state atomic.Pointer[indexState] // nil until the first read

	mu      sync.Mutex // one read at a time
	horizon uint64     // of the last read: changes from it on are still to read
}

// staleAfter is how old a copy may be and still answer.
const staleAfter = 30 * time.Second

// indexState is one immutable version of the index: readers load it once and use it
// without locks; a read of changes makes a new version.
type indexState struct {
	at      time.Time               // when the read that made it began
	doctors map[string]*doctorEntry // by doctor id
	lists   map[string]*entryList   // by specialty code; "" holds every listed doctor
}

// doctorEntry is one listed doctor as search sees them, never changed once indexed.
// The profile is kept as a search result's profile field, encoded (specialties
// named): an answer copies those bytes, and the collector has nothing inside to mark,
// where a tree of messages and strings per doctor made every collection mark for
// about 100 ms under load.
type doctorEntry struct {
	id          string
	field       []byte   // SearchResult's profile field: tag, length, the encoded profile
	specialties []string // the codes of its search_entries rows
	keys                 // the profile's sort and filter keys, kept here to be read fast
	located     bool
}

// profileField is the field number of SearchResult.profile.
var profileField = (&directoryv1.SearchResult{}).ProtoReflect().Descriptor().Fields().ByName("profile").Number()

// keys are a doctor's sort and filter keys.
type keys struct {
	rating   float64
	count    int32
	price    int64
	earth    [3]float64
	lat, lng float64 // degrees
	band     int32   // latitude band
}

// placed is a located doctor in the place order: its keys inline, so a walk over an
// area reads one array in order.
type placed struct {
	keys
	d *doctorEntry
}

// entryList is one specialty's doctors in the three orders search walks.
type entryList struct {
	byRating []*doctorEntry // rating_avg DESC, rating_count DESC, doctor_id DESC
	byPrice  []*doctorEntry // price_cents, doctor_id
	byPlace  []placed       // located only: latitude band, longitude, doctor_id
}

// bandDegrees is the height of a latitude band of the place order (about 11 km).
const bandDegrees = 0.1

func bandOf(lat float64) int32 { return int32(math.Floor(lat / bandDegrees)) }

func byRating(a, b *doctorEntry) int {
	if c := cmp.Compare(b.rating, a.rating); c != 0 {
		return c
	}
	if c := cmp.Compare(b.count, a.count); c != 0 {
		return c
	}
	return cmp.Compare(b.id, a.id)
}

func byPrice(a, b *doctorEntry) int {
	if c := cmp.Compare(a.price, b.price); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

func byPlace(a, b placed) int {
	if c := cmp.Compare(a.band, b.band); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lng, b.lng); c != 0 {
		return c
	}
	return cmp.Compare(a.d.id, b.d.id)
}

func newSearchIndex(db *pgxpool.Pool, name func(*directoryv1.Profile), log *slog.Logger, now func() time.Time) *searchIndex {
	return &searchIndex{db: db, name: name, log: log, now: now}
}

// Run keeps the index until ctx ends: a full read, then the changes every period. A
// failed read is logged and tried again at the next tick.
func (x *searchIndex) Run(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := x.refresh(ctx); err != nil && ctx.Err() == nil {
			x.log.WarnContext(ctx, "search index: read failed; searches use the query while the index is older than "+staleAfter.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// refresh brings the index up to the database's committed state: all of it the first
// time, the changes after.
func (x *searchIndex) refresh(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	at := x.now()
	old := x.state.Load()
	if old == nil {
		rows, err := x.store.all(ctx, x.db)
		if err != nil {
			return err
		}
		st, err := x.build(at, rows)
		if err != nil {
			return err
		}
		x.state.Store(st)
		x.horizon = rows.horizon
		x.log.InfoContext(ctx, "search index: loaded", "doctors", len(x.state.Load().doctors), "took", x.now().Sub(at).String())
		return nil
	}
	rows, err := x.store.changedSince(ctx, x.db, x.horizon)
	if err != nil {
		return err
	}
	next, err := old.apply(at, rows, x.name)
	if err != nil {
		return err
	}
	x.state.Store(next)
	x.horizon = rows.horizon
	return nil
}

// build makes the first version from a full read.
func (x *searchIndex) build(at time.Time, rows indexRows) (*indexState, error) {
	s := &indexState{at: at, doctors: map[string]*doctorEntry{}, lists: map[string]*entryList{}}
	entries, err := entriesOf(rows.entries, x.name)
	if err != nil {
		return nil, err
	}
	for _, d := range entries {
		s.doctors[d.id] = d
	}
	members := map[string][]*doctorEntry{}
	for _, d := range s.doctors {
		members[""] = append(members[""], d)
		for _, code := range d.specialties {
			members[code] = append(members[code], d)
		}
	}
	for code, ds := range members {
		s.lists[code] = newEntryList(ds)
	}
	return s, nil
}

// entriesOf makes one entry per doctor of rows (ordered by doctor), naming their
// specialties.
func entriesOf(rows []indexRow, name func(*directoryv1.Profile)) ([]*doctorEntry, error) {
	var out []*doctorEntry
	for i, r := range rows {
		if i > 0 && rows[i-1].profile.DoctorId == r.profile.DoctorId {
			d := out[len(out)-1]
			d.specialties = append(d.specialties, r.specialty)
			continue
		}
		name(r.profile)
		p := r.profile
		encoded, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode the profile of doctor %s: %w", p.DoctorId, err)
		}
		field := protowire.AppendTag(make([]byte, 0, len(encoded)+8), profileField, protowire.BytesType)
		d := &doctorEntry{id: p.DoctorId, field: protowire.AppendBytes(field, encoded), specialties: []string{r.specialty}, located: r.located,
			keys: keys{rating: p.RatingAverage, count: p.RatingCount, price: p.GetPrice().GetAmountCents(), earth: r.earth}}
		if pt := p.GetLocation().GetPoint(); r.located && pt.Latitude != nil && pt.Longitude != nil {
			d.lat, d.lng = pt.GetLatitude(), pt.GetLongitude()
			d.band = bandOf(d.lat)
		} else {
			d.located = false
		}
		out = append(out, d)
	}
	return out, nil
}

func newEntryList(ds []*doctorEntry) *entryList {
	l := &entryList{byRating: slices.SortedFunc(slices.Values(ds), byRating), byPrice: slices.SortedFunc(slices.Values(ds), byPrice)}
	l.byPlace = places(ds)
	slices.SortFunc(l.byPlace, byPlace)
	return l
}

// places are the located doctors of ds.
func places(ds []*doctorEntry) []placed {
	var out []placed
	for _, d := range ds {
		if d.located {
			out = append(out, placed{keys: d.keys, d: d})
		}
	}
	return out
}

// apply makes the next version: the doctors of rows.doctors replaced by their new
// entries (none when no longer listed). Lists of other specialties are shared.
func (s *indexState) apply(at time.Time, rows indexRows, name func(*directoryv1.Profile)) (*indexState, error) {
	next := &indexState{at: at, doctors: s.doctors, lists: s.lists}
	if len(rows.doctors) == 0 {
		return next, nil
	}
	entries, err := entriesOf(rows.entries, name)
	if err != nil {
		return nil, err
	}
	next.doctors = make(map[string]*doctorEntry, len(s.doctors))
	for id, d := range s.doctors {
		next.doctors[id] = d
	}
	gone := map[string]bool{}
	touched := map[string]bool{"": true}
	for _, id := range rows.doctors {
		gone[id] = true
		if d := s.doctors[id]; d != nil {
			for _, code := range d.specialties {
				touched[code] = true
			}
		}
		delete(next.doctors, id)
	}
	added := map[string][]*doctorEntry{}
	for _, d := range entries {
		next.doctors[d.id] = d
		added[""] = append(added[""], d)
		for _, code := range d.specialties {
			touched[code] = true
			added[code] = append(added[code], d)
		}
	}
	next.lists = make(map[string]*entryList, len(s.lists)+len(added))
	for code, l := range s.lists {
		next.lists[code] = l
	}
	for code := range touched {
		l := s.lists[code]
		if l == nil {
			l = &entryList{}
		}
		goneEntry := func(d *doctorEntry) bool { return gone[d.id] }
		nl := &entryList{
			byRating: merged(l.byRating, goneEntry, added[code], byRating),
			byPrice:  merged(l.byPrice, goneEntry, added[code], byPrice),
			byPlace:  merged(l.byPlace, func(p placed) bool { return gone[p.d.id] }, places(added[code]), byPlace),
		}
		if len(nl.byRating) == 0 {
			delete(next.lists, code)
			continue
		}
		next.lists[code] = nl
	}
	return next, nil
}

// merged is old (sorted by order) without what gone says left, merged with added: a
// new sorted slice, in time linear in old.
func merged[T any](old []T, gone func(T) bool, added []T, order func(a, b T) int) []T {
	in := slices.SortedFunc(slices.Values(added), order)
	out := make([]T, 0, len(old)+len(in))
	for _, d := range old {
		if gone(d) {
			continue
		}
		for len(in) > 0 && order(in[0], d) < 0 {
			out = append(out, in[0])
			in = in[1:]
		}
		out = append(out, d)
	}
	return append(out, in...)
}
