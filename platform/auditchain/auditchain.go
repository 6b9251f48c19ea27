// Package auditchain makes an append-only log tamper-evident: every row stores the
// hash of the row before it (prev_hash) and its own (row_hash), an HMAC-SHA256 under a
// key a database superuser does not have, so a row changed, removed or cut off the end
// of the log by someone who bypasses the table's triggers shows up when the chain is
// walked ([Verify]).
//
// A log using it ([Log]) keeps a one-row head table (the last row's id and hash), locked
// FOR UPDATE by every append in the appending transaction ([AppendRows]), and computes
// each row's hash in Go at insert time from the row's fields in a fixed order
// ([Key.Sum]): the writer and the verifier ([Log.Verify]) share that one encoding.
// Appends that need not commit with an action of the caller's go through a [Batcher]:
// every row waiting is appended in one transaction, the head locked once. Those that
// must commit with it go, for a log with an outbox (Log.Pending), to that unchained
// table in the caller's transaction ([StageRows]), without the head's lock, and the
// batcher chains them in its next batch ([Batcher.Flush]).
// Rows written before a log was chained have no hashes; the chain begins at the first
// row appended after, whose prev_hash is 32 zero bytes.
//
// The key is derived ([NewKey]) from a secret ([Log.NewSecret]) the service keeps
// sealed by the keys service, so reading the database is not enough to recompute a
// chain. The secret also fixes where the chain began: rows up to that id are
// "unchained (before the chain began)"; a later row without hashes is a changed row.
package auditchain

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/crypto/hkdf"

	"healthcore/platform/pg"
)

// label is the HKDF info of the chain key and the first field of every row's encoding:
// a later format changes it.
const label = "healthcore audit chain v1"

// HashSize is the size of a row hash.
const HashSize = sha256.Size

// Key is the HMAC key of a log's chain, and where the chain began.
type Key struct {
	k []byte
	// after is the id of the last row written before the chain began: every later row
	// must carry hashes.
	after int64
}

// secretSize is the size of a chain secret: 32 bytes of key material, then the id of
// the last row written before the chain began (8 bytes, big-endian). Sealing that id
// with the key material keeps a superuser from passing chained rows off as older ones
// by clearing their hashes.
const secretSize = 32 + 8

// NewSecret returns a fresh chain secret for a log whose last row written before the
// chain began is after (0 for none). The service seals it through the keys service.
func NewSecret(after int64) ([]byte, error) {
	s := make([]byte, 32, secretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("auditchain: new secret: %w", err)
	}
	return binary.BigEndian.AppendUint64(s, uint64(after)), nil
}

// NewKey derives the chain key from secret (as made by [NewSecret]) with HKDF-SHA256
// labelled "healthcore audit chain v1".
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != secretSize {
		return nil, fmt.Errorf("auditchain: secret has %d bytes, want %d", len(secret), secretSize)
	}
	k := make([]byte, 32)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret[:32], nil, []byte(label)), k); err != nil {
		return nil, fmt.Errorf("auditchain: derive key: %w", err)
	}
	return &Key{k: k, after: int64(binary.BigEndian.Uint64(secret[32:]))}, nil
}

// Sum returns the row hash of a row of the named log (e.g. "identity.audit_log") that
// follows the row whose hash is prev: HMAC-SHA256(key, prev ‖ fields), every part
// length-prefixed, NULL told apart from the empty string, so no two rows encode alike.
// fields are the row's columns in the log's fixed order, its id and time included,
// each in its canonical text (see [Int], [Time], [Str], [NullIfEmpty], [UUID]).
func (k *Key) Sum(log string, prev []byte, fields []pgtype.Text) []byte {
	m := hmac.New(sha256.New, k.k)
	m.Write(encode(log, prev, fields))
	return m.Sum(nil)
}

// encode is the canonical encoding of a row: the label, the log's name and prev as
// length-prefixed byte strings, the number of fields, then each field as 0 (NULL) or
// 1 followed by its length-prefixed text. Lengths are 4-byte big-endian.
func encode(log string, prev []byte, fields []pgtype.Text) []byte {
	var b []byte
	bytesField := func(v []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	bytesField([]byte(label))
	bytesField([]byte(log))
	bytesField(prev)
	b = binary.BigEndian.AppendUint32(b, uint32(len(fields)))
	for _, f := range fields {
		if !f.Valid {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		bytesField([]byte(f.String))
	}
	return b
}

// Str is a text field that is never NULL.
func Str(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

// NullIfEmpty is a nullable text field, NULL when s is empty.
func NullIfEmpty(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// Int is an integer field (the row's id) in decimal.
func Int(n int64) pgtype.Text { return Str(strconv.FormatInt(n, 10)) }

// Time is a timestamptz field: microseconds since 1970 in decimal, PostgreSQL's
// precision. Callers store t.Truncate(time.Microsecond), which is what PostgreSQL
// keeps of t.
func Time(t time.Time) pgtype.Text { return Int(t.UnixMicro()) }

// UUID is a nullable uuid field (NULL when s is empty) in PostgreSQL's text form (lower
// case, hyphenated), which is what the row should store too.
func UUID(s string) (pgtype.Text, error) {
	if s == "" {
		return pgtype.Text{}, nil
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return pgtype.Text{}, fmt.Errorf("auditchain: %q is not a uuid: %w", s, err)
	}
	return Str(u.String()), nil
}

// Head is a log's chain head: its last chained row, and its first. Before the chain
// began, every field is zero.
type Head struct {
	FirstID, LastID int64
	Hash            []byte
}

// Prev is the prev_hash of the next row appended: 32 zero bytes for the first.
func (h Head) Prev() []byte {
	if h.Hash == nil {
		return make([]byte, HashSize)
	}
	return h.Hash
}

// Next is the head after a row id with hash is appended.
func (h Head) Next(id int64, hash []byte) Head {
	first := h.FirstID
	if h.Hash == nil {
		first = id
	}
	return Head{FirstID: first, LastID: id, Hash: hash}
}

// inTx runs an append in the caller's transaction when q is one (the entry then commits
// or rolls back with the action it records), or in a transaction of its own (pg.InTx)
// when q is the pool: the head row's lock is held until the appending transaction
// ends either way.
func inTx(ctx context.Context, q pg.Querier, f func(pgx.Tx) error) error {
	switch q := q.(type) {
	case pgx.Tx:
		return f(q)
	case pg.Beginner:
		return pg.InTx(ctx, q, f)
	}
	return fmt.Errorf("auditchain: append through %T, which is neither a transaction nor a pool", q)
}
