package directory

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/google/uuid"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// page answers one page of a search from the index: up to limit doctors in the
// search's order, after c when c is not nil. ok is false when the index cannot answer
// (not loaded yet, too old, or a search by name): the query answers then.
func (x *searchIndex) page(f searchFilter, c *cursor, limit int) (page []found, ok bool) {
	if x == nil || f.name != "" {
		return nil, false
	}
	s := x.state.Load()
	if s == nil || x.now().Sub(s.at) > staleAfter {
		return nil, false
	}
	l := s.lists[f.specialty]
	if l == nil {
		return nil, true // a known specialty no listed doctor practises
	}
	q := indexQuery{s: s, f: f, c: c, limit: limit, radius: math.Inf(1)}
	if c != nil {
		id, err := uuid.Parse(c.ID)
		if err != nil {
			return nil, false // not a cursor the index made: the query decides
		}
		q.after = id
	}
	if p := f.point; p != nil {
		q.lat, q.lng = p.GetLatitude(), p.GetLongitude()
		q.earth = earthXYZ(q.lat, q.lng)
		if f.maxDistanceKm != nil {
			q.radius = *f.maxDistanceKm * 1000
		}
	}
	switch {
	case f.sort == directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		return q.nearest(l), true
	case f.point != nil && f.maxDistanceKm != nil:
		return q.within(l), true
	default:
		return q.walk(l), true
	}
}

// indexQuery is one search over an entryList.
type indexQuery struct {
	s        *indexState
	f        searchFilter
	c        *cursor
	limit    int
	lat, lng float64    // the patient's point, in degrees (with f.point)
	earth    [3]float64 // the same point as earthdistance's cube
	radius   float64    // metres; +Inf without max_distance_km
	after    uuid.UUID  // the cursor's doctor (with c)
}

// keeps is the filters a doctor must pass, other than the distance and the cursor.
func (q *indexQuery) keeps(k *keys) bool {
	if q.f.minRating > 0 && !(k.rating >= q.f.minRating) {
		return false
	}
	return q.f.maxPriceCents <= 0 || k.price <= q.f.maxPriceCents
}

// measured is d found with its distances from the patient's point (0 without one; a
// doctor without a point has none with it, and the query would not have answered).
func (q *indexQuery) measured(d *doctorEntry) found {
	if q.f.point == nil || !d.located {
		return q.found(d, 0, 0)
	}
	chord := cubeDistance(d.earth, q.earth)
	return q.found(d, chord, greatCircle(chord))
}

func (q *indexQuery) found(d *doctorEntry, chord, dist float64) found {
	return found{entry: d, field: q.s.field(d), chord: chord, dist: dist}
}

// follows tells whether a doctor at (chord, …) comes after the cursor in the search's order.
func (q *indexQuery) follows(d *doctorEntry, chord float64) bool {
	c := q.c
	if c == nil {
		return true
	}
	id := bytes.Compare(d.id[:], q.after[:])
	switch q.f.sort {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		return chord > c.Chord || chord == c.Chord && id > 0
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		return d.price > c.Price || d.price == c.Price && id > 0
	default:
		if d.rating != c.Rating {
			return d.rating < c.Rating
		}
		if d.count != c.Count {
			return d.count < c.Count
		}
		return id < 0
	}
}

// nearest answers the distance order: it looks within a growing radius until that
// circle holds a page of doctors (or the radius of the search, or the whole Earth, is
// reached). Every doctor outside a circle is farther than every doctor inside it, so
// the circle's nearest are the search's.
func (q *indexQuery) nearest(l *entryList) []found {
	r := 1000.0
	if q.c != nil {
		r += greatCircle(q.c.Chord) // the page after a cursor starts near it
	}
	whole := math.Pi * earthRadius
	for {
		final := r >= q.radius || r >= whole
		r = min(r, q.radius, whole)
		inner := chordOfArc(r) // within r (a doctor at this chord or nearer is in r's box)
		var got []found
		q.box(l, r, func(p *placed) {
			if !q.keeps(&p.keys) {
				return
			}
			chord := cubeDistance(p.earth, q.earth)
			d := q.s.entry(p.ref)
			if !final && chord > inner || !q.follows(d, chord) {
				return
			}
			dist := greatCircle(chord)
			if !(dist <= q.radius) {
				return
			}
			got = append(got, q.found(d, chord, dist))
		})
		if final || len(got) >= q.limit {
			slices.SortFunc(got, func(a, b found) int {
				if c := cmp.Compare(a.chord, b.chord); c != 0 {
					return c
				}
				return bytes.Compare(a.entry.id[:], b.entry.id[:])
			})
			return got[:min(len(got), q.limit)]
		}
		r *= 3
	}
}

// within answers the rating or price order of a search with a radius: every doctor in
// the circle, sorted.
func (q *indexQuery) within(l *entryList) []found {
	var got []*doctorEntry
	q.box(l, q.radius, func(p *placed) {
		if !q.keeps(&p.keys) || !(greatCircle(cubeDistance(p.earth, q.earth)) <= q.radius) || !q.follows(q.s.entry(p.ref), 0) {
			return
		}
		got = append(got, q.s.entry(p.ref))
	})
	order := byRating
	if q.f.sort == directoryv1.SortOrder_SORT_ORDER_PRICE {
		order = byPrice
	}
	slices.SortFunc(got, order)
	out := make([]found, 0, min(len(got), q.limit))
	for _, d := range got[:min(len(got), q.limit)] {
		out = append(out, q.measured(d))
	}
	return out
}

// walk answers the rating or price order without a radius: the list in that order,
// from the cursor on.
func (q *indexQuery) walk(l *entryList) []found {
	list := l.byRating
	if q.f.sort == directoryv1.SortOrder_SORT_ORDER_PRICE {
		list = l.byPrice
	}
	start := sort.Search(len(list), func(i int) bool { return q.follows(q.s.entry(list[i]), 0) })
	var out []found
	for _, r := range list[start:] {
		d := q.s.entry(r)
		if len(out) == q.limit {
			break
		}
		if q.f.sort == directoryv1.SortOrder_SORT_ORDER_PRICE {
			if q.f.maxPriceCents > 0 && d.price > q.f.maxPriceCents {
				break // dearer from here on
			}
		} else if q.f.minRating > 0 && !(d.rating >= q.f.minRating) {
			break // lower from here on
		}
		if q.keeps(&d.keys) {
			out = append(out, q.measured(d))
		}
	}
	return out
}

// box calls fn with every located doctor of l whose latitude and longitude lie in the
// smallest box around the patient's point that holds the circle of r metres (and a
// few millimetres more).
func (q *indexQuery) box(l *entryList, r float64, fn func(*placed)) {
	delta := r/earthRadius*(1+1e-9) + 1e-9 // radians of latitude
	deg := 180 / math.Pi
	latLo, latHi := q.lat-delta*deg, q.lat+delta*deg
	if latLo <= -90 && latHi >= 90 {
		for i := range l.byPlace {
			fn(&l.byPlace[i])
		}
		return
	}
	ranges := [][2]float64{{-180, 180}}
	if s := math.Sin(delta) / math.Cos(q.lat/deg); latLo > -90 && latHi < 90 && delta < math.Pi/2 && s < 1 {
		dl := math.Asin(s)*deg*(1+1e-9) + 1e-9
		lo, hi := q.lng-dl, q.lng+dl
		switch {
		case lo < -180:
			ranges = [][2]float64{{lo + 360, 180}, {-180, hi}}
		case hi > 180:
			ranges = [][2]float64{{lo, 180}, {-180, hi - 360}}
		default:
			ranges = [][2]float64{{lo, hi}}
		}
	}
	list := l.byPlace
	for band := bandOf(latLo); band <= bandOf(latHi); band++ {
		for _, rg := range ranges {
			i := sort.Search(len(list), func(i int) bool {
				p := &list[i]
				return p.band > band || p.band == band && p.lng >= rg[0]
			})
			for ; i < len(list) && list[i].band == band && list[i].lng <= rg[1]; i++ {
				if p := &list[i]; p.lat >= latLo && p.lat <= latHi {
					fn(p)
				}
			}
		}
	}
}

// cubeDistance is cube's a <-> b for two points: the straight-line distance, summed
// in cube's order. The conversions keep the compiler from fusing a multiply and an add,
// which would round differently from PostgreSQL.
func cubeDistance(a, b [3]float64) float64 {
	sum := 0.0
	for i := range a {
		d := a[i] - b[i]
		if a[i] <= b[i] {
			d = b[i] - a[i]
		}
		sum = sum + float64(d*d)
	}
	return math.Sqrt(sum)
}

// greatCircle is earthdistance's sec_to_gc: the distance over the surface, in metres,
// of a straight-line distance between two of its points.
func greatCircle(chord float64) float64 {
	switch {
	case chord < 0:
		return 0
	case chord/(2*earthRadius) > 1:
		return math.Pi * earthRadius
	}
	return 2 * earthRadius * math.Asin(chord/(2*earthRadius))
}

// chordOfArc is earthdistance's gc_to_sec: the straight-line distance of an arc of r
// metres over the surface.
func chordOfArc(r float64) float64 {
	switch {
	case r < 0:
		return 0
	case r/earthRadius > math.Pi:
		return 2 * earthRadius
	}
	return 2 * earthRadius * math.Sin(r/(2*earthRadius))
}
