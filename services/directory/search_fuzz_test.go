package directory

import (
	"encoding/base64"
	"testing"

	"github.com/google/uuid"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

// FuzzDecodeCursor: a search's page_token is either refused with PAGE_TOKEN_INVALID
// (INVALID_ARGUMENT) or is a cursor of this search with a UUID id (checked here, not
// left to the query's ::uuid cast), which the token of a page ending on the same
// doctor reproduces.
func FuzzDecodeCursor(f *testing.F) {
	const filter = "3b67705eafd8ac30"
	const id = "0b8e5c3e-5f7a-4d3b-9a51-5e0f2d7c9a10"
	last := &directoryv1.Profile{DoctorId: id, Price: &directoryv1.Money{AmountCents: 30000}, RatingAverage: 4.5, RatingCount: 12}
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tok := range []string{
		pageToken(directoryv1.SortOrder_SORT_ORDER_RATING, filter, last, 0),
		pageToken(directoryv1.SortOrder_SORT_ORDER_PRICE, filter, last, 0),
		pageToken(directoryv1.SortOrder_SORT_ORDER_DISTANCE, filter, last, 1234.5),
		pageToken(directoryv1.SortOrder_SORT_ORDER_RATING, "another", last, 0),
		raw(`{"f":"` + filter + `","i":"` + id + `","n":4294967296}`),
		raw(`{"f":"` + filter + `","i":"` + id + `","c":1e400}`),
		raw(`{"f":"` + filter + `","i":"{` + id[:34] + `}"}`),
		raw(`{"f":"` + filter + `","i":"urn:uuid:` + id + `"}`),
		raw(`{"f":"` + filter + `","i":"` + id + `","p":-9223372036854775808,"r":-1}`),
		raw(`{"f":"` + filter + `"}`), raw(`null`), "not a token!", "",
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := decodeCursor(token, filter)
		if err != nil {
			if !errs.Has(err, pagetoken.ReasonInvalid) {
				t.Fatalf("decodeCursor(%q): %v, want PAGE_TOKEN_INVALID", token, err)
			}
			return
		}
		if c.Filter != filter || len(c.ID) != 36 || uuid.Validate(c.ID) != nil {
			t.Fatalf("decodeCursor(%q) = %+v", token, c)
		}
		for _, sort := range []directoryv1.SortOrder{directoryv1.SortOrder_SORT_ORDER_RATING, directoryv1.SortOrder_SORT_ORDER_PRICE, directoryv1.SortOrder_SORT_ORDER_DISTANCE} {
			p := &directoryv1.Profile{DoctorId: c.ID, Price: &directoryv1.Money{AmountCents: c.Price}, RatingAverage: c.Rating, RatingCount: c.Count}
			again, err := decodeCursor(pageToken(sort, filter, p, c.Chord), filter)
			want := cursor{Filter: filter, ID: c.ID}
			switch sort {
			case directoryv1.SortOrder_SORT_ORDER_DISTANCE:
				want.Chord = c.Chord
			case directoryv1.SortOrder_SORT_ORDER_PRICE:
				want.Price = c.Price
			default:
				want.Rating, want.Count = c.Rating, c.Count
			}
			if err != nil || again != want {
				t.Fatalf("%s: re-encoding %+v decodes to %+v, %v", sort, want, again, err)
			}
		}
	})
}
