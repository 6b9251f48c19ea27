package auditchain

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/platform/pg"
)

// BenchmarkAppend appends rows to the test log from 64 concurrent callers through the
// pool: each row in a transaction of its own (what every append did before group
// commit), and through a Batcher inserting each batch with one INSERT … SELECT FROM
// unnest, with a pgx.Batch of single-row INSERTs, or with COPY. Then each row in a
// caller's transaction of its own, as an action's entry is: appended to the chain in
// it (AppendRows, the head locked until it commits), or staged in the outbox
// (StageRows) and chained after the commit by the batcher (Flush). It reports rows/s,
// the transactions run per row (the callers' included), and the CPU time per row of the
// PostgreSQL backends serving the pool (from /proc, when the server runs on this
// machine): unlike rows/s, that does not depend on what else loads the machine.
//
//	go test -run '^$' -bench Append -benchtime 3s -count 3 ./platform/auditchain/
func BenchmarkAppend(b *testing.B) {
	url := testURL(b)
	key := logKey(b)
	// As many connections as a service's pool might lend its audited requests.
	db := testPool(b, url, 16)
	who := uuid.NewString()
	perRow := func(ctx context.Context, r testRow) error {
		return AppendRows(ctx, testLog, db, key, unnestWriter, r)
	}
	unnest := NewBatcher(testLog, db, key, unnestWriter, BatchOptions{})
	batch := NewBatcher(testLog, db, key, batchWriter, BatchOptions{})
	copying := NewBatcher(testLog, db, key, copyWriter, BatchOptions{})
	inTxAppend := func(ctx context.Context, r testRow) error {
		return pg.InTx(ctx, db, func(tx pgx.Tx) error { return AppendRows(ctx, testLog, tx, key, unnestWriter, r) })
	}
	outbox := NewBatcher(outboxLog, db, key, unnestWriter, BatchOptions{})
	inTxOutbox := func(ctx context.Context, r testRow) error {
		if err := pg.InTx(ctx, db, func(tx pgx.Tx) error { return StageRows(ctx, outboxLog, tx, unnestWriter, r) }); err != nil {
			return err
		}
		return outbox.Flush(ctx)
	}
	for _, c := range []struct {
		name   string
		append func(context.Context, testRow) error
		stats  func() BatchStats
		// callerTx: each row has a transaction of its caller's besides the batcher's.
		callerTx bool
	}{
		{"per-row", perRow, nil, false},
		{"batched-unnest", unnest.Append, unnest.Stats, false},
		{"batched-pgx-batch", batch.Append, batch.Stats, false},
		{"batched-copy", copying.Append, copying.Stats, false},
		{"in-tx-append", inTxAppend, nil, false},
		{"in-tx-outbox", inTxOutbox, outbox.Stats, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var before BatchStats
			if c.stats != nil {
				before = c.stats()
			}
			cpuBefore, cpuOK := backendCPU(b, db)
			b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := c.append(ctx, testRow{who: who, what: "read"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			txs := float64(b.N) // per-row: one transaction a row
			if c.stats != nil {
				after := c.stats()
				txs = float64(after.Transactions - before.Transactions)
			}
			if c.callerTx {
				txs += float64(b.N)
			}
			b.ReportMetric(txs/float64(b.N), "tx/row")
			if cpuAfter, ok := backendCPU(b, db); ok && cpuOK {
				var used time.Duration
				for pid, t := range cpuAfter {
					used += t - cpuBefore[pid]
				}
				b.ReportMetric(float64(used.Microseconds())/float64(b.N), "pg-cpu-µs/row")
			}
		})
	}
	rep, err := testLog.Verify(context.Background(), db, key, testRows(context.Background()))
	if err != nil || !rep.OK() {
		b.Fatalf("after the benchmark: %s, %v", rep, err)
	}
}

// backendCPU returns the CPU time (user and system) each PostgreSQL backend connected
// to db's database has used, by process id, read from /proc/<pid>/stat; false when a
// backend's cannot be read (the server runs elsewhere).
func backendCPU(b *testing.B, db *pgxpool.Pool) (map[int32]time.Duration, bool) {
	b.Helper()
	rows, err := db.Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	out := make(map[int32]time.Duration, len(pids))
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			return nil, false
		}
		// Fields after the command's closing parenthesis: utime and stime are the 12th
		// and 13th, in clock ticks (100 a second).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			return nil, false
		}
		utime, err1 := strconv.ParseInt(f[11], 10, 64)
		stime, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, false
		}
		out[pid] = time.Duration(utime+stime) * 10 * time.Millisecond
	}
	return out, true
}
