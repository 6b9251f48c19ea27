package pg

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPoolCollectorReportsThePoolsState(t *testing.T) {
	db := openTestPool(t) // at most 4 connections
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewPoolCollector("public", db))
	ctx := context.Background()

	before := db.Stat().AcquireCount()
	a, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := func(name string, v float64) {
		t.Helper()
		got, err := testutil.GatherAndCount(reg, name)
		if err != nil || got != 1 {
			t.Fatalf("%s: %d series, %v; want 1", name, got, err)
		}
		if g := gaugeOf(t, reg, name); g != v {
			t.Errorf("%s = %v, want %v", name, g, v)
		}
	}
	want("healthcore_db_pool_acquired_connections", 2)
	want("healthcore_db_pool_max_connections", 4)
	want("healthcore_db_pool_total_connections", 2)
	want("healthcore_db_pool_idle_connections", 0)
	want("healthcore_db_pool_acquires_total", float64(before+2))
	a.Release()
	want("healthcore_db_pool_acquired_connections", 1)
	want("healthcore_db_pool_idle_connections", 1)
	b.Release()
	want("healthcore_db_pool_acquired_connections", 0)
	want("healthcore_db_pool_idle_connections", 2)
	s := db.Stat()
	want("healthcore_db_pool_empty_acquires_total", float64(s.EmptyAcquireCount()))
	if s.EmptyAcquireCount() < 1 {
		t.Errorf("the second acquire had to open a connection, yet EmptyAcquireCount = %d", s.EmptyAcquireCount())
	}
	want("healthcore_db_pool_empty_acquire_wait_seconds_total", s.EmptyAcquireWaitTime().Seconds())
	want("healthcore_db_pool_canceled_acquires_total", 0)

	// The schema label is the pool's.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP healthcore_db_pool_max_connections The most connections the pool may open.
# TYPE healthcore_db_pool_max_connections gauge
healthcore_db_pool_max_connections{schema="public"} 4
`), "healthcore_db_pool_max_connections"); err != nil {
		t.Error(err)
	}
}

// gaugeOf is the value of the one series named name in reg.
func gaugeOf(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if g := m.GetGauge(); g != nil {
			return g.GetValue()
		}
		return m.GetCounter().GetValue()
	}
	t.Fatalf("no series %s", name)
	return 0
}
