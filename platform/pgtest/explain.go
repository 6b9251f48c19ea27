package pgtest

import (
	"context"
	"encoding/json"
	"testing"

	"healthcore/platform/pg"
)

// PlanNode is the part of a node of EXPLAIN (FORMAT JSON) output that plan tests read.
type PlanNode struct {
	NodeType    string     `json:"Node Type"`
	Relation    string     `json:"Relation Name"`
	Index       string     `json:"Index Name"`
	HeapFetches *int       `json:"Heap Fetches"` // index-only scans, with ANALYZE
	Plans       []PlanNode `json:"Plans"`
}

// Walk visits n and every node under it.
func (n PlanNode) Walk(visit func(PlanNode)) {
	visit(n)
	for _, c := range n.Plans {
		c.Walk(visit)
	}
}

// Explain returns the plan PostgreSQL chooses for sql with args (options are EXPLAIN's,
// FORMAT JSON added: "" or "ANALYZE, "), and the raw JSON to show when a test fails.
func Explain(t testing.TB, db pg.Querier, options, sql string, args ...any) (PlanNode, []byte) {
	t.Helper()
	var raw []byte
	if err := db.QueryRow(context.Background(), "EXPLAIN ("+options+"FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var out []struct {
		Plan PlanNode `json:"Plan"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		t.Fatalf("EXPLAIN output %s: %v", raw, err)
	}
	return out[0].Plan, raw
}
