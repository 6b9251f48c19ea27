package testkit

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// LogBuffer collects log lines written from servers' goroutines, for tests that check
// what was (or was not) logged: give it to slog.NewTextHandler or logging.New.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write implements io.Writer.
func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// JSONLines returns the JSON lines written so far whose msg is msg, each decoded; a
// line that is not JSON fails the test.
func (b *LogBuffer) JSONLines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// CheckExportLines compares a log's exported lines with the rows they should show,
// keyed by export_id, field by field: each row exactly once, at as the same instant,
// and no field beyond the row's (and time, level, msg).
func CheckExportLines(t testing.TB, lines []map[string]any, want map[string]map[string]string) {
	t.Helper()
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d (one per row)", len(lines), len(want))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		id, _ := l["export_id"].(string)
		w, ok := want[id]
		if !ok || seen[id] {
			t.Fatalf("line %v: not a row, or a row twice", l)
		}
		seen[id] = true
		for k, v := range w {
			got, _ := l[k].(string)
			if k == "at" {
				gt, err1 := time.Parse(time.RFC3339Nano, got)
				wt, err2 := time.Parse(time.RFC3339Nano, v)
				if err1 != nil || err2 != nil || !gt.Equal(wt) {
					t.Errorf("%s: at = %q, want %s", id, got, v)
				}
				continue
			}
			if got != v {
				t.Errorf("%s: %s = %q, want %q", id, k, got, v)
			}
		}
		for k := range l {
			if _, ok := w[k]; !ok && k != "time" && k != "level" && k != "msg" {
				t.Errorf("%s: unexpected field %s = %v", id, k, l[k])
			}
		}
	}
}

// ExportedRows reads a log's rows as its exported lines should show them, keyed by
// export_id ("<name>:<id>"): sql selects id, at, then text columns that keys name, in
// order; a NULL column is left out, as the export leaves it out.
func ExportedRows(t testing.TB, db *pgxpool.Pool, name, sql string, keys ...string) map[string]map[string]string {
	t.Helper()
	rows, err := db.Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var id int64
		var at time.Time
		cols := make([]*string, len(keys))
		dest := []any{&id, &at}
		for i := range cols {
			dest = append(dest, &cols[i])
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		key := name + ":" + strconv.FormatInt(id, 10)
		m := map[string]string{"export_id": key, "at": at.Format(time.RFC3339Nano)}
		for i, v := range cols {
			if v != nil {
				m[keys[i]] = *v
			}
		}
		out[key] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
