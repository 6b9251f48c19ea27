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

// Decode reads a token for the list fingerprinted by filter; "" is the first page (nil).
// validID checks the id's form.
func Decode(token, filter string, validID func(string) bool) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var c Cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Filter != filter || !validID(c.ID) {
		return nil, ErrInvalid
	}
	return &c, nil
}
