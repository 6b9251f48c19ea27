package catalog

import (
	"flag"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"healthcore/platform/pgtest"
	"healthcore/services/directory"
	"healthcore/services/scheduling"
)

// Every pool a process opens shows on its registry, and the River queues of the
// schemas that hold jobs.
func TestProcess_PoolsAndJobQueuesAreOnTheRegistry(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg := NewConfig(fs, true)
	if err := cfg.Parse(fs, []string{"-data-dir=" + t.TempDir(), "-log-level=warn", "-db-max-conns=2"}); err != nil {
		t.Fatal(err)
	}
	p := NewProcess(cfg, pgtest.URL(t, scheduling.Schema, directory.Schema))
	t.Cleanup(p.Close)
	if _, err := p.pool(t.Context(), "scheduling", scheduling.Schema); err != nil {
		t.Fatal(err)
	}
	if _, err := p.pool(t.Context(), "directory", directory.Schema); err != nil {
		t.Fatal(err)
	}
	reg := p.Registry()
	if n, err := testutil.GatherAndCount(reg, "healthcore_db_pool_max_connections"); err != nil || n != 2 {
		t.Errorf("pool series: %d (%v), want one per pool (2)", n, err)
	}
	// directory holds no jobs: only scheduling's queue is read.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_river_up 1 when the scrape read the schema's jobs, 0 when the query failed (the other River series are then missing).
# TYPE healthcore_river_up gauge
healthcore_river_up{schema="scheduling"} 1
`), "healthcore_river_up"); err != nil {
		t.Error(err)
	}
}
