package directory

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/google/uuid"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
)

const (
	defaultPageSize = 20
)

// cursor is where a page ended: the sort keys of its last row. It is bound to the
// filters it was made with, so a token cannot be replayed on another search.
type cursor struct {
	Filter string  `json:"f"`
	Chord  float64 `json:"c,omitempty"` // distance sort: straight-line distance in metres
	Rating float64 `json:"r,omitempty"` // rating sort
	Count  int32   `json:"n,omitempty"` // rating sort
	Price  int64   `json:"p,omitempty"` // price sort
	ID     string  `json:"i"`
}

var errBadToken = func(why string) error {
	return errs.InvalidArgument("PAGE_TOKEN_INVALID", "page_token "+why+": start again without it",
		errs.Violation{Field: "page_token", Description: why})
}

// query is a search turned into SQL.
type query struct {
	sort   directoryv1.SortOrder
	where  []string
	args   []any
	filter string // fingerprint of the filters, for cursors
	point  string // SQL of the patient's point, or ""
	radius string // SQL of the largest distance in metres, or ""
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return fmt.Sprintf("$%d", len(q.args))
}

// search runs one page of a search.
func (s *Service) search(ctx context.Context, r *directoryv1.SearchDoctorsRequest) (*directoryv1.SearchDoctorsResponse, error) {
	q, err := s.plan(r)
	if err != nil {
		return nil, err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultPageSize
	}
	if r.GetPageToken() != "" {
		if err := q.after(r.GetPageToken()); err != nil {
			return nil, err
		}
	}
	sql := q.sql(size + 1)
	rows, err := s.db.Query(ctx, sql, q.args...)
	if err != nil {
		return nil, errs.Internal("directory: search", fmt.Errorf("search: %w", err))
	}
	var results []*directoryv1.SearchResult
	var chords []float64
	for rows.Next() {
		var chord, dist float64
		var specs []string
		p, err := scanProfile(rows, &chord, &dist, &specs)
		if err != nil {
			rows.Close()
			return nil, errs.Internal("directory: search", err)
		}
		for _, sp := range specs {
			code, rqe, _ := strings.Cut(sp, ":")
			p.Specialties = append(p.Specialties, &directoryv1.Specialty{Code: code, Name: s.specialties[code], Rqe: rqe})
		}
		results = append(results, &directoryv1.SearchResult{Profile: p, DistanceKm: math.Round(dist/100) / 10})
		chords = append(chords, chord)
	}
	if err := rows.Err(); err != nil {
		return nil, errs.Internal("directory: search", err)
	}
	out := &directoryv1.SearchDoctorsResponse{}
	if len(results) > size {
		results = results[:size]
		last := results[size-1].Profile
		out.NextPageToken = q.token(last, chords[size-1])
	}
	out.Results = results
	return out, nil
}

// plan checks the request against the rules the proto cannot state and builds the
// WHERE clause.
func (s *Service) plan(r *directoryv1.SearchDoctorsRequest) (*query, error) {
	q := &query{sort: r.GetSort(), where: []string{"d.listed"}}
	var v []errs.Violation
	if code := r.GetSpecialty(); code != "" && s.specialties[code] == "" {
		v = append(v, errs.Violation{Field: "specialty", Description: fmt.Sprintf("%q is not a specialty code (see ListSpecialties)", code)})
	}
	if r.MaxDistanceKm != nil && r.GetPoint() == nil {
		v = append(v, errs.Violation{Field: "max_distance_km", Description: "needs point: a distance is measured from the patient's point"})
	}
	if q.sort == directoryv1.SortOrder_SORT_ORDER_DISTANCE && r.GetPoint() == nil {
		v = append(v, errs.Violation{Field: "sort", Description: "sorting by distance needs point"})
	}
	if len(v) > 0 {
		return nil, errs.InvalidArgument("SEARCH_INVALID", "invalid search: "+v[0].Field+": "+v[0].Description, v...)
	}
	if q.sort == directoryv1.SortOrder_SORT_ORDER_UNSPECIFIED {
		q.sort = directoryv1.SortOrder_SORT_ORDER_RATING
		if r.GetPoint() != nil {
			q.sort = directoryv1.SortOrder_SORT_ORDER_DISTANCE
		}
	}
	if p := r.GetPoint(); p != nil {
		q.point = fmt.Sprintf("ll_to_earth(%s, %s)", q.arg(p.GetLatitude()), q.arg(p.GetLongitude()))
		if r.MaxDistanceKm != nil {
			km := r.GetMaxDistanceKm()
			q.radius = q.arg(km * 1000)
			// The box lets the GiST index find candidates; sql adds the exact test that
			// trims its corners.
			q.where = append(q.where, fmt.Sprintf("earth_box(%s, %s) @> d.earth", q.point, q.radius))
		}
	}
	if code := r.GetSpecialty(); code != "" {
		q.where = append(q.where, fmt.Sprintf(
			"EXISTS (SELECT 1 FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id AND s.specialty_code = %s)", q.arg(code)))
	}
	if min := r.GetMinRating(); min > 0 {
		q.where = append(q.where, "d.rating_avg >= "+q.arg(min))
	}
	if max := r.GetMaxPriceCents(); max > 0 {
		q.where = append(q.where, "d.price_cents <= "+q.arg(max))
	}
	if name := strings.TrimSpace(r.GetName()); name != "" {
		q.where = append(q.where, "d.display_name ILIKE "+q.arg("%"+escapeLike(name)+"%")+` ESCAPE '\'`)
	}
	f := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%t|%v|%v|%v|%v|%d|%s", q.sort, r.GetSpecialty(), r.GetPoint() != nil,
		r.GetPoint().GetLatitude(), r.GetPoint().GetLongitude(), r.GetMaxDistanceKm(), r.GetMinRating(), r.GetMaxPriceCents(),
		strings.ToLower(strings.TrimSpace(r.GetName()))))
	q.filter = hex.EncodeToString(f[:8])
	return q, nil
}

// sql orders and limits the query. Distance order uses cube's <-> (straight-line
// distance through the Earth), which orders exactly as the great-circle distance does
// and which the GiST index serves nearest-first.
func (q *query) sql(limit int) string {
	chord, dist := "0::float8", "0::float8"
	if q.point != "" {
		chord = fmt.Sprintf("(d.earth <-> %s)", q.point)
		dist = fmt.Sprintf("earth_distance(d.earth, %s)", q.point)
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
		return fmt.Sprintf("SELECT * FROM (SELECT %s, %s AS chord, %s AS dist, %s FROM doctors d WHERE %s ORDER BY %s "+
			"FETCH FIRST %d ROWS WITH TIES) d %s ORDER BY d.chord, d.doctor_id::uuid LIMIT %d",
			profileColumns, chord, dist, specialtiesColumn, strings.Join(where, " AND "), chord, limit, outer, limit)
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		order = "d.price_cents, d.doctor_id"
	default:
		order = "d.rating_avg DESC, d.rating_count DESC, d.doctor_id DESC"
	}
	if q.radius != "" {
		where = append(where, fmt.Sprintf("%s <= %s", dist, q.radius))
	}
	return fmt.Sprintf("SELECT %s, %s, %s, %s FROM doctors d WHERE %s ORDER BY %s LIMIT %d",
		profileColumns, chord, dist, specialtiesColumn, strings.Join(where, " AND "), order, limit)
}

// specialtiesColumn brings each result's specialties ("code:rqe", in the doctor's
// order) in the search query itself, so a page costs one round trip, not two.
const specialtiesColumn = `(SELECT coalesce(array_agg(s.specialty_code || ':' || s.rqe ORDER BY s.position), '{}')
	FROM doctor_specialties s WHERE s.doctor_id = d.doctor_id) AS specialties`

// after restricts the query to rows past the cursor, in the sort's order.
func (q *query) after(token string) error {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return errBadToken("is not a token this service issued")
	}
	var c cursor
	// The id is checked here, not left to the ::uuid cast: a token is client input, and
	// a malformed one must be a bad request, not an internal error.
	if err := json.Unmarshal(raw, &c); err != nil || len(c.ID) != 36 || uuid.Validate(c.ID) != nil {
		return errBadToken("is not a token this service issued")
	}
	if c.Filter != q.filter {
		return errBadToken("belongs to a search with other filters or order")
	}
	id := q.arg(c.ID) + "::uuid"
	switch q.sort {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		q.where = append(q.where, fmt.Sprintf("((d.earth <-> %s), d.doctor_id) > (%s, %s)", q.point, q.arg(c.Chord), id))
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		q.where = append(q.where, fmt.Sprintf("(d.price_cents, d.doctor_id) > (%s, %s)", q.arg(c.Price), id))
	default:
		q.where = append(q.where, fmt.Sprintf("(d.rating_avg, d.rating_count, d.doctor_id) < (%s, %s, %s)", q.arg(c.Rating), q.arg(c.Count), id))
	}
	return nil
}

func (q *query) token(last *directoryv1.Profile, chord float64) string {
	c := cursor{Filter: q.filter, ID: last.GetDoctorId()}
	switch q.sort {
	case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
		c.Chord = chord
	case directoryv1.SortOrder_SORT_ORDER_PRICE:
		c.Price = last.GetPrice().GetAmountCents()
	default:
		c.Rating, c.Count = last.GetRatingAverage(), last.GetRatingCount()
	}
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// specialtyList is the ListSpecialties answer.
func (s *Service) specialtyList() []*directoryv1.Specialty { return s.ordered }
