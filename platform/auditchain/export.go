package auditchain

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"healthcore/platform/pg"
)

// Entry is a row of a log as exported: its id, its time, and the columns the line
// carries.
type Entry struct {
	ID   int64
	At   time.Time
	Cols []Col
}

// Col is one column of an exported row: its field name in the line, and its value
// (left out when NULL).
type Col struct {
	Key string
	V   pgtype.Text
}

// Export writes the log's rows committed since the last export to log, one info line
// with message msg each, at most limit rows, and moves the export cursor past them in
// the transaction that read them; that transaction holds the cursor row (table
// Table+"_export", one row, last_id) FOR UPDATE, so two exports take turns. read
// returns the rows after the given id, in id order, at most limit. Export returns how
// many lines it wrote.
//
// Ids are committed in order (AppendRows draws them with the head locked), so once a row
// is visible every row before it has committed or rolled back for good, and a cursor
// on the id skips nothing. Delivery is at least once: lines written by a run whose
// transaction then fails are written again by the next run; each carries export_id
// ([Log.ExportID]) for the receiver to keep one copy.
//
// When log hides info lines Export writes nothing and leaves the cursor alone (it
// says so once, as a warning): moving it would lose the rows.
func (l Log) Export(ctx context.Context, db pg.Beginner, log *slog.Logger, msg string, limit int,
	read func(tx pgx.Tx, after int64, limit int) ([]Entry, error)) (int, error) {
	if !log.Enabled(ctx, slog.LevelInfo) {
		if _, said := exportPaused.LoadOrStore(l.Name, true); !said {
			log.WarnContext(ctx, "log export paused: the log level hides info lines", slog.String("log", l.Name))
		}
		return 0, nil
	}
	var n int
	err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
		after, err := l.lockCursor(ctx, tx)
		if err != nil {
			return err
		}
		entries, err := read(tx, after, limit)
		if err != nil {
			return fmt.Errorf("auditchain: export %s: %w", l.Name, err)
		}
		if len(entries) == 0 {
			return nil
		}
		for _, e := range entries {
			log.LogAttrs(ctx, slog.LevelInfo, msg, l.line(e)...)
		}
		n = len(entries)
		return l.moveCursor(ctx, tx, entries[n-1].ID)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// exportPaused holds the names of the logs whose export said it is paused.
var exportPaused sync.Map

// ExportID is the id a shipped row carries: the log's name and the row's id, unique
// across every log shipped to one place.
func (l Log) ExportID(id int64) string { return fmt.Sprintf("%s:%d", l.Name, id) }

// line is an exported row's fields: export_id, at (the row's time), then its columns
// in order, each left out when NULL.
func (l Log) line(e Entry) []slog.Attr {
	a := make([]slog.Attr, 0, 2+len(e.Cols))
	a = append(a, slog.String("export_id", l.ExportID(e.ID)), slog.Time("at", e.At))
	for _, c := range e.Cols {
		if c.V.Valid {
			a = append(a, slog.String(c.Key, c.V.String))
		}
	}
	return a
}
