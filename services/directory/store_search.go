package directory

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/pg"
)

// searchStore runs SearchDoctors' query over the doctors' profiles: listed doctors
// filtered by specialty, distance, rating, price and name, in one of three orders,
// a keyset page at a time. A search of one specialty walks search_entries alone (a copy
// of each listed doctor's keys and profile per specialty, kept by triggers); a search
// of every specialty walks the doctors table itself.
type searchStore struct{}

// searchFilter is a checked search: what newQuery turns into SQL.
type searchFilter struct {
	sort          directoryv1.SortOrder // DISTANCE needs point
	point         *directoryv1.LatLng   // the patient's point, or nil
	maxDistanceKm *float64              // needs point
	specialty     string                // a known code, or ""
	minRating     float64               // 0: any
	maxPriceCents int64                 // 0: any
	name          string                // part of the display name, trimmed, or ""
}

// query is a search turned into SQL. Its text is built here only, from the typed
// filter, and every value is a bind parameter.
type query struct {
	filter searchFilter
	sort   directoryv1.SortOrder
	from   string // the FROM clause
	k      string // the alias of the row read: "e" (search_entries) or "d" (doctors)
	where  []string
	args   []any
	point  string // SQL of the patient's point, or ""
	radius string // SQL of the largest distance in metres, or ""
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// key is the SQL of one sort or filter column (earth, rating_avg, rating_count,
// price_cents, doctor_id, display_name).
func (q *query) key(col string) string { return q.k + "." + col }

// newQuery builds the WHERE clause of f.
func newQuery(f searchFilter) *query {
	q := &query{filter: f, sort: f.sort, from: "doctors d", k: "d", where: []string{"d.listed"}}
	if f.specialty != "" {
		// search_entries holds listed doctors only, one row per specialty, with the
		// profile: its indexes lead with the specialty, so the walk never meets another
		// one, and the rows it keeps are the answer, with no probe of doctors.
		q.from, q.k = "search_entries e", "e"
		q.where = []string{"e.specialty_code = " + q.arg(f.specialty)}
	}
	if p := f.point; p != nil {
		q.point = q.arg(earthPoint(p.GetLatitude(), p.GetLongitude())) + "::cube"
		if f.maxDistanceKm != nil {
			q.radius = q.arg(*f.maxDistanceKm * 1000)
			// The box lets the GiST index find candidates; sql adds the exact test that
			// trims its corners.
			q.where = append(q.where, fmt.Sprintf("earth_box(%s, %s) @> %s", q.point, q.radius, q.key("earth")))
		}
	}
	if f.minRating > 0 {
		q.where = append(q.where, q.key("rating_avg")+" >= "+q.arg(f.minRating))
	}
	if f.maxPriceCents > 0 {
		q.where = append(q.where, q.key("price_cents")+" <= "+q.arg(f.maxPriceCents))
	}
	if f.name != "" {
		q.where = append(q.where, q.key("display_name")+" ILIKE "+q.arg("%"+escapeLike(f.name)+"%")+` ESCAPE '\'`)
	}
	return q
}

// earthRadius is earthdistance's earth(): how far from the Earth's centre, in metres,
// its points lie.
const earthRadius = 6378168.0

// earthPoint is ll_to_earth(latitude, longitude) — the same formula, in the same order
// — as cube's text, bound as one parameter of type cube. PostgreSQL reads it once per
// query; with ll_to_earth in the SQL it computed the point again for each row's two
// distances (a generic plan cannot fold it), about 45 % of the search query's time.
func earthPoint(latitude, longitude float64) string {
	p := earthXYZ(latitude, longitude)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return "(" + f(p[0]) + ", " + f(p[1]) + ", " + f(p[2]) + ")"
}

// earthXYZ is the point of earthPoint as numbers: the text above reads back as exactly
// these (the shortest text that does).
func earthXYZ(latitude, longitude float64) [3]float64 {
	lat, lon := latitude*(math.Pi/180), longitude*(math.Pi/180)
	return [3]float64{
		earthRadius * math.Cos(lat) * math.Cos(lon),
		earthRadius * math.Cos(lat) * math.Sin(lon),
		earthRadius * math.Sin(lat),
	}
}

// after restricts the query to rows past c, in the sort's order. c.ID must be a UUID.
func (q *query) after(c cursor) {
	id := q.arg(c.ID) + "::uuid"
	switch q.sort {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		q.where = append(q.where, fmt.Sprintf("((%s <-> %s), %s) > (%s, %s)", q.key("earth"), q.point, q.key("doctor_id"), q.arg(c.Chord), id))
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		q.where = append(q.where, fmt.Sprintf("(%s, %s) > (%s, %s)", q.key("price_cents"), q.key("doctor_id"), q.arg(c.Price), id))
	default:
		q.where = append(q.where, fmt.Sprintf("(%s, %s, %s) < (%s, %s, %s)", q.key("rating_avg"), q.key("rating_count"), q.key("doctor_id"),
			q.arg(c.Rating), q.arg(c.Count), id))
	}
}

// sql orders and limits the query. Distance order uses cube's <-> (straight-line
// distance through the Earth), which orders exactly as the great-circle distance does
// and which the GiST index serves nearest-first.
func (q *query) sql(limit int) string {
	chord, dist := "0::float8", "0::float8"
	if q.point != "" {
		chord = fmt.Sprintf("(%s <-> %s)", q.key("earth"), q.point)
		dist = fmt.Sprintf("earth_distance(%s, %s)", q.key("earth"), q.point)
	}
	cols, specs := profileColumns, specialtiesColumn
	if q.k == "e" {
		cols, specs = entryColumns, "e.specialties"
	}
	where := append([]string(nil), q.where...)
	var order string
	switch q.sort {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		// PostgreSQL walks an index in order only when the index yields every ORDER BY
		// key (15 does, at least), and the GiST index yields the distance but not the
		// doctor_id that breaks ties: ORDER BY distance, doctor_id reads and sorts every
		// doctor in the box. So the inner query walks the index nearest-first and
		// stops at limit rows plus those tied with the last (WITH TIES), and the outer
		// one orders them by (distance, id): the same rows ORDER BY distance, id LIMIT
		// would give. The exact radius test is outside too: distance order puts every
		// doctor past the radius after every doctor within it, and keeping the test out
		// of the inner estimate helps the planner choose the index walk.
		outer := ""
		if q.radius != "" {
			outer = "WHERE d.dist <= " + q.radius
		}
		return fmt.Sprintf("SELECT * FROM (SELECT %s, %s AS chord, %s AS dist, %s FROM %s WHERE %s ORDER BY %s "+
			"FETCH FIRST %d ROWS WITH TIES) d %s ORDER BY d.chord, d.doctor_id::uuid LIMIT %d",
			cols, chord, dist, specs, q.from, strings.Join(where, " AND "), chord, limit, outer, limit)
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		order = q.key("price_cents") + ", " + q.key("doctor_id")
	default:
		order = q.key("rating_avg") + " DESC, " + q.key("rating_count") + " DESC, " + q.key("doctor_id") + " DESC"
	}
	if q.radius != "" {
		where = append(where, fmt.Sprintf("%s <= %s", dist, q.radius))
	}
	return fmt.Sprintf("SELECT %s, %s, %s, %s FROM %s WHERE %s ORDER BY %s LIMIT %d",
		cols, chord, dist, specs, q.from, strings.Join(where, " AND "), order, limit)
}

// entryColumns are profileColumns as search_entries carries them (in the same order,
// for the same scanner): every row there is a listed doctor's.
const entryColumns = `e.doctor_id::text, e.crm_number, e.crm_uf, e.display_name, e.photo_url, e.bio, e.price_cents,
	e.consultation_minutes, e.languages, e.address, e.city, e.uf, e.latitude, e.longitude, e.time_zone,
	e.rating_avg, e.rating_count, true, e.updated_at`

// specialtiesColumn brings each result's specialties ("code:rqe", in the doctor's
// order) in the search query itself, so a page costs one round trip, not two.
const specialtiesColumn = `(SELECT coalesce(array_agg(s.specialty_code || ':' || s.rqe ORDER BY s.position), '{}')
	FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id) AS specialties`

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// found is one doctor a search found: by the query (profile) or in the index (entry).
type found struct {
	profile *directoryv1.Profile // specialties with code and RQE
	entry   *doctorEntry         // its keys
	field   []byte               // its encoded profile field
	chord   float64              // straight-line distance in metres, 0 without a point
	dist    float64              // great-circle distance in metres, 0 without a point
}

// page runs qr for up to limit doctors, in its order.
func (searchStore) page(ctx context.Context, q pg.Querier, qr *query, limit int) ([]found, error) {
	rows, err := q.Query(ctx, qr.sql(limit), qr.args...)
	if err != nil {
		return nil, fmt.Errorf("search doctors: %w", err)
	}
	defer rows.Close()
	out := make([]found, 0, limit)
	var chord, dist float64
	var specs []string
	scanner := newProfileScanner(limit, &chord, &dist, &specs)
	var practices []directoryv1.Specialty
	for rows.Next() {
		p, err := scanner.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scan search result: %w", err)
		}
		if len(specs) > 0 {
			p.Specialties = make([]*directoryv1.Specialty, len(specs))
		}
		for i, sp := range specs {
			code, rqe, _ := strings.Cut(sp, ":")
			sp := next(&practices, 2*limit)
			sp.Code, sp.Rqe = code, rqe
			p.Specialties[i] = sp
		}
		out = append(out, found{profile: p, chord: chord, dist: dist})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search doctors: %w", err)
	}
	return out, nil
}
