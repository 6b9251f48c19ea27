package auditchain

import (
	"context"
	"runtime"
	"testing"

	"github.com/google/uuid"
)

// BenchmarkAppend appends rows to the test log from 64 concurrent callers through the
// pool: each row in a transaction of its own (what every append did before group
// commit), and through a Batcher inserting each batch with one INSERT … SELECT FROM
// unnest or with a pgx.Batch of single-row INSERTs. It reports rows/s and the
// transactions run per row.
//
//	go test -run '^$' -bench Append -benchtime 5s ./platform/auditchain/
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
	for _, c := range []struct {
		name   string
		append func(context.Context, testRow) error
		stats  func() BatchStats
	}{
		{"per-row", perRow, nil},
		{"batched-unnest", unnest.Append, unnest.Stats},
		{"batched-pgx-batch", batch.Append, batch.Stats},
	} {
		b.Run(c.name, func(b *testing.B) {
			var before BatchStats
			if c.stats != nil {
				before = c.stats()
			}
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
			b.ReportMetric(txs/float64(b.N), "tx/row")
		})
	}
	rep, err := testLog.Verify(context.Background(), db, key, testRows(context.Background()))
	if err != nil || !rep.OK() {
		b.Fatalf("after the benchmark: %s, %v", rep, err)
	}
}
