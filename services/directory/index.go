package directory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
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
//
// Nothing in a version's bulk holds a pointer — entries, the bytes they point into,
// the doctors map and the lists are arrays of values and offsets — so the collector
// marks each as one object, where an entry per doctor with its strings, and pointers to
// it from every list, made each collection of a directory under load mark for 50–80 ms
// and slow the searches meanwhile.
type indexState struct {
	at time.Time // when the read that made it began
	// entries and bytes only grow from one version to the next (each version reads as
	// far as its own lengths, so a later one appends beside it) until too many of them
	// are gone doctors' and a version starts anew (compacted).
	entries []doctorEntry
	bytes   []byte
	doctors map[uuid.UUID]ref     // the listed doctors' entries
	lists   map[string]*entryList // by specialty code; "" holds every listed doctor
}

// ref is an entry's position in its version's entries.
type ref = int32

// span is a run of a version's bytes.
type span struct{ off, n uint32 }

// doctorEntry is one listed doctor as search sees them, never changed once indexed.
// The profile is kept as a search result's profile field, encoded (specialties
// named): an answer copies those bytes.
type doctorEntry struct {
	id          uuid.UUID // its order is the order of the id's text
	field       span      // SearchResult's profile field: tag, length, the encoded profile
	specialties span      // the codes of its search_entries rows, each ended by a 0
	keys                  // the profile's sort and filter keys, kept here to be read fast
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
	ref ref
}

// entryList is one specialty's doctors in the three orders search walks.
type entryList struct {
	byRating []ref    // rating_avg DESC, rating_count DESC, doctor_id DESC
	byPrice  []ref    // price_cents, doctor_id
	byPlace  []placed // located only: latitude band, longitude, doctor_id
}

// bandDegrees is the height of a latitude band of the place order (about 11 km).
const bandDegrees = 0.1

func bandOf(lat float64) int32 { return int32(math.Floor(lat / bandDegrees)) }

func (s *indexState) entry(r ref) *doctorEntry { return &s.entries[r] }

// field is the encoded profile field of e.
func (s *indexState) field(e *doctorEntry) []byte {
	return s.bytes[e.field.off : e.field.off+e.field.n : e.field.off+e.field.n]
}

// specialtiesOf calls fn with each specialty code of e.
func (s *indexState) specialtiesOf(e *doctorEntry, fn func(code string)) {
	b := s.bytes[e.specialties.off : e.specialties.off+e.specialties.n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		fn(string(b[:i]))
		b = b[i+1:]
	}
}

// lookup is the entry of the listed doctor id, or nil.
func (s *indexState) lookup(id string) *doctorEntry {
	u, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	if r, ok := s.doctors[u]; ok {
		return s.entry(r)
	}
	return nil
}

func byRating(a, b *doctorEntry) int {
	if c := cmp.Compare(b.rating, a.rating); c != 0 {
		return c
	}
	if c := cmp.Compare(b.count, a.count); c != 0 {
		return c
	}
	return bytes.Compare(b.id[:], a.id[:])
}

func byPrice(a, b *doctorEntry) int {
	if c := cmp.Compare(a.price, b.price); c != 0 {
		return c
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// refOrder is order over the entries of s.
func (s *indexState) refOrder(order func(a, b *doctorEntry) int) func(a, b ref) int {
	return func(a, b ref) int { return order(s.entry(a), s.entry(b)) }
}

func (s *indexState) byPlace(a, b placed) int {
	if c := cmp.Compare(a.band, b.band); c != 0 {
		return c
	}
	if c := cmp.Compare(a.lng, b.lng); c != 0 {
		return c
	}
	return bytes.Compare(s.entry(a.ref).id[:], s.entry(b.ref).id[:])
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
	s := &indexState{at: at, doctors: map[uuid.UUID]ref{}}
	added, err := s.add(rows.entries, x.name)
	if err != nil {
		return nil, err
	}
	s.lists = make(map[string]*entryList, len(added))
	for code, rs := range added {
		s.lists[code] = s.newEntryList(rs)
	}
	return s, nil
}

// add appends one entry per doctor of rows (ordered by doctor), naming their
// specialties, and makes it the doctor's; added are the new entries by specialty ("":
// all of them).
func (s *indexState) add(rows []indexRow, name func(*directoryv1.Profile)) (added map[string][]ref, err error) {
	added = map[string][]ref{}
	for i, r := range rows {
		if i > 0 && rows[i-1].profile.DoctorId == r.profile.DoctorId {
			e := &s.entries[len(s.entries)-1]
			s.bytes = append(append(s.bytes, r.specialty...), 0)
			e.specialties.n += uint32(len(r.specialty) + 1)
			added[r.specialty] = append(added[r.specialty], ref(len(s.entries)-1))
			continue
		}
		name(r.profile)
		p := r.profile
		id, err := uuid.Parse(p.DoctorId)
		if err != nil {
			return nil, fmt.Errorf("doctor id %q: %w", p.DoctorId, err)
		}
		encoded, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encode the profile of doctor %s: %w", p.DoctorId, err)
		}
		if len(s.bytes)+len(encoded)+len(r.specialty)+16 > math.MaxUint32 {
			return nil, errors.New("search index: more than 4 GiB of profiles")
		}
		e := doctorEntry{id: id, located: r.located,
			keys: keys{rating: p.RatingAverage, count: p.RatingCount, price: p.GetPrice().GetAmountCents(), earth: r.earth}}
		off := len(s.bytes)
		s.bytes = protowire.AppendBytes(protowire.AppendTag(s.bytes, profileField, protowire.BytesType), encoded)
		e.field = span{uint32(off), uint32(len(s.bytes) - off)}
		e.specialties = span{uint32(len(s.bytes)), uint32(len(r.specialty) + 1)}
		s.bytes = append(append(s.bytes, r.specialty...), 0)
		if pt := p.GetLocation().GetPoint(); r.located && pt.Latitude != nil && pt.Longitude != nil {
			e.lat, e.lng = pt.GetLatitude(), pt.GetLongitude()
			e.band = bandOf(e.lat)
		} else {
			e.located = false
		}
		at := ref(len(s.entries))
		s.entries = append(s.entries, e)
		s.doctors[id] = at
		added[""] = append(added[""], at)
		added[r.specialty] = append(added[r.specialty], at)
	}
	return added, nil
}

func (s *indexState) newEntryList(rs []ref) *entryList {
	l := &entryList{
		byRating: slices.SortedFunc(slices.Values(rs), s.refOrder(byRating)),
		byPrice:  slices.SortedFunc(slices.Values(rs), s.refOrder(byPrice)),
	}
	l.byPlace = s.places(rs)
	slices.SortFunc(l.byPlace, s.byPlace)
	return l
}

// places are the located doctors of rs.
func (s *indexState) places(rs []ref) []placed {
	var out []placed
	for _, r := range rs {
		if e := s.entry(r); e.located {
			out = append(out, placed{keys: e.keys, ref: r})
		}
	}
	return out
}

// apply makes the next version: the doctors of rows.doctors replaced by their new
// entries (none when no longer listed). Lists of other specialties are shared; the
// entries and bytes are appended to, and started anew once gone doctors' outnumber
// half the listed ones.
func (s *indexState) apply(at time.Time, rows indexRows, name func(*directoryv1.Profile)) (*indexState, error) {
	next := &indexState{at: at, entries: s.entries, bytes: s.bytes, doctors: s.doctors, lists: s.lists}
	if len(rows.doctors) == 0 {
		return next, nil
	}
	next.doctors = maps.Clone(s.doctors)
	gone := map[ref]bool{}
	touched := map[string]bool{"": true}
	for _, id := range rows.doctors {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("changed doctor id %q: %w", id, err)
		}
		if r, ok := s.doctors[u]; ok {
			gone[r] = true
			s.specialtiesOf(s.entry(r), func(code string) { touched[code] = true })
		}
		delete(next.doctors, u)
	}
	added, err := next.add(rows.entries, name)
	if err != nil {
		return nil, err
	}
	for code := range added {
		touched[code] = true
	}
	next.lists = maps.Clone(s.lists)
	for code := range touched {
		l := s.lists[code]
		if l == nil {
			l = &entryList{}
		}
		in := added[code]
		nl := &entryList{
			byRating: merged(l.byRating, func(r ref) bool { return gone[r] }, in, next.refOrder(byRating)),
			byPrice:  merged(l.byPrice, func(r ref) bool { return gone[r] }, in, next.refOrder(byPrice)),
			byPlace:  merged(l.byPlace, func(p placed) bool { return gone[p.ref] }, next.places(in), next.byPlace),
		}
		if len(nl.byRating) == 0 {
			delete(next.lists, code)
			continue
		}
		next.lists[code] = nl
	}
	if len(next.entries)-len(next.doctors) > len(next.doctors)/2+1024 {
		return next.compacted(), nil
	}
	return next, nil
}

// compacted is s with only its listed doctors' entries and bytes, in new arrays (the
// lists keep their orders).
func (s *indexState) compacted() *indexState {
	next := &indexState{at: s.at, doctors: make(map[uuid.UUID]ref, len(s.doctors)), lists: make(map[string]*entryList, len(s.lists)),
		entries: make([]doctorEntry, 0, len(s.doctors))}
	moved := make([]ref, len(s.entries))
	size := 0
	for _, r := range s.doctors {
		e := s.entry(r)
		size += int(e.field.n + e.specialties.n)
	}
	next.bytes = make([]byte, 0, size)
	for r := range s.entries {
		e := s.entries[r]
		if live, ok := s.doctors[e.id]; !ok || live != ref(r) {
			continue
		}
		off := uint32(len(next.bytes))
		next.bytes = append(next.bytes, s.bytes[e.field.off:e.field.off+e.field.n]...)
		next.bytes = append(next.bytes, s.bytes[e.specialties.off:e.specialties.off+e.specialties.n]...)
		e.field.off, e.specialties.off = off, off+e.field.n
		moved[r] = ref(len(next.entries))
		next.doctors[e.id] = moved[r]
		next.entries = append(next.entries, e)
	}
	remap := func(rs []ref) []ref {
		out := make([]ref, len(rs))
		for i, r := range rs {
			out[i] = moved[r]
		}
		return out
	}
	for code, l := range s.lists {
		nl := &entryList{byRating: remap(l.byRating), byPrice: remap(l.byPrice), byPlace: slices.Clone(l.byPlace)}
		for i := range nl.byPlace {
			nl.byPlace[i].ref = moved[nl.byPlace[i].ref]
		}
		next.lists[code] = nl
	}
	return next
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
