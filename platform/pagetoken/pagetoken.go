// Package pagetoken makes the opaque page tokens of keyset-paginated lists: the sort
// keys of a page's last row (a time and an id), bound to a fingerprint of the filters the
// page was listed with, so a token cannot be replayed on another list or filter.
package pagetoken

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"healthcore/platform/errs"
)

// Cursor is where a page ended.
type Cursor struct {
	Filter string `json:"f"`
	Micros int64  `json:"t"` // time of the last row, Unix microseconds (PostgreSQL's precision)
	ID     string `json:"i"` // its id
}

// Time is the last row's time.
func (c Cursor) Time() time.Time { return time.UnixMicro(c.Micros).UTC() }

// Filter fingerprints the parts that define a list (caller, filters).
func Filter(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// Encode returns the token of a page that ended at (t, id).
func Encode(filter string, t time.Time, id string) string {
	raw, _ := json.Marshal(Cursor{Filter: filter, Micros: t.UnixMicro(), ID: id})
	return base64.RawURLEncoding.EncodeToString(raw)
}

// ErrInvalid is the answer to a token this service did not issue for this list.
var ErrInvalid = ReasonInvalid.New("page_token is not one this list issued with these filters: start again without it").
	WithViolations(errs.Violation{Field: "page_token", Description: "must be the next_page_token of the previous page, with the same filters"})

// The times a cursor may carry: those of google.protobuf.Timestamp (years 1 to 9999),
// the only ones a listed row can have. A forged time outside them would reach the
// database as a bound it refuses (before 4713 BC: an internal error) or one its driver
// cannot encode faithfully (near the ends of int64 microseconds).
var (
	minMicros = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxMicros = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
)

// Decode reads a token for the list fingerprinted by filter; "" is the first page (nil).
// validID checks the id's form.
func Decode(token, filter string, validID func(string) bool) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var c Cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Filter != filter || !validID(c.ID) ||
		c.Micros < minMicros || c.Micros > maxMicros {
		return nil, ErrInvalid
	}
	return &c, nil
}
