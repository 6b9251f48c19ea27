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
	"google.golang.org/protobuf/encoding/protowire"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
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
	return pagetoken.ReasonInvalid.New("page_token " + why + ": start again without it").
		WithViolations(errs.Violation{Field: "page_token", Description: why})
}

// searchDoctors runs one page of a search.
func (s *Service) searchDoctors(ctx context.Context, r *directoryv1.SearchDoctorsRequest) (*directoryv1.SearchDoctorsResponse, error) {
	q, filter, err := s.plan(r)
	if err != nil {
		return nil, err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultPageSize
	}
	var after *cursor
	if r.GetPageToken() != "" {
		c, err := decodeCursor(r.GetPageToken(), filter)
		if err != nil {
			return nil, err
		}
		q.after(c)
		after = &c
	}
	page, indexed := s.index.page(q.filter, after, size+1)
	if !indexed {
		var err error
		if page, err = s.search.page(ctx, s.db, q, size+1); err != nil {
			return nil, errs.Internal("directory: search doctors", err)
		}
	}
	out := &directoryv1.SearchDoctorsResponse{}
	if n := min(len(page), size); n > 0 {
		out.Results = make([]*directoryv1.SearchResult, n)
		results := make([]directoryv1.SearchResult, n)
		for i, f := range page[:n] {
			r := &results[i]
			km := math.Round(f.dist/100) / 10
			if f.entry != nil {
				// The index's result is its encoding: the profile field as the index
				// keeps it, then distance_km as the encoder would write it. Field by field
				// in number order, these are the bytes of the decoded result.
				b := append(make([]byte, 0, len(f.field)+9), f.field...)
				if math.Float64bits(km) != 0 {
					b = protowire.AppendTag(b, distanceField, protowire.Fixed64Type)
					b = protowire.AppendFixed64(b, math.Float64bits(km))
				}
				r.ProtoReflect().SetUnknown(b)
			} else {
				s.nameSpecialties(f.profile)
				r.Profile, r.DistanceKm = f.profile, km
			}
			out.Results[i] = r
		}
	}
	if len(page) > size {
		last := page[size-1]
		p := last.profile
		if e := last.entry; e != nil {
			p = &directoryv1.Profile{DoctorId: e.id.String(), Price: &directoryv1.Money{AmountCents: e.price}, RatingAverage: e.rating, RatingCount: e.count}
		}
		out.NextPageToken = pageToken(q.sort, filter, p, last.chord)
	}
	return out, nil
}

// distanceField is the field number of SearchResult.distance_km.
var distanceField = (&directoryv1.SearchResult{}).ProtoReflect().Descriptor().Fields().ByName("distance_km").Number()

// plan checks the request against the rules the proto cannot state and builds its
// query; filter is the fingerprint of its filters and order, which binds its cursors.
func (s *Service) plan(r *directoryv1.SearchDoctorsRequest) (q *query, filter string, err error) {
	if err := checkPoint("point", r.GetPoint()); err != nil {
		return nil, "", err
	}
	f := searchFilter{sort: r.GetSort(), point: r.GetPoint(), maxDistanceKm: r.MaxDistanceKm, specialty: r.GetSpecialty(),
		minRating: r.GetMinRating(), maxPriceCents: r.GetMaxPriceCents(), name: strings.TrimSpace(r.GetName())}
	var v []errs.Violation
	if code := f.specialty; code != "" && s.specialties[code] == "" {
		v = append(v, errs.Violation{Field: "specialty", Description: fmt.Sprintf("%q is not a specialty code (see ListSpecialties)", code)})
	}
	if f.maxDistanceKm != nil && f.point == nil {
		v = append(v, errs.Violation{Field: "max_distance_km", Description: "needs point: a distance is measured from the patient's point"})
	}
	if f.sort == directoryv1.SortOrder_SORT_ORDER_DISTANCE && f.point == nil {
		v = append(v, errs.Violation{Field: "sort", Description: "sorting by distance needs point"})
	}
	if len(v) > 0 {
		return nil, "", ReasonSearchInvalid.New("invalid search: " + v[0].Field + ": " + v[0].Description).WithViolations(v...)
	}
	if f.sort == directoryv1.SortOrder_SORT_ORDER_UNSPECIFIED {
		f.sort = directoryv1.SortOrder_SORT_ORDER_RATING
		if f.point != nil {
			f.sort = directoryv1.SortOrder_SORT_ORDER_DISTANCE
		}
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%t|%v|%v|%v|%v|%d|%s", f.sort, r.GetSpecialty(), r.GetPoint() != nil,
		r.GetPoint().GetLatitude(), r.GetPoint().GetLongitude(), r.GetMaxDistanceKm(), r.GetMinRating(), r.GetMaxPriceCents(),
		strings.ToLower(f.name)))
	return newQuery(f), hex.EncodeToString(h[:8]), nil
}

// decodeCursor reads a page token of the search whose fingerprint is filter.
func decodeCursor(token, filter string) (cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return cursor{}, errBadToken("is not a token this service issued")
	}
	var c cursor
	// The id is checked here, not left to the ::uuid cast: a token is client input, and
	// a malformed one must be a bad request, not an internal error.
	if err := json.Unmarshal(raw, &c); err != nil || len(c.ID) != 36 || uuid.Validate(c.ID) != nil {
		return cursor{}, errBadToken("is not a token this service issued")
	}
	c.ID = strings.ToLower(c.ID) // as PostgreSQL prints a uuid, which orders as the uuid does
	if c.Filter != filter {
		return cursor{}, errBadToken("belongs to a search with other filters or order")
	}
	return c, nil
}

// pageToken is the token of the page after last, in the sort's order.
func pageToken(sort directoryv1.SortOrder, filter string, last *directoryv1.Profile, chord float64) string {
	c := cursor{Filter: filter, ID: last.GetDoctorId()}
	switch sort {
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

// specialtyList is the ListSpecialties answer.
func (s *Service) specialtyList() []*directoryv1.Specialty { return s.ordered }
