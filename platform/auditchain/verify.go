package auditchain

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/pg"
)

// Row is one row of a log as the verifier reads it, every row in id order.
type Row struct {
	ID int64
	// Prev and Hash are the stored prev_hash and row_hash: both nil for a row written
	// before the chain began.
	Prev, Hash []byte
	// Fields are the row's columns as [Key.Sum] takes them.
	Fields []pgtype.Text
}

// Problem is how a chain is broken.
type Problem int

const (
	// RowChanged: the row's fields or hashes are not what was written (or a row that
	// should carry a hash has none).
	RowChanged Problem = iota + 1
	// RowMissing: the row is intact but does not follow the row before it: rows were
	// removed before it.
	RowMissing
	// HeadMismatch: the chain head does not name the log's last row: rows were removed
	// from (or added past) the end.
	HeadMismatch
)

func (p Problem) String() string {
	switch p {
	case RowChanged:
		return "row changed"
	case RowMissing:
		return "row missing before it"
	case HeadMismatch:
		return "head does not match the last row"
	}
	return fmt.Sprintf("Problem(%d)", int(p))
}

// Break is the first broken link of a chain.
type Break struct {
	RowID   int64
	Problem Problem
	Detail  string
}

// Report is what [Verify] found.
type Report struct {
	Log string
	// Checked counts the chained rows whose hash and link were verified.
	Checked int64
	// Unchained counts the rows written before the chain began (they carry no hash).
	Unchained int64
	// Head is the chain head as stored: the last row's id and hash.
	Head Head
	// Break is the first broken link; nil when the chain is intact.
	Break *Break
}

// OK reports whether the chain is intact.
func (r Report) OK() bool { return r.Break == nil }

func (r Report) String() string {
	s := fmt.Sprintf("%s: %d rows checked, %d unchained (before the chain began); head row %d, hash %s",
		r.Log, r.Checked, r.Unchained, r.Head.LastID, hex.EncodeToString(r.Head.Hash))
	if r.Break == nil {
		return s + ": intact"
	}
	return fmt.Sprintf("%s: BROKEN at row %d: %s (%s)", s, r.Break.RowID, r.Break.Problem, r.Break.Detail)
}

// Verify walks rows (every row of the log, in id order, read in the same snapshot as
// head) and reports the first broken link. Rows up to the one the key's secret names
// as the last before the chain began are counted as unchained when they carry no
// hashes. key may be nil when the log has no chain secret yet: every row is then
// unchained, and a chained row is an error. It returns an error only when the rows
// cannot be read.
func Verify(key *Key, log string, head Head, rows iter.Seq2[Row, error]) (Report, error) {
	rep := Report{Log: log, Head: head}
	broken := func(id int64, p Problem, format string, args ...any) (Report, error) {
		rep.Break = &Break{RowID: id, Problem: p, Detail: fmt.Sprintf(format, args...)}
		return rep, nil
	}
	prev, last := Head{}.Prev(), int64(0)
	for row, err := range rows {
		if err != nil {
			return rep, err
		}
		if row.Prev == nil && row.Hash == nil {
			if key == nil || row.ID <= key.after {
				rep.Unchained++
				continue
			}
			return broken(row.ID, RowChanged, "it carries no hash, but the chain began after row %d", key.after)
		}
		if key == nil {
			return rep, errors.New("auditchain: " + log + " has chained rows but no chain secret")
		}
		if !hmac.Equal(key.Sum(log, row.Prev, row.Fields), row.Hash) {
			return broken(row.ID, RowChanged, "its hash does not match its fields and prev_hash")
		}
		if !bytes.Equal(row.Prev, prev) {
			if last == 0 {
				return broken(row.ID, RowMissing, "it is the first chained row present, but does not start the chain")
			}
			return broken(row.ID, RowMissing, "it does not follow row %d", last)
		}
		if row.ID > head.LastID {
			return broken(row.ID, HeadMismatch, "it comes after the head's last row %d", head.LastID)
		}
		prev, last = row.Hash, row.ID
		rep.Checked++
	}
	switch {
	case last != head.LastID && last == 0:
		return broken(head.LastID, HeadMismatch, "the head names row %d, but the log has no chained row", head.LastID)
	case last != head.LastID:
		return broken(head.LastID, HeadMismatch, "the head names row %d, but the last chained row is %d", head.LastID, last)
	case last != 0 && !bytes.Equal(prev, head.Hash):
		return broken(last, HeadMismatch, "the head's hash is not the last row's")
	}
	return rep, nil
}

// Rows runs sql (a store's query of every row of its log, in id order) and yields
// each row as scan reads it, stopping at the first error.
func Rows(ctx context.Context, q pg.Querier, sql string, scan func(pgx.Rows) (Row, error)) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		rows, err := q.Query(ctx, sql)
		if err != nil {
			yield(Row{}, err)
			return
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scan(rows)
			if !yield(r, err) || err != nil {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Row{}, err)
		}
	}
}
