package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Two steps: the model reads the largest one without errors, adds the gateways up,
// leaves the load generator out, and sizes each Deployment and the database.
const results = `[
 {"users": 1000, "overall": {"requests": 2000, "perSecond": 33.4, "errors": 0},
  "processes": [{"name": "directory", "cpuMsPerRequest": 9}]},
 {"users": 2000, "overall": {"requests": 4000, "perSecond": 66.6, "errors": 0},
  "processes": [
   {"name": "load-1", "cpuMsPerRequest": 0.2},
   {"name": "gateway-1", "cpuMsPerRequest": 0.3}, {"name": "gateway-2", "cpuMsPerRequest": 0.3},
   {"name": "directory", "cpuMsPerRequest": 0.9}, {"name": "identity", "cpuMsPerRequest": 0.1},
   {"name": "postgres, this database", "cpuMsPerRequest": 1.0},
   {"name": "postgres", "cpuMsPerRequest": 1.5}, {"name": "total", "cpuMsPerRequest": 3.3}]},
 {"users": 4000, "overall": {"requests": 8000, "perSecond": 130, "errors": 3},
  "processes": [{"name": "directory", "cpuMsPerRequest": 50}]}
]`

func TestModel_SizesEachDeploymentFromTheLargestCleanStep(t *testing.T) {
	f := filepath.Join(t.TempDir(), "r.json")
	if err := os.WriteFile(f, []byte(results), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p := params{podCPU: 1, target: 0.5, minPods: 2, connsPerPod: 4, dbTarget: 0.5, cpuFactor: 1}
	if err := run(&b, f, "20000,200000", 0, p); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// 2,000 users made 66.6 requests/s: 200,000 make 6,660/s. Directory: 6,660 × 0.9 ms
	// = 5.99 vCPU → 12 pods at half of one vCPU; the gateways together 0.6 ms → 4.00
	// vCPU, 8 pods; identity 0.67 vCPU → 2 pods (the floor). PostgreSQL 1.5 ms → 9.99
	// vCPU, which at half use needs 20: db.r6g.8xlarge (32); at 20,000 users 0.999
	// fits db.r6g.large's 2 at half.
	for _, want := range []string{
		"From the 2000-user step: 0.0333 requests/s per user",
		"| directory | 0.60 | 2 | 5.99 | 12 |",
		"| gateway | 0.40 | 2 | 4.00 | 8 |",
		"| identity | 0.07 | 2 | 0.67 | 2 |",
		"| **requests/s** | 666 | | 6660 | |",
		"| **PostgreSQL** | 1.00 | db.r6g.large | 9.99 | db.r6g.8xlarge |",
		// identity and directory own schemas (4 connections a pod); the gateway none.
		"| **pool connections (RDS Proxy's clients)** | | 16 | | 56 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "load-1") || strings.Contains(out, "total") {
		t.Errorf("the load generator or the total was planned as a Deployment:\n%s", out)
	}
	// A step named explicitly is used even with errors; one that does not exist is refused.
	b.Reset()
	if err := run(&b, f, "4000", 4000, p); err != nil || !strings.Contains(b.String(), "From the 4000-user step") {
		t.Errorf("-step 4000: %v\n%s", err, b.String())
	}
	if err := run(&b, f, "4000", 3000, p); err == nil {
		t.Error("-step 3000 (no such step) was accepted")
	}
}
