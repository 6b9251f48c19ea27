package pgtest

import (
	"context"
	"fmt"
	"testing"

	"healthcore/platform/pg"
)

// BenchmarkClone measures one clone of a migrated template plus its drop, with each
// CREATE DATABASE strategy; the package uses preferredStrategy.
func BenchmarkClone(b *testing.B) {
	ctx := context.Background()
	URL(b, alpha, beta) // build the template outside the timings
	adm, err := getAdmin(ctx, serverURL())
	if err != nil {
		b.Fatal(err)
	}
	tmpl, err := ensureTemplate(ctx, adm, []pg.Schema{alpha, beta})
	if err != nil {
		b.Fatal(err)
	}
	strategies := []string{"preferred", "WAL_LOG", "FILE_COPY"}
	if adm.strategy == "" {
		strategies = []string{"preferred"} // before PostgreSQL 15: no STRATEGY option
	}
	for _, s := range strategies {
		strategy := s
		if s == "preferred" {
			strategy = adm.strategy
		}
		b.Run(s, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				name := fmt.Sprintf("hc_test_bench_%s_%d", randomHex(4), i)
				if err := adm.clone(ctx, tmpl, name, strategy); err != nil {
					b.Fatal(err)
				}
				if err := adm.drop(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
