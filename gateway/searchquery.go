package gateway

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

// queryParser reads a doctor search's query string (the edge's most frequent request)
// without the default parser's regular expression and reflection per key, and hands
// every other request, and any search query it does not read exactly as the default
// parser would (a repeated key, a field named twice, a value it would have to refuse
// or that takes a spelling it reads specially: NaN, Infinity, an enum by number), to
// runtime.DefaultQueryParser: the message set, or the error, is the default parser's
// (TestQueryParser_SameAsTheDefault).
type queryParser struct{ runtime.DefaultQueryParser }

// useQueryParser makes queryParser the parser of every mux. grpc-gateway keeps it in a
// package variable, which its SetQueryParameterParser option writes whatever mux it is
// given to: set once, so gateways built at once (as tests do) do not race on it.
var useQueryParser = sync.OnceFunc(func() { runtime.NewServeMux(runtime.SetQueryParameterParser(&queryParser{})) })

func (p *queryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	if m, ok := msg.(*directoryv1.SearchDoctorsRequest); ok && (filter == nil || len(filter.Encoding) == 0) {
		var r directoryv1.SearchDoctorsRequest
		if searchQuery(&r, values) {
			// Fields one at a time: the message's internal state is not copied.
			m.Specialty, m.Point, m.MaxDistanceKm, m.MinRating = r.Specialty, r.Point, r.MaxDistanceKm, r.MinRating
			m.MaxPriceCents, m.Name, m.Sort, m.PageSize, m.PageToken = r.MaxPriceCents, r.Name, r.Sort, r.PageSize, r.PageToken
			return nil
		}
	}
	return p.DefaultQueryParser.Parse(msg, values, filter)
}

// Fields of SearchDoctorsRequest, as bits of searchQuery's seen.
const (
	sqSpecialty = 1 << iota
	sqLatitude
	sqLongitude
	sqMaxDistance
	sqMinRating
	sqMaxPrice
	sqName
	sqSort
	sqPageSize
	sqPageToken
)

// searchQuery sets r from values when each key names a field of the search (by its
// proto or JSON name) once, with one value that the default parser would take as
// this one does; it reports false otherwise, and r is then to be discarded.
func searchQuery(r *directoryv1.SearchDoctorsRequest, values url.Values) bool {
	seen := 0
	for key, vs := range values {
		if len(vs) != 1 {
			return false
		}
		v := vs[0]
		var bit int
		switch key {
		case "specialty":
			bit, r.Specialty = sqSpecialty, v
		case "point.latitude", "point.longitude":
			f, ok := queryDouble(v)
			if !ok {
				return false
			}
			if r.Point == nil {
				r.Point = &directoryv1.LatLng{}
			}
			if key == "point.latitude" {
				bit, r.Point.Latitude = sqLatitude, &f
			} else {
				bit, r.Point.Longitude = sqLongitude, &f
			}
		case "maxDistanceKm", "max_distance_km":
			f, ok := queryDouble(v)
			if !ok {
				return false
			}
			bit, r.MaxDistanceKm = sqMaxDistance, &f
		case "minRating", "min_rating":
			f, ok := queryDouble(v)
			if !ok {
				return false
			}
			bit, r.MinRating = sqMinRating, f
		case "maxPriceCents", "max_price_cents":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false
			}
			bit, r.MaxPriceCents = sqMaxPrice, n
		case "name":
			bit, r.Name = sqName, v
		case "sort":
			n, ok := directoryv1.SortOrder_value[v]
			if !ok {
				return false
			}
			bit, r.Sort = sqSort, directoryv1.SortOrder(n)
		case "pageSize", "page_size":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return false
			}
			bit, r.PageSize = sqPageSize, int32(n)
		case "pageToken", "page_token":
			bit, r.PageToken = sqPageToken, v
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
	}
	return true
}

// queryDouble is the default parser's double for the values it reads without special
// cases: finite, with no hexadecimal or underscore (which it refuses), and not one of
// the names it maps to NaN or an infinity.
func queryDouble(v string) (float64, bool) {
	if strings.ContainsAny(v, "xX_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}
