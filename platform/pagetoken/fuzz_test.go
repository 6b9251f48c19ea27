package pagetoken_test

import (
	"encoding/base64"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

func isUUID(id string) bool { return uuid.Validate(id) == nil }

// FuzzDecode: any page_token a client sends is either refused with PAGE_TOKEN_INVALID
// (INVALID_ARGUMENT) or is a cursor of this list with a valid id, which encodes back
// to a token that decodes to the same cursor.
func FuzzDecode(f *testing.F) {
	filter := pagetoken.Filter("user-1", "kind=exam")
	at := time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.UTC)
	const id = "0b8e5c3e-5f7a-4d3b-9a51-5e0f2d7c9a10"
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, tok := range []string{
		pagetoken.Encode(filter, at, id),
		pagetoken.Encode(filter, time.Unix(0, 0), id),
		pagetoken.Encode(pagetoken.Filter("user-2"), at, id),
		pagetoken.Encode(filter, at, "not-a-uuid"),
		raw(`{"f":"` + filter + `","t":-9223372036854775808,"i":"` + id + `"}`),
		raw(`{"f":"` + filter + `","t":1e30,"i":"` + id + `"}`),
		raw(`{"f":"` + filter + `","t":1,"i":"` + id + `","x":[1,2,3]}`),
		raw(`{"F":"` + filter + `","T":1,"I":"` + id + `"}`),
		raw(`{"f":"` + filter + `","t":1,"i":"` + id + `"}{}`),
		raw(`null`), raw(`[]`), raw(`"` + id + `"`), raw(`{"f":1}`),
		"", "=", "!!!", "e30", "e30=", "eyJmIjoiIn0",
	} {
		f.Add(tok, filter)
	}
	f.Fuzz(func(t *testing.T, token, filter string) {
		c, err := pagetoken.Decode(token, filter, isUUID)
		if err != nil {
			if !errs.Has(err, pagetoken.ReasonInvalid) || c != nil {
				t.Fatalf("Decode(%q) = %v, %v; want nil and PAGE_TOKEN_INVALID", token, c, err)
			}
			return
		}
		if token == "" {
			if c != nil {
				t.Fatalf(`Decode("") = %+v, want the first page (nil)`, c)
			}
			return
		}
		if c == nil || c.Filter != filter || !isUUID(c.ID) {
			t.Fatalf("Decode(%q) = %+v for filter %q", token, c, filter)
		}
		if y := c.Time().Year(); y < 1 || y > 9999 {
			t.Fatalf("Decode(%q) = %+v: year %d, which no row has (and the database may refuse)", token, c, y)
		}
		again, err := pagetoken.Decode(pagetoken.Encode(c.Filter, c.Time(), c.ID), filter, isUUID)
		if err != nil || *again != *c {
			t.Fatalf("re-encoding %+v decodes to %+v, %v", c, again, err)
		}
	})
}

// FuzzEncode: every cursor a list hands out (a time in years 1 to 9999) reads back as
// itself; one with a time beyond is PAGE_TOKEN_INVALID.
func FuzzEncode(f *testing.F) {
	f.Add("user-1", int64(1780315200123456), "0b8e5c3e-5f7a-4d3b-9a51-5e0f2d7c9a10")
	f.Add("", int64(0), "1")
	f.Add("user-2\x00kind", int64(-1), "")
	f.Add("a", int64(-9223372036854775808), "\"quoted\" \\ </script>")
	f.Add("b", int64(9223372036854775807), "\u2028")
	f.Add("c", int64(-62135596800000000), "first microsecond of year 1")
	f.Add("c", int64(-62135596800000001), "last of year 0")
	f.Add("d", int64(253402300799999999), "last microsecond of 9999")
	f.Add("d", int64(253402300800000000), "first of 10000")
	f.Fuzz(func(t *testing.T, part string, micros int64, id string) {
		if !utf8.ValidString(id) {
			return // ids are uuids or integers; JSON would replace the bytes
		}
		filter := pagetoken.Filter(part)
		tok := pagetoken.Encode(filter, time.UnixMicro(micros), id)
		c, err := pagetoken.Decode(tok, filter, func(string) bool { return true })
		if y := time.UnixMicro(micros).UTC().Year(); y < 1 || y > 9999 {
			if !errs.Has(err, pagetoken.ReasonInvalid) {
				t.Fatalf("a cursor in year %d: %+v, %v; want PAGE_TOKEN_INVALID", y, c, err)
			}
			return
		}
		if err != nil || c == nil || *c != (pagetoken.Cursor{Filter: filter, Micros: micros, ID: id}) {
			t.Fatalf("Encode(%q, %d, %q) decodes to %+v, %v", filter, micros, id, c, err)
		}
		if !c.Time().Equal(time.UnixMicro(micros)) {
			t.Fatalf("cursor time %s, want %s", c.Time(), time.UnixMicro(micros))
		}
	})
}
