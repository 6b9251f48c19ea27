package pagetoken_test

import (
	"testing"
	"time"

	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
)

func TestRoundTripAndBinding(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 123456789, time.UTC)
	f := pagetoken.Filter("user-1", "kind=exam")
	tok := pagetoken.Encode(f, at, "abc")
	any := func(string) bool { return true }

	c, err := pagetoken.Decode(tok, f, any)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "abc" || !c.Time().Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("decoded %+v (time %s)", c, c.Time())
	}
	if c, err := pagetoken.Decode("", f, any); c != nil || err != nil {
		t.Fatalf("empty token = %v, %v; want the first page", c, err)
	}
	for name, bad := range map[string]func() (*pagetoken.Cursor, error){
		"other filter": func() (*pagetoken.Cursor, error) { return pagetoken.Decode(tok, pagetoken.Filter("user-2"), any) },
		"garbage":      func() (*pagetoken.Cursor, error) { return pagetoken.Decode("%%%", f, any) },
		"bad id":       func() (*pagetoken.Cursor, error) { return pagetoken.Decode(tok, f, func(string) bool { return false }) },
	} {
		_, err := bad()
		t.Run(name, func(t *testing.T) {
			if !errs.Has(err, pagetoken.ReasonInvalid) {
				t.Fatalf("got %v, want %v", err, pagetoken.ReasonInvalid)
			}
		})
	}
	if pagetoken.Filter("a", "b") == pagetoken.Filter("ab") {
		t.Error("filters of different parts collide")
	}
}
